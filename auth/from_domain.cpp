#include "auth/from_domain.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace mxgate::auth {
namespace {

FromDomain problem(std::string text) { return FromDomain{std::nullopt, std::move(text)}; }

// The value without comments (nested, §3.2.2) and with folding removed; quoted strings and
// domain literals kept as they are. nullopt when a quote, comment or literal is not closed.
std::optional<std::string> without_comments(std::string_view value) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') continue;  // unfold
    if (c == '\\' && (quoted || depth > 0)) {  // quoted-pair
      if (++i >= value.size()) return std::nullopt;
      if (depth == 0) {
        out.push_back(c);
        out.push_back(value[i]);
      }
      continue;
    }
    if (depth > 0) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (depth == 0) out.push_back(' ');
      continue;
    }
    if (quoted) {
      out.push_back(c);
      quoted = c != '"';
      continue;
    }
    if (c == '(') {
      depth = 1;
      continue;
    }
    if (c == '"') quoted = true;
    out.push_back(c);
  }
  if (depth != 0 || quoted) return std::nullopt;
  return out;
}

// Splits at commas outside quoted strings and angle brackets (a mailbox-list).
std::vector<std::string_view> split_mailboxes(std::string_view list) {
  std::vector<std::string_view> out;
  bool quoted = false;
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '<') ++angle;
    else if (c == '>') angle = std::max(0, angle - 1);
    else if (c == ',' && angle == 0) {
      out.push_back(list.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(list.substr(start));
  return out;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool valid_domain_name(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.') return false;
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;  // no empty last label: "example.org.." keeps a dot after the one dropped
}

}  // namespace

FromDomain from_domain_of_value(std::string_view value) {
  const auto clean = without_comments(value);
  if (!clean) return problem("From is not well formed (an unclosed quote or comment)");
  std::vector<std::string_view> mailboxes;
  for (auto mailbox : split_mailboxes(*clean)) {
    if (!trim(mailbox).empty()) mailboxes.push_back(trim(mailbox));
  }
  if (mailboxes.empty()) return problem("From holds no address");
  if (mailboxes.size() > 1) return problem("From holds several addresses");
  std::string_view address = mailboxes.front();
  if (const auto open = address.rfind('<'); open != std::string_view::npos) {
    const auto close = address.find('>', open);
    if (close == std::string_view::npos) return problem("From has an unclosed <");
    address = trim(address.substr(open + 1, close - open - 1));
    // An obsolete route ("@a,@b:user@domain", RFC 5322 §4.4) precedes the address.
    if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
      address = address.substr(colon + 1);
    }
  } else if (address.find(':') != std::string_view::npos) {
    return problem("From holds a group, not a mailbox");
  }
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return problem("the From address has no domain");
  std::string domain(trim(address.substr(at + 1)));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!valid_domain_name(domain)) return problem("the From domain is not a domain name");
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return FromDomain{std::move(domain), {}};
}

FromDomain from_domain(std::span<const std::string_view> fields) {
  std::optional<std::string_view> from;
  for (std::string_view field : fields) {
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    const bool is_from = name.size() == 4 && std::equal(name.begin(), name.end(), "from",
                                                         [](char a, char b) {
                                                           return std::tolower(static_cast<
                                                                      unsigned char>(a)) == b;
                                                         });
    if (!is_from) continue;
    if (from) return problem("several From fields");
    from = field.substr(colon + 1);
  }
  if (!from) return problem("no From field");
  return from_domain_of_value(*from);
}

}  // namespace mxgate::auth
