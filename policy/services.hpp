// Services: what the checks of every session on a worker share, owned by the runtime and the
// worker: the reputation store and the blocking pool its disk reads go to, the metrics, the
// clients that passed the pregreet test, the throttle, the greylist, and the worker's resolver
// and DKIM key cache. They outlive every session and every check (a check still running past
// its deadline included), so checks hold them by reference, never by copy.
// Threading: the store, the metrics, PassMemory, Throttling and Greylisting are thread-safe;
// the resolver and the key cache belong to the worker and are used on its thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "auth/dkim_key_cache.hpp"
#include "dns/resolver.hpp"
#include "policy/metrics.hpp"
#include "policy/pass_memory.hpp"
#include "policy/verdict_metrics.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::policy {

class Throttling;
class Greylisting;
class DmarcRecorder;

struct Services {
  storage::ReputationStore& store;
  boost::asio::any_io_executor blocking;  // where reads that may touch the disk run
  PolicyMetrics& metrics;
  VerdictMetrics& verdicts;
  PassMemory& passes;
  Throttling* throttling = nullptr;         // the process's (null: no throttling)
  dns::Resolver* resolver = nullptr;        // the worker's (CachingResolver over AresResolver)
  auth::DkimKeyCache* dkim_keys = nullptr;  // the worker's
  Greylisting* greylisting = nullptr;       // the process's (null: no greylisting)
  DmarcRecorder* dmarc_reports = nullptr;   // the process's (null: no aggregate reports)
};

}  // namespace mxgate::policy
