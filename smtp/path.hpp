// Internal: the grammar of reverse-paths and forward-paths (RFC 5321 §4.1.2, §4.1.3, §4.5.3.1;
// RFC 6531 §3.3 for UTF-8 in local parts and domains). Used by command.cpp; not part of the
// public smtp API. Pure and total: a malformed path yields a reason for the 501 reply.
#pragma once

#include <cstddef>
#include <string_view>

#include "smtp/command.hpp"

namespace mxgate::smtp::detail {

inline constexpr std::size_t kMaxLocalPart = 64;  // RFC 5321 §4.5.3.1.1
inline constexpr std::size_t kMaxDomain = 255;    // RFC 5321 §4.5.3.1.2
inline constexpr std::size_t kMaxPath = 256;      // RFC 5321 §4.5.3.1.3, with "<" and ">"
inline constexpr std::size_t kMaxLabel = 63;      // RFC 1035 §2.3.4

struct PathOptions {
  bool allow_null = false;        // "<>" (MAIL FROM only, §4.5.5)
  bool allow_postmaster = false;  // "<Postmaster>" without a domain (RCPT TO only, §4.5.1)
};

struct PathResult {
  std::size_t used = 0;    // octets of the input, "<" through ">"; 0 on error
  std::string_view error;  // why the path was refused (static text)
};

// Parses the path at the front of `text`, which must start with "<". Source routes are checked
// and dropped (§4.1.2, §C).
PathResult parse_path(std::string_view text, PathOptions options, Path& out);

bool valid_domain(std::string_view domain);            // labels of letters, digits, hyphens, UTF-8
bool valid_address_literal(std::string_view literal);  // "[192.0.2.1]", "[IPv6:2001:db8::1]"
bool valid_utf8(std::string_view text);                // well-formed UTF-8 (RFC 3629 §4)
bool iequals(std::string_view a, std::string_view b);  // ASCII case-insensitive

}  // namespace mxgate::smtp::detail
