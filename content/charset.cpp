#include "content/charset.hpp"

#include <array>

namespace mxgate::content {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// windows-1252's 0x80-0x9F (WHATWG encoding standard's index); the five holes map to the C1
// control of the same number, as WHATWG decoders do.
constexpr std::array<char16_t, 32> kWindows1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_code_point(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the well-formed UTF-8 sequence at in[i], or 0 (RFC 3629 §4's table).
std::size_t utf8_sequence(std::string_view in, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(in[i + k]); };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > in.size()) return 0;
  if (at(1) < lo || at(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (at(k) < 0x80 || at(k) > 0xBF) return 0;
  }
  return len;
}

bool append_utf8_checked(std::string_view in, std::string& out) {
  bool ok = true;
  std::size_t i = 0;
  while (i < in.size()) {
    const std::size_t len = utf8_sequence(in, i);
    if (len == 0) {
      out += kReplacement;
      ok = false;
      ++i;
    } else {
      out.append(in.data() + i, len);
      i += len;
    }
  }
  return ok;
}

}  // namespace

Charset charset_from_name(std::string_view name) {
  if (name.empty()) return Charset::Ascii;
  struct Alias {
    std::string_view name;
    Charset charset;
  };
  static constexpr std::array<Alias, 12> kAliases{{
      {"utf-8", Charset::Utf8},
      {"utf8", Charset::Utf8},
      {"us-ascii", Charset::Ascii},
      {"ascii", Charset::Ascii},
      {"ansi_x3.4-1968", Charset::Ascii},
      {"iso-8859-1", Charset::Latin1},
      {"iso8859-1", Charset::Latin1},
      {"iso_8859-1", Charset::Latin1},
      {"latin1", Charset::Latin1},
      {"l1", Charset::Latin1},
      {"windows-1252", Charset::Windows1252},
      {"cp1252", Charset::Windows1252},
  }};
  for (const Alias& alias : kAliases) {
    if (ascii_iequals(name, alias.name)) return alias.charset;
  }
  return Charset::Other;
}

bool valid_utf8(std::string_view in) {
  for (std::size_t i = 0; i < in.size();) {
    const std::size_t len = utf8_sequence(in, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool append_utf8(Charset charset, std::string_view in, std::string& out) {
  if (charset == Charset::Utf8) return append_utf8_checked(in, out);
  bool ok = true;
  for (const char c : in) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else if (charset == Charset::Latin1) {
      append_code_point(b, out);
    } else if (charset == Charset::Windows1252) {
      append_code_point(b < 0xA0 ? kWindows1252High[b - 0x80] : char32_t{b}, out);
    } else {
      out += kReplacement;
      ok = false;
    }
  }
  return ok;
}

}  // namespace mxgate::content
