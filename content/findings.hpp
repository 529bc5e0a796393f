// What the content parser finds wrong with a message's format (RFC 5322, RFC 2045-2049). Each
// finding has a stable snake_case name: it is also the name of the reputation signal that the
// format check raises for it (reputation/verdict.hpp), of its points in [checks.format.points],
// and what `mxgate content check` prints. Pure data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mxgate::content {

enum class Finding : std::uint8_t {
  DateMissing,            // no Date field (RFC 5322 §3.6: required)
  DateDuplicate,          // more than one Date field (§3.6: at most one)
  FromMissing,            // no From field (§3.6: required)
  FromDuplicate,          // more than one From field
  MessageIdMissing,       // no Message-ID (§3.6.4: SHOULD be present)
  HeaderNoColon,          // a header line that is neither a field nor a continuation
  HeaderBadName,          // a field name with characters outside %d33-57 / %d59-126 (§3.6.8)
  Header8bit,             // 8-bit bytes in the header without SMTPUTF8 (RFC 6532)
  MimeNoBoundary,         // a multipart Content-Type without a usable boundary parameter
  MimeUnterminated,       // a multipart whose closing delimiter never came (RFC 2046 §5.1.1)
  MimeBoundaryUnseen,     // a multipart in which the boundary never appeared at all
  MimeBadEncoding,        // an unknown or impossible Content-Transfer-Encoding (RFC 2045 §6)
  MimeBadBase64,          // base64 content that does not decode (RFC 2045 §6.8)
  MimeOverLimit,          // nesting, parts or header fields over [content]'s limits
};
inline constexpr std::size_t kFindingCount = 14;

std::string_view finding_name(Finding finding);         // "date_missing", ...
std::string_view finding_description(Finding finding);  // one sentence for docs and the portal
std::span<const Finding> all_findings();

// One finding of one message, with what was seen ("Content-Transfer-Encoding: x-foo in part
// 1.2"): for logs and `mxgate content check`, never sent to the client.
struct FindingDetail {
  Finding finding;
  std::string detail;
};

}  // namespace mxgate::content
