// Complaint feedback (RFC 5965, the Abuse Reporting Format): a mailbox provider's report that
// a recipient marked a message as spam. The report is a multipart/report message with
// report-type=feedback-report; its message/feedback-report part has header-like fields:
// Feedback-Type (required), User-Agent, Version, and the optional Source-IP (the sending IP),
// Original-Mail-From and Reported-Domain (repeatable) that mxgate counts against the sender.
// Pure; never throws on input: a report that is not one comes back with `error` set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::storage {
class ReputationStore;
}

namespace mxgate::postmaster {

inline constexpr std::size_t kMaxArfBytes = 1 << 20;

struct FeedbackReport {
  std::string feedback_type;         // "abuse", "fraud", ... (RFC 5965 §7.3)
  std::string source_ip;             // "" when absent
  std::string original_mail_from;    // without angle brackets, "" when absent
  std::vector<std::string> domains;  // Reported-Domain values and the Original-Mail-From domain,
                                     // lower case, each once
};

std::optional<FeedbackReport> parse_arf(std::string_view message, std::string& error);

// Counts one complaint against the report's Source-IP and domains (queued for the store's next
// flush). Returns what was counted ("ip=192.0.2.7 domains=example.org"), or nullopt with
// `error` when the report names neither a valid IP nor a domain.
std::optional<std::string> count_complaint(storage::ReputationStore& store,
                                           const FeedbackReport& report, std::int64_t now,
                                           std::string& error);

}  // namespace mxgate::postmaster
