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

// `text` as a comment (RFC 5322 §3.2.2) after a space: parentheses and backslashes escaped,
// CR and LF dropped, so that nothing in it (a PTR name is the client's to choose) ends the
// comment early or the field.
std::string comment(std::string_view text) {
  std::string out = " (";
  for (char c : text) {
    if (c == '\r' || c == '\n') continue;
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back(')');
  return out;
}

void reason(std::string& out, std::string_view text) {
  if (!text.empty()) out += " reason=" + quoted(text);
}

// `text` without comments, and with each quoted string's content kept as one unit: inside
// quotes the separators ";", "=", space and tab are preceded by kQuotedMark, so that splitting
// skips them, and unmark() takes the marks out of the values. An octet kQuotedMark of the text
// itself is marked too (it is then read as itself), and an empty quoted string leaves a marked
// '"' behind: a value of nothing, which no following word can be taken for.
constexpr char kQuotedMark = '\x01';

// Appends `c` to `out`, marked where splitting must skip it.
void keep(std::string& out, char c, bool in_quotes) {
  const bool separator = c == ';' || c == '=' || c == ' ' || c == '\t';
  if (c == kQuotedMark || (in_quotes && separator)) out.push_back(kQuotedMark);
  out.push_back(c);
}

std::string uncomment(std::string_view text) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  std::size_t content = 0;  // where the open quoted string's content starts in `out`
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (quoted || depth > 0)) {
      if (quoted) keep(out, text[i + 1], true);
      ++i;
    } else if (quoted) {
      if (c != '"') {
        keep(out, c, true);
      } else {
        quoted = false;
        if (out.size() == content) out += {kQuotedMark, '"'};
      }
    } else if (depth > 0) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    } else if (c == '(') {
      depth = 1;
    } else if (c == '"') {
      quoted = true;
      content = out.size();
    } else {
      keep(out, c == '\t' || c == '\r' || c == '\n' ? ' ' : c, false);
    }
  }
  return out;
}

// The marks taken out: a marked octet is itself, a marked '"' the empty string.
std::string unmark(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == kQuotedMark && i + 1 < text.size()) {
      ++i;
      if (text[i] == '"') continue;
    }
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

// Whether `word` ends with an "=" of its own, not one from inside quotes.
bool ends_with_equals(std::string_view word) {
  bool equals = false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    equals = word[i] == '=';
    if (word[i] == kQuotedMark) ++i;
  }
  return equals;
}

// "method[/version] = result [reason=...] [ptype.property=value ...]", comments removed.
std::optional<ReadResult> read_resinfo(std::string_view resinfo) {
  // CFWS may surround "=": join each "=" with its neighbours, then split on spaces. A quoted
  // value that ends in "=" (base64 padding) is complete: what follows is the next property.
  std::string joined;
  bool open = false;  // the text joined so far ends with an "=" that wants its value
  for (const auto word : split(resinfo, ' ')) {
    if (word.empty()) continue;
    const bool glue = !joined.empty() && (open || word.front() == '=');
    if (!joined.empty() && !glue) joined.push_back(' ');
    joined.append(word);
    open = ends_with_equals(word);
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
    // No trimming: read_resinfo skips the spaces between words, and a space at the end may be
    // the last octet of a quoted string (marked).
    if (auto result = read_resinfo(part)) out.push_back(std::move(*result));
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
    if (!r.dmarc->policy.empty()) p += comment(r.dmarc->policy);
    if (!r.dmarc->from_domain.empty()) p += " header.from=" + results_value(r.dmarc->from_domain);
    parts.push_back(std::move(p));
  }
  if (r.arc) {
    std::string p = "arc=" + r.arc->result;
    reason(p, r.arc->reason);
    if (!r.arc->comment.empty()) p += comment(r.arc->comment);
    if (r.arc->oldest_pass) p += " header.oldest-pass=" + std::to_string(*r.arc->oldest_pass);
    if (!r.arc->remote_ip.empty()) p += " smtp.remote-ip=" + results_value(r.arc->remote_ip);
    parts.push_back(std::move(p));
  }
  if (r.iprev) {
    std::string p = "iprev=" + r.iprev->result + " policy.iprev=" + results_value(r.iprev->ip);
    if (!r.iprev->name.empty()) p += comment(r.iprev->name);
    parts.push_back(std::move(p));
  }
  std::string out = r.authserv_id;
  for (const auto& part : parts) out += (fold ? ";\r\n\t" : "; ") + part;
  return out;
}

}  // namespace mxgate::auth
