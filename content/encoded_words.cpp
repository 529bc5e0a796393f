// decode_header_value (message_parser.hpp): RFC 2047 encoded-words of a header value for
// display. "B" and "Q" encodings (§4), charsets UTF-8, US-ASCII, ISO-8859-1 and windows-1252
// (an RFC 2231 language suffix, "utf-8*en", is ignored); an encoded-word in another charset, or
// one that does not decode, stays as written. White space between adjacent encoded-words is
// dropped (§6.2). Pure; never throws on input.
#include <optional>
#include <string>
#include <string_view>

#include "content/charset.hpp"
#include "content/message_parser.hpp"
#include "content/transfer_decoding.hpp"

namespace mxgate::content {
namespace {

struct EncodedWord {
  std::size_t length = 0;  // of the "=?...?=" text
  std::string decoded;     // in UTF-8
};

// RFC 2047 §4.2: "_" is a space, "=XX" an octet; unlike quoted-printable bodies, trailing
// white space and a final '=' mean nothing special.
std::string decode_q(std::string_view text) {
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The encoded-word starting at `text` ("=?charset?X?data?="), when it is one we can decode.
std::optional<EncodedWord> encoded_word(std::string_view text) {
  // RFC 2047 §2 allows 75 characters; longer ones are common enough to accept, but the search
  // for the end stays bounded, so that a value full of "=?" costs linear time.
  constexpr std::size_t kMaxEncodedWord = 1024;
  text = text.substr(0, kMaxEncodedWord);
  const std::size_t charset_end = text.find('?', 2);
  if (charset_end == std::string_view::npos || charset_end + 3 > text.size() ||
      text[charset_end + 2] != '?') {
    return std::nullopt;
  }
  const char encoding = ascii_lower(text[charset_end + 1]);
  const std::size_t data_start = charset_end + 3;
  const std::size_t end = text.find("?=", data_start);
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view data = text.substr(data_start, end - data_start);
  if (data.find_first_of(" \t\r\n") != std::string_view::npos) return std::nullopt;
  std::string_view charset_name = text.substr(2, charset_end - 2);
  charset_name = charset_name.substr(0, charset_name.find('*'));
  const Charset charset = charset_from_name(charset_name);
  if (charset == Charset::Other || charset_name.empty()) return std::nullopt;

  std::string raw;
  if (encoding == 'b') {
    Base64Decoder decoder;
    decoder.decode(data, raw);
    if (!decoder.finish(raw)) return std::nullopt;
  } else if (encoding == 'q') {
    raw = decode_q(data);
  } else {
    return std::nullopt;
  }
  EncodedWord word{.length = end + 2};
  append_utf8(charset, raw, word.decoded);
  return word;
}

}  // namespace

std::string decode_header_value(std::string_view value) {
  std::string out;
  bool after_word = false;   // only white space since the last encoded-word
  std::size_t word_end = 0;  // out's size right after that encoded-word
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      if (auto word = encoded_word(value.substr(i))) {
        if (after_word) out.resize(word_end);
        out += word->decoded;
        after_word = true;
        word_end = out.size();
        i += word->length;
        continue;
      }
    }
    const char c = value[i++];
    if (!is_wsp(c) && c != '\r' && c != '\n') after_word = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace mxgate::content
