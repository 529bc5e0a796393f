// Content-Transfer-Encoding (RFC 2045 §6): the encodings' names, a streaming base64 decoder
// (§6.8) and the quoted-printable decoding of one encoded line (§6.7). The decoders never
// buffer a part: base64 keeps at most one unfinished quantum between calls, quoted-printable
// works on the line it is given. Pure; never throws on input: bad base64 is a flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mxgate::content {

enum class TransferEncoding : std::uint8_t {
  SevenBit,
  EightBit,
  Binary,
  QuotedPrintable,
  Base64,
  Unknown,  // anything else (x-uuencode, typos): not decoded
};

// The field's value (case-insensitive, white space and comments around it ignored); an empty
// value is 7bit (RFC 2045 §6.1's default).
TransferEncoding transfer_encoding_from_value(std::string_view value);

// Base64 as it streams: white space (and line ends) anywhere are skipped; concatenated padded
// runs ("QQ==QQ==") are accepted, as common decoders do. It fails on a character outside the
// alphabet, a '=' where no padding can be, or a single leftover character at the end.
class Base64Decoder {
 public:
  // Appends the bytes decoded from `in` to `out`.
  void decode(std::string_view in, std::string& out);
  // After the last piece: appends what an unpadded final quantum holds; false when the content
  // did not decode (now or earlier).
  bool finish(std::string& out);
  bool failed() const { return failed_; }

 private:
  std::uint32_t bits_ = 0;  // the quantum's sextets so far
  std::uint8_t count_ = 0;  // sextets in the quantum (0-3)
  bool want_pad_ = false;   // "xx=" seen: a second '=' must follow
  bool failed_ = false;
};

// Decodes one quoted-printable line given without its line end, appending to `out`: "=XX"
// becomes the octet (lower-case hex accepted), trailing white space is dropped (transport
// padding, §6.7 rule 3), a '=' not followed by two hex digits stays as written. Returns true
// when the line ends in a soft line break ('=' last): the decoded text goes on with the next line.
bool decode_qp_line(std::string_view line, std::string& out);

}  // namespace mxgate::content
