// The MIME header fields the parser acts on (RFC 2045 §5, RFC 2046 §5.1.1): Content-Type with
// its parameters (quoted strings, comments, case-insensitive names; RFC 2231 continuations are
// not joined), and the delimiter lines of a multipart body. Pure; never throws on input: a value
// that does not parse comes back empty, which RFC 2045 §5.2 reads as text/plain.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "content/charset.hpp"

namespace mxgate::content {

// RFC 2046 §5.1.1: 1 to 70 characters. Longer ones are accepted up to this bound (some senders
// exceed 70), beyond it the boundary is not usable.
inline constexpr std::size_t kMaxBoundary = 200;

struct ContentType {
  std::string type;      // lower case; "" when the field is absent or does not parse
  std::string subtype;   // lower case
  std::string boundary;  // as written; "" when absent or unusable
  Charset charset = Charset::Ascii;

  bool is(std::string_view t, std::string_view s) const { return type == t && subtype == s; }
  bool multipart() const { return type == "multipart"; }
  bool text_scanned() const { return type == "text" && (subtype == "plain" || subtype == "html"); }
  bool message() const { return is("message", "rfc822") || is("message", "global"); }
};

ContentType parse_content_type(std::string_view value);

enum class Delimiter { None, Open, Close };

// Whether `line` (without its line end) is "--" boundary or "--" boundary "--", with optional
// trailing white space (RFC 2046 §5.1.1's transport padding).
Delimiter match_delimiter(std::string_view line, std::string_view boundary);

}  // namespace mxgate::content
