// The checks that read the reputation store (issue 3): their PendingChecks for policy/pipeline.
//   ip_history             connect: the client IP's record and its networks' records
//   sender_domain_history  MAIL: the envelope sender domain's record
// Reads never block the worker when the records are cached (ReputationStore::try_get*); a miss
// hops to the blocking pool and back. A store error is a check error (on_error decides; the
// default "ignore" keeps mail flowing) and is counted.
// Threading: the checks run on the session's worker; the store is shared and thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <string>

#include "auth/dkim_key_cache.hpp"
#include "dns/resolver.hpp"
#include "policy/metrics.hpp"
#include "policy/pass_memory.hpp"
#include "policy/pipeline.hpp"
#include "policy/verdict_metrics.hpp"
#include "reputation/model.hpp"
#include "storage/reputation_store.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::policy {

class Throttling;

// What the checks of every session on a worker share: the store, where blocking reads go, the
// metrics, the clients that passed the pregreet test, the throttle, and the worker's resolver
// and DKIM key cache. Owned by the runtime and the worker; outlives every session.
struct Services {
  storage::ReputationStore& store;
  boost::asio::any_io_executor blocking;  // where reads that may touch the disk run
  PolicyMetrics& metrics;
  VerdictMetrics& verdicts;
  PassMemory& passes;
  Throttling* throttling = nullptr;         // the process's (null: no throttling)
  dns::Resolver* resolver = nullptr;        // the worker's (CachingResolver over AresResolver)
  auth::DkimKeyCache* dkim_keys = nullptr;  // the worker's
};

// What the history checks read, for the throttle (issue 6): filled when a check has its record.
struct HistoryFacts {
  std::uint32_t hygiene_days = 1;  // the window of History's invalid-recipient counts
  std::optional<throttle::History> ip, network;
  std::optional<throttle::History> sender_domain;
};

PendingCheck ip_history_check(const Services& context, reputation::CheckSettings settings,
                              boost::asio::ip::address address, reputation::ModelSettings model,
                              std::shared_ptr<HistoryFacts> facts = nullptr);

PendingCheck sender_domain_check(const Services& context, reputation::CheckSettings settings,
                                 std::string domain, reputation::ModelSettings model,
                                 std::shared_ptr<HistoryFacts> facts = nullptr);

std::int64_t unix_now();

}  // namespace mxgate::policy
