// Reverse-path and forward-path grammar (RFC 5321 §4.1.2, §4.1.3, §4.5.3.1; RFC 6531 §3.3).
// See path.hpp. Every check here answers "is this what the RFC allows", nothing about policy.
#include "smtp/path.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace mxgate::smtp::detail {
namespace {

constexpr std::string_view kNoError{};

bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_utf8(unsigned char c) { return c >= 0x80; }

// atext (RFC 5322 §3.2.3) extended with UTF8-non-ascii (RFC 6531 §3.3).
bool is_atext(unsigned char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return is_alpha(c) || is_digit(c) || is_utf8(c) ||
         kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

// qtextSMTP (RFC 5321 §4.1.2) extended with UTF8-non-ascii (RFC 6531 §3.3).
bool is_qtext(unsigned char c) {
  return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) || is_utf8(c);
}

// Dot-string = Atom *("." Atom)
bool valid_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '.' ? s[i - 1] == '.' : !is_atext(c)) return false;
  }
  return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE at the front of `s`; returns its length or 0.
std::size_t quoted_string_length(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = %d92 %d32-126
      if (i + 1 >= s.size() || s[i + 1] < 32 || s[i + 1] > 126) return 0;
      ++i;
    } else if (!is_qtext(c)) {
      return 0;
    }
  }
  return 0;
}

// The '>' that closes the path opened at text[0], skipping quoted strings.
std::size_t find_path_end(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (quoted) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '"') {
        quoted = false;
      }
    } else if (text[i] == '"') {
      quoted = true;
    } else if (text[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT in 0..255 (RFC 5321 §4.1.3).
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && digits < 4) {
      value = value * 10 + (s[i++] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i++] != '.') return false;
  }
}

// IPv6-address-literal = "IPv6:" IPv6-addr (RFC 5321 §4.1.3; the forms of RFC 4291 §2.2).
bool valid_ipv6(std::string_view s) {
  std::array<char, 64> text{};
  if (s.empty() || s.size() >= text.size()) return false;
  std::memcpy(text.data(), s.data(), s.size());
  unsigned char address[16];
  return ::inet_pton(AF_INET6, text.data(), address) == 1;
}

// The mailbox after an optional source route: Local-part "@" ( Domain / address-literal ).
std::string_view parse_mailbox(std::string_view mailbox, Path& out) {
  std::size_t at = 0;
  if (!mailbox.empty() && mailbox.front() == '"') {
    at = quoted_string_length(mailbox);
    if (at == 0) return "invalid quoted local part";
    if (at >= mailbox.size() || mailbox[at] != '@') return "missing '@' after local part";
  } else {
    at = mailbox.find('@');
    if (at == std::string_view::npos) return "missing '@domain'";
    if (!valid_dot_string(mailbox.substr(0, at))) return "invalid local part";
  }
  const std::string_view local = mailbox.substr(0, at);
  const std::string_view domain = mailbox.substr(at + 1);
  if (local.size() > kMaxLocalPart) return "local part longer than 64 octets";
  if (!valid_utf8(local)) return "invalid UTF-8 in local part";
  if (!domain.empty() && domain.front() == '[') {
    if (!valid_address_literal(domain)) return "invalid address literal";
  } else if (!valid_domain(domain)) {
    return "invalid domain";
  }
  out.local_part.assign(local);
  out.domain.assign(domain);
  return kNoError;
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain (RFC 5321 §4.1.2).
bool valid_source_route(std::string_view route) {
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = route.find(',', start);
    const std::string_view hop = route.substr(start, comma - start);
    if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1))) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && !(is_alpha(x) && (x | 0x20) == (y | 0x20))) return false;
  }
  return true;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2),
// or a U-label (RFC 6531 §3.3). Labels at most 63 octets, the domain at most 255.
bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain || !valid_utf8(domain)) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabel) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char ch : label) {
      const auto c = static_cast<unsigned char>(ch);
      if (!is_alpha(c) && !is_digit(c) && c != '-' && !is_utf8(c)) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal ) "]" (RFC 5321 §4.1.3).
// General-address-literal tags are refused: nothing is registered that we could route.
bool valid_address_literal(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
  const std::string_view inner = literal.substr(1, literal.size() - 2);
  static constexpr std::string_view kIpv6Tag = "IPv6:";
  if (inner.size() > kIpv6Tag.size() && iequals(inner.substr(0, kIpv6Tag.size()), kIpv6Tag)) {
    return valid_ipv6(inner.substr(kIpv6Tag.size()));
  }
  return valid_ipv4(inner);
}

PathResult parse_path(std::string_view text, PathOptions options, Path& out) {
  if (text.empty() || text.front() != '<') return {0, "address must be in angle brackets"};
  const std::size_t end = find_path_end(text.substr(0, kMaxPath));
  if (end == std::string_view::npos) {
    return {0, text.size() >= kMaxPath ? "path longer than 256 octets" : "missing '>'"};
  }
  std::string_view inner = text.substr(1, end - 1);
  out = Path{};
  if (inner.empty()) {
    if (!options.allow_null) return {0, "null path not allowed here"};
    return {end + 1, {}};
  }
  if (inner.front() == '@') {
    const std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos || !valid_source_route(inner.substr(0, colon))) {
      return {0, "invalid source route"};
    }
    inner.remove_prefix(colon + 1);  // RFC 5321 §4.1.2: accepted, then ignored
  }
  if (options.allow_postmaster && iequals(inner, "postmaster")) {
    out.local_part.assign(inner);
    return {end + 1, {}};
  }
  const std::string_view error = parse_mailbox(inner, out);
  if (!error.empty()) return {0, error};
  return {end + 1, {}};
}

}  // namespace mxgate::smtp::detail
