#include "auth/results.hpp"

#include <algorithm>
#include <cctype>

namespace mxgate::auth {
namespace {

// RFC 2045 token characters: visible ASCII except tspecials and space.
bool token_char(char c) {
  constexpr std::string_view kSpecials = "()<>@,;:\\\"/[]?=";
  return c > 0x20 && c < 0x7f && kSpecials.find(c) == std::string_view::npos;
}

bool is_token(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), token_char);
}

std::string quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\r' || c == '\n') continue;
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void reason(std::string& out, std::string_view text) {
  if (!text.empty()) out += " reason=" + quoted(text);
}

// `text` without comments, and with each quoted string's content kept as one unit: the
// characters ";", "=" and white space inside quotes are replaced by their octet + 0x80 marker
// below, so that splitting on them is safe, and restored in the values.
constexpr char kQuotedMark = '\x01';

std::string uncomment(std::string_view text) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (quoted || depth > 0)) {
      if (quoted) out.push_back(text[i + 1]);
      ++i;
    } else if (quoted) {
      if (c == '"') {
        quoted = false;
      } else {
        // Inside quotes the separators mean nothing: mark them so that splitting skips them.
        out.push_back(c == ';' || c == '=' || c == ' ' || c == '\t' ? kQuotedMark : c);
        if (out.back() == kQuotedMark) out.push_back(c);
      }
    } else if (depth > 0) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    } else if (c == '(') {
      depth = 1;
    } else if (c == '"') {
      quoted = true;
    } else {
      out.push_back(c == '\t' || c == '\r' || c == '\n' ? ' ' : c);
    }
  }
  return out;
}

// The marked separators put back.
std::string unmark(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == kQuotedMark && i + 1 < text.size()) ++i;
    out.push_back(text[i]);
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits `text` at `separator`s (never a marked one).
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == kQuotedMark) {
      ++i;
      continue;
    }
    if (i == text.size() || text[i] == separator) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// "method[/version] = result [reason=...] [ptype.property=value ...]", comments removed.
std::optional<ReadResult> read_resinfo(std::string_view resinfo) {
  // CFWS may surround "=": join each "=" with its neighbours, then split on spaces.
  std::string joined;
  for (const auto word : split(resinfo, ' ')) {
    if (word.empty()) continue;
    const bool glue = !joined.empty() && (joined.back() == '=' || word.front() == '=');
    if (!joined.empty() && !glue) joined.push_back(' ');
    joined.append(word);
  }
  const auto words = split(joined, ' ');
  if (words.empty()) return std::nullopt;
  const auto equals = words[0].find('=');
  if (equals == std::string_view::npos) return std::nullopt;  // "none", or not a result
  ReadResult out;
  const std::string_view method = words[0].substr(0, equals);
  out.method = lower(method.substr(0, method.find('/')));
  out.result = lower(unmark(words[0].substr(equals + 1)));
  if (out.method.empty() || out.result.empty()) return std::nullopt;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto eq = words[i].find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.properties.emplace_back(lower(words[i].substr(0, eq)), unmark(words[i].substr(eq + 1)));
  }
  return out;
}

}  // namespace

const std::string* ReadResult::property(std::string_view name) const {
  for (const auto& [key, value] : properties) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::vector<ReadResult> read_results(std::string_view resinfos) {
  std::vector<ReadResult> out;
  const std::string clean = uncomment(resinfos);
  for (const auto part : split(clean, ';')) {
    if (out.size() >= kMaxReadResults) break;
    if (auto result = read_resinfo(trim(part))) out.push_back(std::move(*result));
  }
  return out;
}

std::string results_value(std::string_view value) {
  if (is_token(value)) return std::string(value);
  const auto at = value.rfind('@');
  if (at != std::string_view::npos && is_token(value.substr(at + 1)) &&
      (at == 0 || is_token(value.substr(0, at)))) {
    return std::string(value);  // [local-part] "@" domain-name (§2.2 pvalue)
  }
  return quoted(value);
}

std::string format_results(const AuthResults& r, bool fold) {
  std::vector<std::string> parts;
  if (r.spf) {
    std::string p = "spf=" + r.spf->result;
    reason(p, r.spf->reason);
    p += " " + r.spf->property + "=" + results_value(r.spf->value);
    parts.push_back(std::move(p));
  }
  if (r.dkim.empty()) parts.emplace_back("dkim=none");
  for (const auto& d : r.dkim) {
    std::string p = "dkim=" + d.result;
    reason(p, d.reason);
    if (!d.domain.empty()) p += " header.d=" + results_value(d.domain);
    if (!d.selector.empty()) p += " header.s=" + results_value(d.selector);
    if (!d.b.empty()) p += " header.b=" + results_value(d.b);
    parts.push_back(std::move(p));
  }
  if (r.dmarc) {
    std::string p = "dmarc=" + r.dmarc->result;
    reason(p, r.dmarc->reason);
    if (!r.dmarc->policy.empty()) p += " (" + r.dmarc->policy + ")";
    if (!r.dmarc->from_domain.empty()) p += " header.from=" + results_value(r.dmarc->from_domain);
    parts.push_back(std::move(p));
  }
  if (r.arc) {
    std::string p = "arc=" + r.arc->result;
    reason(p, r.arc->reason);
    if (!r.arc->comment.empty()) p += " (" + r.arc->comment + ")";
    if (r.arc->oldest_pass) p += " header.oldest-pass=" + std::to_string(*r.arc->oldest_pass);
    if (!r.arc->remote_ip.empty()) p += " smtp.remote-ip=" + results_value(r.arc->remote_ip);
    parts.push_back(std::move(p));
  }
  if (r.iprev) {
    std::string p = "iprev=" + r.iprev->result + " policy.iprev=" + results_value(r.iprev->ip);
    if (!r.iprev->name.empty()) p += " (" + r.iprev->name + ")";
    parts.push_back(std::move(p));
  }
  std::string out = r.authserv_id;
  for (const auto& part : parts) out += (fold ? ";\r\n\t" : "; ") + part;
  return out;
}

}  // namespace mxgate::auth
