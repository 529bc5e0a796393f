// Character sets of text parts and encoded-words, to UTF-8: UTF-8 (passed through, invalid
// sequences replaced by U+FFFD), US-ASCII, ISO-8859-1 (Latin-1) and windows-1252 (RFC 2046
// §4.1.2 charset parameter; names per the IANA registry and their common aliases). Also the
// ASCII helpers the content parser uses on protocol text (field names, parameters, schemes).
// Pure; never throws on input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mxgate::content {

enum class Charset : std::uint8_t { Utf8, Ascii, Latin1, Windows1252, Other };

// Case-insensitive; an empty name is US-ASCII (RFC 2045 §5.2's default), an unknown one Other.
Charset charset_from_name(std::string_view name);

// Appends `in`, written in `charset`, to `out` as UTF-8. Returns false when `in` held bytes the
// charset does not allow (invalid UTF-8, 8-bit bytes in US-ASCII); those come out as U+FFFD.
// Other is treated as US-ASCII with 8-bit bytes replaced (its text is not interpreted).
bool append_utf8(Charset charset, std::string_view in, std::string& out);

// True when `in` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view in);

inline bool has_8bit(std::string_view in) {
  for (const char c : in) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// `text` starts with `prefix` (given in lower case), ignoring ASCII case.
inline bool ascii_istarts_with(std::string_view text, std::string_view lower_prefix) {
  return text.size() >= lower_prefix.size() &&
         ascii_iequals(text.substr(0, lower_prefix.size()), lower_prefix);
}

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace mxgate::content
