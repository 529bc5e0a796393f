#include "content/transfer_decoding.hpp"

#include <array>
#include <cstring>

#include "content/charset.hpp"

namespace mxgate::content {
namespace {

constexpr std::uint8_t kSpace = 64;  // skipped
constexpr std::uint8_t kPad = 65;    // '='
constexpr std::uint8_t kInvalid = 255;

constexpr std::array<std::uint8_t, 256> make_base64_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  for (const char c : {' ', '\t', '\r', '\n'}) t[static_cast<unsigned char>(c)] = kSpace;
  t['='] = kPad;
  return t;
}
constexpr auto kBase64 = make_base64_table();

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view trim_trailing_wsp(std::string_view s) {
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

TransferEncoding transfer_encoding_from_value(std::string_view value) {
  // A comment may follow the token ("base64 (yes)"); nothing else is expected there.
  value = trim_wsp(value.substr(0, value.find('(')));
  if (value.empty() || ascii_iequals(value, "7bit")) return TransferEncoding::SevenBit;
  if (ascii_iequals(value, "8bit")) return TransferEncoding::EightBit;
  if (ascii_iequals(value, "binary")) return TransferEncoding::Binary;
  if (ascii_iequals(value, "quoted-printable")) return TransferEncoding::QuotedPrintable;
  if (ascii_iequals(value, "base64")) return TransferEncoding::Base64;
  return TransferEncoding::Unknown;
}

void Base64Decoder::decode(std::string_view in, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + (in.size() / 4 + 1) * 3);
  char* w = out.data() + start;
  std::uint32_t bits = bits_;
  unsigned count = count_;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < n;) {
    // Whole quanta of four alphabet characters, the common case, without the per-byte state.
    if (count == 0 && !want_pad_ && i + 4 <= n) {
      const std::uint32_t a = kBase64[p[i]], b = kBase64[p[i + 1]], c = kBase64[p[i + 2]],
                          d = kBase64[p[i + 3]];
      if ((a | b | c | d) < 64) {
        const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        *w++ = static_cast<char>(v >> 16);
        *w++ = static_cast<char>(v >> 8);
        *w++ = static_cast<char>(v);
        i += 4;
        continue;
      }
    }
    const std::uint8_t v = kBase64[p[i++]];
    if (v < 64) {
      if (want_pad_) failed_ = true;
      bits = (bits << 6) | v;
      if (++count == 4) {
        *w++ = static_cast<char>(bits >> 16);
        *w++ = static_cast<char>(bits >> 8);
        *w++ = static_cast<char>(bits);
        bits = 0;
        count = 0;
      }
    } else if (v == kSpace) {
      continue;
    } else if (v == kPad) {
      if (want_pad_) {
        want_pad_ = false;  // "xx==" complete
      } else if (count == 2) {
        *w++ = static_cast<char>(bits >> 4);
        want_pad_ = true;
        bits = 0;
        count = 0;
      } else if (count == 3) {
        *w++ = static_cast<char>(bits >> 10);
        *w++ = static_cast<char>(bits >> 2);
        bits = 0;
        count = 0;
      } else {
        failed_ = true;  // '=' at the start of a quantum or after one sextet
      }
    } else {
      failed_ = true;
    }
  }
  bits_ = bits;
  count_ = static_cast<std::uint8_t>(count);
  out.resize(static_cast<std::size_t>(w - out.data()));
}

bool Base64Decoder::finish(std::string& out) {
  if (count_ == 1 || want_pad_) failed_ = true;
  if (count_ == 2) out.push_back(static_cast<char>(bits_ >> 4));
  if (count_ == 3) {
    out.push_back(static_cast<char>(bits_ >> 10));
    out.push_back(static_cast<char>(bits_ >> 2));
  }
  bits_ = 0;
  count_ = 0;
  want_pad_ = false;
  return !failed_;
}

bool decode_qp_line(std::string_view line, std::string& out) {
  line = trim_trailing_wsp(line);
  bool soft = false;
  if (!line.empty() && line.back() == '=') {
    soft = true;
    line.remove_suffix(1);
  }
  while (!line.empty()) {
    const void* eq = std::memchr(line.data(), '=', line.size());
    if (eq == nullptr) {
      out.append(line);
      break;
    }
    const auto at = static_cast<std::size_t>(static_cast<const char*>(eq) - line.data());
    out.append(line.data(), at);
    line.remove_prefix(at);
    const int hi = line.size() >= 3 ? hex_value(line[1]) : -1;
    const int lo = line.size() >= 3 ? hex_value(line[2]) : -1;
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      line.remove_prefix(3);
    } else {
      out.push_back('=');
      line.remove_prefix(1);
    }
  }
  return soft;
}

}  // namespace mxgate::content
