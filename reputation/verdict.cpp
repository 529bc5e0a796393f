#include "reputation/verdict.hpp"

#include <array>
#include <utility>

namespace mxgate::reputation {
namespace {

struct SignalInfo {
  Signal signal;
  std::string_view name;
  std::string_view description;
};

// Index == numeric value; the static_asserts below keep it that way.
constexpr std::array<SignalInfo, kSignalCount> kSignals{{
    {Signal::None, "none", "No signal."},
    {Signal::ManualBlock, "manual_block", "An operator blocked this sender."},
    {Signal::ManualAllow, "manual_allow",
     "An operator allowed this sender; scores cannot refuse it."},
    {Signal::ReputationPoor, "reputation_poor", "The sender's decayed reputation score is poor."},
    {Signal::RejectRatio, "reject_ratio", "Too much of the sender's recent mail was refused."},
    {Signal::ComplaintRate, "complaint_rate",
     "Recipients complained about more than 0.3% of the sender's delivered mail."},
    {Signal::InvalidRecipients, "invalid_recipients",
     "Too many of the sender's recent recipients do not exist (list hygiene)."},
    {Signal::FirstSeenRecently, "first_seen_recently", "The sender was first seen recently."},
    {Signal::CheckError, "check_error", "A check failed; the mail was deferred to be safe."},
    {Signal::Timeout, "timeout", "A check did not finish in time."},
    {Signal::DnsblListed, "dnsbl_listed", "The sender's IP address is on a DNS blocklist."},
    {Signal::DnsblAllowlisted, "dnsbl_allowlisted",
     "The sender's IP address is on a DNS allowlist."},
    {Signal::RdnsMissing, "rdns_missing", "The sender's IP address has no reverse DNS (PTR) name."},
    {Signal::RdnsMismatch, "rdns_mismatch",
     "The reverse DNS name does not resolve back to the sender's IP address."},
    {Signal::RdnsGeneric, "rdns_generic",
     "The reverse DNS name looks generic (dynamic or residential)."},
    {Signal::HeloInvalid, "helo_invalid", "The HELO/EHLO name is not a valid host name."},
    {Signal::HeloMismatch, "helo_mismatch", "The HELO/EHLO name does not match the sender."},
    {Signal::SenderDomainInvalid, "sender_domain_invalid",
     "The envelope sender's domain does not exist or cannot receive mail."},
    {Signal::SenderDomainNullMx, "sender_domain_null_mx",
     "The envelope sender's domain publishes a null MX (RFC 7505)."},
    {Signal::SpfFail, "spf_fail", "SPF failed: the IP address may not send for the domain."},
    {Signal::SpfSoftfail, "spf_softfail", "SPF soft-failed for the sender's domain."},
    {Signal::DkimFail, "dkim_fail", "The message's DKIM signatures did not verify."},
    {Signal::DmarcFail, "dmarc_fail", "The message failed the domain's DMARC policy."},
    {Signal::RateLimited, "rate_limited", "The sender exceeded a rate limit."},
    {Signal::NewIpRamp, "new_ip_ramp", "A new sender exceeded its warm-up (ramp) volume."},
    {Signal::Anomaly, "anomaly", "The sender's traffic pattern changed abnormally."},
    {Signal::Pregreet, "pregreet", "The client talked before the greeting banner."},
    {Signal::Unauthenticated, "unauthenticated",
     "Neither SPF nor any DKIM signature authenticated the message."},
    {Signal::DkimUnsignedContent, "dkim_unsigned_content",
     "A DKIM signature covers only part of the body (l=); the rest is unsigned."},
    {Signal::DateMissing, "date_missing", "The message has no Date header field."},
    {Signal::DateDuplicate, "date_duplicate", "The message has more than one Date field."},
    {Signal::FromMissing, "from_missing", "The message has no From header field."},
    {Signal::FromDuplicate, "from_duplicate", "The message has more than one From field."},
    {Signal::MessageIdMissing, "message_id_missing", "The message has no Message-ID field."},
    {Signal::HeaderNoColon, "header_no_colon",
     "A header line is neither a field (name and colon) nor a continuation."},
    {Signal::HeaderBadName, "header_bad_name",
     "A header field name contains characters that RFC 5322 does not allow."},
    {Signal::Header8bit, "header_8bit",
     "The header contains 8-bit bytes but the message was not sent with SMTPUTF8."},
    {Signal::MimeNoBoundary, "mime_no_boundary",
     "A multipart part declares no usable boundary parameter."},
    {Signal::MimeUnterminated, "mime_unterminated",
     "A multipart part never reaches its closing boundary."},
    {Signal::MimeBoundaryUnseen, "mime_boundary_unseen",
     "A multipart part's boundary never appears in its body."},
    {Signal::MimeBadEncoding, "mime_bad_encoding",
     "A part declares an unknown or impossible Content-Transfer-Encoding."},
    {Signal::MimeBadBase64, "mime_bad_base64", "A base64-encoded part does not decode."},
    {Signal::MimeOverLimit, "mime_over_limit",
     "The message nests parts too deeply, or has too many parts or header fields."},
    {Signal::UriListed, "uri_listed",
     "The message links to a domain that is listed as compromised or malicious."},
    {Signal::UriDnsblListed, "uri_dnsbl_listed",
     "The message links to a domain or address on a URI blocklist."},
    {Signal::BulkNoOneClick, "bulk_no_one_click",
     "Bulk mail without a DKIM-signed one-click unsubscribe (RFC 8058)."},
    {Signal::MilterReject, "milter_reject", "A content filter (milter) refused the message."},
    {Signal::MilterTempfail, "milter_tempfail",
     "A content filter (milter) asked to try again later, or could not judge the message."},
}};

constexpr bool table_is_indexed() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    if (static_cast<std::size_t>(kSignals[i].signal) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed(), "kSignals must be ordered by numeric value");
static_assert(static_cast<std::size_t>(Signal::MilterTempfail) + 1 == kSignalCount);

constexpr std::array<Signal, kSignalCount> make_all() {
  std::array<Signal, kSignalCount> out{};
  for (std::size_t i = 0; i < kSignals.size(); ++i) out[i] = kSignals[i].signal;
  return out;
}
constexpr std::array<Signal, kSignalCount> kAllSignals = make_all();

const SignalInfo& info(Signal signal) {
  const auto i = static_cast<std::size_t>(signal);
  return i < kSignals.size() ? kSignals[i] : kSignals[0];
}

}  // namespace

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Connect:
      return "connect";
    case Stage::Helo:
      return "helo";
    case Stage::Mail:
      return "mail";
    case Stage::Rcpt:
      return "rcpt";
    case Stage::EndOfData:
      return "end_of_data";
  }
  return "unknown";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::Continue:
      return "continue";
    case Action::Accept:
      return "accept";
    case Action::Defer:
      return "defer";
    case Action::Reject:
      return "reject";
    case Action::Drop:
      return "drop";
    case Action::Quarantine:
      return "quarantine";
  }
  return "unknown";
}

std::string_view signal_name(Signal signal) { return info(signal).name; }

std::string_view signal_description(Signal signal) { return info(signal).description; }

std::optional<Signal> parse_signal(std::string_view name) {
  for (const auto& entry : kSignals) {
    if (entry.name == name) return entry.signal;
  }
  return std::nullopt;
}

std::span<const Signal> all_signals() { return kAllSignals; }

Verdict Verdict::cont(double score, Signal signal, std::string reason) {
  return Verdict{Action::Continue, score, signal, std::move(reason)};
}
Verdict Verdict::accept(Signal signal, std::string reason) {
  return Verdict{Action::Accept, 0, signal, std::move(reason)};
}
Verdict Verdict::defer(Signal signal, std::string reason, double score) {
  return Verdict{Action::Defer, score, signal, std::move(reason)};
}
Verdict Verdict::reject(Signal signal, std::string reason) {
  return Verdict{Action::Reject, 0, signal, std::move(reason)};
}
Verdict Verdict::drop(Signal signal, std::string reason) {
  return Verdict{Action::Drop, 0, signal, std::move(reason)};
}
Verdict Verdict::quarantine(Signal signal, std::string reason) {
  return Verdict{Action::Quarantine, 0, signal, std::move(reason)};
}

}  // namespace mxgate::reputation
