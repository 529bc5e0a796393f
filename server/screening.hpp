// The checks that read the reputation store (issue 3): their PendingChecks for server/pipeline.
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
#include "common/metrics.hpp"
#include "dns/metrics.hpp"
#include "dns/resolver.hpp"
#include "reputation/model.hpp"
#include "server/pass_memory.hpp"
#include "server/pipeline.hpp"
#include "server/verdict_metrics.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::relay {
class DownstreamGates;
}

namespace mxgate::server {

class Throttling;
class QueueClaims;

// What every session shares: the store, where blocking reads go, the metrics, the clients
// that passed the pregreet test, and the worker's resolver (set by the worker).
struct ScreeningContext {
  storage::ReputationStore& store;
  boost::asio::any_io_executor blocking;       // where reads that may touch the disk run
  boost::asio::any_io_executor spool_writers;  // queue mode's synced commits (many threads)
  common::Metrics& metrics;
  VerdictMetrics& verdicts;
  dns::DnsMetrics& dns_metrics;
  PassMemory& passes;
  Throttling* throttling = nullptr;         // the process's (null: no throttling)
  storage::Spool* spool = nullptr;          // queue mode's (null: inline mode)
  QueueClaims* claims = nullptr;            // queue mode: messages being delivered, all workers
  relay::DownstreamGates* gates = nullptr;  // per-downstream limits and circuit breakers
  dns::Resolver* resolver = nullptr;        // the worker's (CachingResolver over AresResolver)
  auth::DkimKeyCache* dkim_keys = nullptr;  // the worker's
};

// What the history checks read, for the throttle (issue 6): filled when a check has its record.
struct HistoryFacts {
  std::uint32_t hygiene_days = 1;  // the window of History's invalid-recipient counts
  std::optional<throttle::History> ip, network;
  std::optional<throttle::History> sender_domain;
};

PendingCheck ip_history_check(const ScreeningContext& context, reputation::CheckSettings settings,
                              boost::asio::ip::address address, reputation::ModelSettings model,
                              std::shared_ptr<HistoryFacts> facts = nullptr);

PendingCheck sender_domain_check(const ScreeningContext& context,
                                 reputation::CheckSettings settings, std::string domain,
                                 reputation::ModelSettings model,
                                 std::shared_ptr<HistoryFacts> facts = nullptr);

std::int64_t unix_now();

}  // namespace mxgate::server
