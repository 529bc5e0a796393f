// Verdicts: what one check says about a sender at one SMTP stage. A check returns an Action, a
// score, a Signal from the closed list below and a free-text reason; policy.hpp adds verdicts up
// and replies.hpp alone turns the result into an SMTP reply (STYLE: "SMTP codes live in one
// place"). Pure values: no I/O, no locks, thread-compatible.
//
// The Signal list is closed and stable: its snake_case names appear in config (weights), logs,
// metrics labels and the postmaster portal. Append new signals at the end; never rename or
// renumber one (stored records and dashboards refer to them).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mxgate::reputation {

// The SMTP stages that run a pipeline of checks, in protocol order.
enum class Stage : std::uint8_t { Connect, Helo, Mail, Rcpt, EndOfData };

// What a check (or the combined decision) wants. Quarantine: accept the message, mark it with a
// header and route it to the quarantine route when one is configured.
enum class Action : std::uint8_t { Continue, Accept, Defer, Reject, Drop, Quarantine };

enum class Signal : std::uint8_t {
  None = 0,
  // From the reputation history (model.hpp).
  ManualBlock = 1,
  ManualAllow = 2,
  ReputationPoor = 3,
  RejectRatio = 4,
  ComplaintRate = 5,
  InvalidRecipients = 6,
  FirstSeenRecently = 7,
  // From the pipeline itself (policy.hpp).
  CheckError = 8,
  Timeout = 9,
  // Reserved for the DNS, rDNS, HELO, sender, authentication, throttling and screening checks.
  DnsblListed = 10,
  DnsblAllowlisted = 11,
  RdnsMissing = 12,
  RdnsMismatch = 13,
  RdnsGeneric = 14,
  HeloInvalid = 15,
  HeloMismatch = 16,
  SenderDomainInvalid = 17,
  SenderDomainNullMx = 18,
  SpfFail = 19,
  SpfSoftfail = 20,
  DkimFail = 21,
  DmarcFail = 22,
  RateLimited = 23,
  NewIpRamp = 24,
  Anomaly = 25,
  Pregreet = 26,
  Unauthenticated = 27,
  DkimUnsignedContent = 28,
  // From the message's content (issue 17). The format signals carry content::Finding's names
  // (content/findings.hpp), in the same order.
  DateMissing = 29,
  DateDuplicate = 30,
  FromMissing = 31,
  FromDuplicate = 32,
  MessageIdMissing = 33,
  HeaderNoColon = 34,
  HeaderBadName = 35,
  Header8bit = 36,
  MimeNoBoundary = 37,
  MimeUnterminated = 38,
  MimeBoundaryUnseen = 39,
  MimeBadEncoding = 40,
  MimeBadBase64 = 41,
  MimeOverLimit = 42,
  UriListed = 43,
  UriDnsblListed = 44,
  BulkNoOneClick = 45,
  // From the content filters spoken to over milter (issue 18).
  MilterReject = 46,
  MilterTempfail = 47,
};

inline constexpr std::size_t kSignalCount = 48;

std::string_view stage_name(Stage stage);     // "connect", "helo", "mail", "rcpt", "end_of_data"
std::string_view action_name(Action action);  // "continue", "accept", "defer", ...

// The stable snake_case name, e.g. "manual_block".
std::string_view signal_name(Signal signal);
// One line for docs and the portal, e.g. "An operator blocked this sender.".
std::string_view signal_description(Signal signal);
// The inverse of signal_name (exact, lower case); nullopt for an unknown name.
std::optional<Signal> parse_signal(std::string_view name);
// Every signal, in numeric order (for docs, config validation and metric pre-registration).
std::span<const Signal> all_signals();

struct Verdict {
  Action action = Action::Continue;
  double score = 0;  // added to the stage score (times the check's weight), whatever the action
  Signal signal = Signal::None;
  std::string reason;  // for logs and the portal; never sent to the client

  static Verdict cont(double score, Signal signal, std::string reason);
  static Verdict accept(Signal signal, std::string reason);
  static Verdict defer(Signal signal, std::string reason, double score = 0);
  static Verdict reject(Signal signal, std::string reason);
  static Verdict drop(Signal signal, std::string reason);
  static Verdict quarantine(Signal signal, std::string reason);

  bool operator==(const Verdict&) const = default;
};

}  // namespace mxgate::reputation
