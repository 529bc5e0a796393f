// The checks that read the reputation store (issue 3): their PendingChecks for policy/pipeline.
//   ip_history             connect (first): the client IP's record and its networks' records
//   sender_domain_history  MAIL: the envelope sender domain's record
// Both judge a record with the reputation model (reputation/model.hpp) and leave what they read
// in HistoryFacts for the throttle (policy/facts.hpp).
// Reads never block the worker when the records are cached (ReputationStore::try_get*); a miss
// hops to the blocking pool and back. A store error is a check error (on_error decides; the
// default "ignore" keeps mail flowing) and is counted (mxgate_reputation_lookup_errors_total).
// Threading: the checks run on the session's worker; the store is shared and thread-safe.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "policy/check_context.hpp"
#include "policy/facts.hpp"
#include "policy/pipeline.hpp"
#include "policy/services.hpp"
#include "reputation/model.hpp"

namespace mxgate::policy {

// `context` must outlive the check (Services do).
PendingCheck ip_history_check(const Services& context, reputation::CheckSettings settings,
                              boost::asio::ip::address address, reputation::ModelSettings model,
                              std::shared_ptr<HistoryFacts> facts = nullptr);

PendingCheck sender_domain_check(const Services& context, reputation::CheckSettings settings,
                                 std::string domain, reputation::ModelSettings model,
                                 std::shared_ptr<HistoryFacts> facts = nullptr);

// For the registration table (policy/check_table.hpp).
void add_ip_history(const CheckContext& context, const reputation::CheckSettings& settings,
                    std::vector<PendingCheck>& out);
void add_sender_domain_history(const CheckContext& context,
                               const reputation::CheckSettings& settings,
                               std::vector<PendingCheck>& out);

std::int64_t unix_now();

}  // namespace mxgate::policy
