// gzip (RFC 1952) of a whole buffer in memory, through zlib: DMARC aggregate reports are sent
// gzipped (RFC 7489 §7.2.1.1). Pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::common {

// The gzip file of `data` (best compression: reports are small and sent once).
std::string gzip(std::string_view data);

// The data of a gzip file, or nullopt when it is not one or inflates past `max_bytes`.
std::optional<std::string> gunzip(std::string_view file, std::size_t max_bytes);

}  // namespace mxgate::common
