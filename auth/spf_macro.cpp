#include "auth/spf_macro.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace mxgate::auth::spf {
namespace {

constexpr std::size_t kMaxDomainLength = 253;
// A transformer's count (RFC 7208 §7.1: *DIGIT) beyond any name's labels keeps them all; larger
// ones are read as this, so that a long run of digits cannot overflow.
constexpr unsigned kMaxKeep = 1000;

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

// macro-literal = %x21-24 / %x26-7E (visible characters but "%").
bool is_literal(char c) { return c >= 0x21 && c <= 0x7e && c != '%'; }

bool letter_allowed(char letter, MacroUse use) {
  switch (std::tolower(static_cast<unsigned char>(letter))) {
    case 's':
    case 'l':
    case 'o':
    case 'd':
    case 'i':
    case 'p':
    case 'h':
    case 'v':
      return true;
    case 'c':
    case 'r':
    case 't':
      return use == MacroUse::Explanation;
    default:
      return false;
  }
}

// One parsed "%{...}": the letter, how many right-hand parts to keep (0: all), reversal, and
// the delimiters to split on (default ".").
struct Expand {
  char letter = 0;
  unsigned keep = 0;
  bool reverse = false;
  std::string delimiters = ".";  // the default when none is given
};

// Parses the inside of "%{...}" (without the braces); nullopt when malformed.
std::optional<Expand> parse_expand(std::string_view body, MacroUse use) {
  if (body.empty() || !letter_allowed(body[0], use)) return std::nullopt;
  Expand e;
  e.letter = body[0];
  std::size_t i = 1;
  bool digits = false;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) {
    e.keep = std::min(kMaxKeep, e.keep * 10 + static_cast<unsigned>(body[i] - '0'));
    digits = true;
    ++i;
  }
  // "If a DIGIT is specified, the value MUST be nonzero" (§7.3).
  if (digits && e.keep == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'r' || body[i] == 'R')) {
    e.reverse = true;
    ++i;
  }
  const std::string_view delimiters = body.substr(i);
  if (!std::all_of(delimiters.begin(), delimiters.end(), is_delimiter)) return std::nullopt;
  if (!delimiters.empty()) e.delimiters.assign(delimiters.begin(), delimiters.end());
  return e;
}

// RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (ASCII only, whatever the
// locale says).
bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string url_escape(std::string_view value) {
  // Uppercase macro letters: the value is URL-encoded, unreserved characters kept (§7.3), the
  // others as "%" and two uppercase hex digits (RFC 3986 §2.1).
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string letter_value(char letter, const MacroContext& c) {
  // §5: an IPv4-mapped client is an IPv4 client, for "i", "c" and "v" too.
  const common::IpBytes ip = common::unmapped(c.ip);
  switch (std::tolower(static_cast<unsigned char>(letter))) {
    case 's':
      return c.sender;
    case 'l':
      return c.local_part;
    case 'o':
      return c.sender_domain;
    case 'd':
      return c.domain;
    case 'i':
      return dotted_ip(ip);
    case 'p':
      return c.validated_ptr;
    case 'v':
      return ip.family == 4 ? "in-addr" : "ip6";
    case 'h':
      return c.helo;
    case 'c':
      return common::ip_text(ip);
    case 'r':
      return c.receiver.empty() ? "unknown" : c.receiver;
    case 't':
      return std::to_string(c.now);
    default:
      return {};
  }
}

// Splits on any of the delimiters, reverses, keeps the right-most `keep` parts, joins with ".".
std::string transform(const std::string& value, const Expand& e) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || e.delimiters.find(value[i]) != std::string::npos) {
      parts.emplace_back(value.data() + start, i - start);
      start = i + 1;
    }
  }
  if (e.reverse) std::reverse(parts.begin(), parts.end());
  if (e.keep != 0 && e.keep < parts.size()) {
    parts.erase(parts.begin(), parts.end() - static_cast<std::ptrdiff_t>(e.keep));
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out.push_back('.');
    out.append(parts[i]);
  }
  return out;
}

// One piece of a macro-string (§7.1): a macro-literal, one of the escapes "%%", "%_" and "%-"
// (macro-expands with a fixed replacement) or a "%{...}" macro-expand; `end` is where it ends
// in the text.
struct Token {
  enum class Kind { Literal, Escape, Expand } kind = Kind::Literal;
  std::string_view replacement;  // Literal and Escape
  Expand expand;                 // Expand
  std::size_t end = 0;
};

// Walks `text`, calling on_token(Token) for each piece in order; false when malformed.
template <typename OnToken>
bool walk(std::string_view text, MacroUse use, OnToken on_token) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c != '%') {
      // Explanations are free text: spaces are allowed there (§6.2 "macro-string" in TXT).
      if (!is_literal(c) && !(use == MacroUse::Explanation && c == ' ')) return false;
      on_token(Token{Token::Kind::Literal, text.substr(i, 1), {}, i + 1});
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return false;
    const char next = text[i + 1];
    if (next == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) return false;
      auto e = parse_expand(text.substr(i + 2, close - i - 2), use);
      if (!e) return false;
      on_token(Token{Token::Kind::Expand, {}, std::move(*e), close + 1});
      i = close + 1;
      continue;
    }
    std::string_view replacement;
    if (next == '%') {
      replacement = "%";
    } else if (next == '_') {
      replacement = " ";
    } else if (next == '-') {
      replacement = "%20";
    } else {
      return false;
    }
    on_token(Token{Token::Kind::Escape, replacement, {}, i + 2});
    i += 2;
  }
  return true;
}

}  // namespace

std::string dotted_ip(const common::IpBytes& ip) {
  std::string out;
  if (ip.family == 4) {
    for (int i = 0; i < 4; ++i) {
      if (i != 0) out.push_back('.');
      out += std::to_string(ip.bytes[static_cast<std::size_t>(i)]);
    }
    return out;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i != 0) out.push_back('.');
    out.push_back(kHex[ip.bytes[i] >> 4]);
    out.push_back('.');
    out.push_back(kHex[ip.bytes[i] & 15]);
  }
  return out;
}

bool valid_macro_string(std::string_view text, MacroUse use) {
  return walk(text, use, [](const Token&) {});
}

std::optional<std::string_view> trailing_literal(std::string_view text, MacroUse use) {
  std::size_t start = 0;  // just after the last macro-expand
  const bool ok = walk(text, use, [&](const Token& token) {
    if (token.kind != Token::Kind::Literal) start = token.end;
  });
  if (!ok) return std::nullopt;
  return text.substr(start);
}

bool uses_ptr_macro(std::string_view text) {
  bool uses = false;
  walk(text, MacroUse::Explanation, [&](const Token& token) {
    uses = uses || (token.kind == Token::Kind::Expand &&
                    (token.expand.letter == 'p' || token.expand.letter == 'P'));
  });
  return uses;
}

std::optional<std::string> expand_macros(std::string_view text, const MacroContext& context,
                                         MacroUse use) {
  std::string out;
  const bool ok = walk(text, use, [&](const Token& token) {
    if (token.kind != Token::Kind::Expand) {
      out.append(token.replacement);
      return;
    }
    const Expand& e = token.expand;
    std::string value = transform(letter_value(e.letter, context), e);
    const bool escape = std::isupper(static_cast<unsigned char>(e.letter)) != 0;
    out += escape ? url_escape(value) : value;
  });
  if (!ok) return std::nullopt;
  if (use == MacroUse::DomainSpec) {
    // §7.3: drop leading labels until the name fits in 253 characters.
    while (out.size() > kMaxDomainLength) {
      const auto dot = out.find('.');
      if (dot == std::string::npos) break;
      out.erase(0, dot + 1);
    }
  }
  return out;
}

}  // namespace mxgate::auth::spf
