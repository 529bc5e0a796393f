// The throttle (issue 6) as checks of the pipeline: in the Limits phase of the connect, MAIL,
// RCPT and end-of-data stages (policy/check_table.hpp), after the stage's other checks. Each
// asks throttle::Throttle about the session's subject (its IP and network keys, the sender
// domain, what the history checks read: HistoryFacts) and answers from memory, at once (a
// DecideNow check of the table, not a PendingCheck):
// a deferral is a Drop verdict (421, the session ends) with the limit's signal. In mode enforce
// the deferral is counted (mxgate_throttle_deferrals_total{limit}) and remembered for the portal;
// in mode observe it is only logged and counted as a signal.
// The throttle applies to a client with an address, outside trusted_networks, not accepted by
// an allow listing, while [throttle] is enabled and the process has one (Services::throttling).
// Threading: the session's worker; Throttling is thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "policy/check_context.hpp"
#include "policy/pipeline.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::policy {

// The throttle applies to the client (whatever the check's mode).
bool throttle_applies(const CheckContext& context);
// ... and the throttle check's mode is not "off".
bool throttle_on(const CheckContext& context);
throttle::Subject throttle_subject(const CheckContext& context);

// For the registration table.
void throttle_connect(const CheckContext& context, const reputation::CheckSettings& settings,
                      std::vector<reputation::CheckOutcome>& out);
void throttle_mail(const CheckContext& context, const reputation::CheckSettings& settings,
                   std::vector<reputation::CheckOutcome>& out);
void throttle_rcpt(const CheckContext& context, const reputation::CheckSettings& settings,
                   std::vector<reputation::CheckOutcome>& out);
void throttle_message(const CheckContext& context, const reputation::CheckSettings& settings,
                      std::vector<reputation::CheckOutcome>& out);

// A dictionary attack: `unknown` recipients answered 550 5.1.1 in one session reached
// throttle.dictionary_limit. Not a stage of the table but an event the session reports; the
// check answers now.
std::vector<reputation::CheckOutcome> dictionary_check(const CheckContext& context,
                                                       std::uint32_t unknown);

// A message was accepted: the throttle's ramp and anomaly counts. Call only when throttle_on().
void throttle_accepted(const CheckContext& context);

}  // namespace mxgate::policy
