#include "content/findings.hpp"

#include <array>

namespace mxgate::content {
namespace {

struct FindingInfo {
  Finding finding;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<FindingInfo, kFindingCount> kFindings{{
    {Finding::DateMissing, "date_missing", "The message has no Date header field."},
    {Finding::DateDuplicate, "date_duplicate", "The message has more than one Date field."},
    {Finding::FromMissing, "from_missing", "The message has no From header field."},
    {Finding::FromDuplicate, "from_duplicate", "The message has more than one From field."},
    {Finding::MessageIdMissing, "message_id_missing", "The message has no Message-ID field."},
    {Finding::HeaderNoColon, "header_no_colon",
     "A header line is neither a field (name and colon) nor a continuation."},
    {Finding::HeaderBadName, "header_bad_name",
     "A header field name contains characters that RFC 5322 does not allow."},
    {Finding::Header8bit, "header_8bit",
     "The header contains 8-bit bytes but the message was not sent with SMTPUTF8."},
    {Finding::MimeNoBoundary, "mime_no_boundary",
     "A multipart part declares no usable boundary parameter."},
    {Finding::MimeUnterminated, "mime_unterminated",
     "A multipart part never reaches its closing boundary."},
    {Finding::MimeBoundaryUnseen, "mime_boundary_unseen",
     "A multipart part's boundary never appears in its body."},
    {Finding::MimeBadEncoding, "mime_bad_encoding",
     "A part declares an unknown or impossible Content-Transfer-Encoding."},
    {Finding::MimeBadBase64, "mime_bad_base64", "A base64-encoded part does not decode."},
    {Finding::MimeOverLimit, "mime_over_limit",
     "The message nests parts too deeply, or has too many parts or header fields."},
}};

constexpr std::array<Finding, kFindingCount> make_all() {
  std::array<Finding, kFindingCount> out{};
  for (std::size_t i = 0; i < kFindings.size(); ++i) out[i] = kFindings[i].finding;
  return out;
}
constexpr auto kAll = make_all();

constexpr bool table_is_indexed() {
  for (std::size_t i = 0; i < kFindings.size(); ++i) {
    if (static_cast<std::size_t>(kFindings[i].finding) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed(), "kFindings must be ordered by numeric value");

}  // namespace

std::string_view finding_name(Finding finding) {
  return kFindings[static_cast<std::size_t>(finding)].name;
}

std::string_view finding_description(Finding finding) {
  return kFindings[static_cast<std::size_t>(finding)].description;
}

std::span<const Finding> all_findings() { return kAll; }

}  // namespace mxgate::content
