// Throttling: the server's side of throttle::Throttle (issue 6). One per process, shared by
// every worker: the rules and their state, the metrics
//   mxgate_throttle_deferrals_total{limit}   deferrals by limit name (config names, "ramp",
//                                            "network-ramp", "anomaly", "hygiene")
//   mxgate_throttle_keys                     state entries in memory
//   mxgate_throttle_evictions_total          entries dropped to stay within throttle.max_keys
// and the state's round trips to the store (load at start, save every persist_interval and at
// shutdown; both may block: the blocking pool, or before the workers start).
// Threading: thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "conf/config.hpp"
#include "storage/reputation_store.hpp"
#include "throttle/greylist.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::policy {

class Throttling {
 public:
  Throttling(const conf::ThrottleConfig& config, prometheus::Registry& registry);

  throttle::Throttle& rules() { return throttle_; }
  void configure(const conf::ThrottleConfig& config) { throttle_.configure(config); }

  // A client was deferred: counted, and remembered for the portal under its IP key.
  void deferred(const std::string& ip_key, const throttle::Deferral& deferral, std::int64_t now_us);

  // The store keeps one set of state: the greylist's entries (keys "G|...", issue 20) are
  // saved and loaded with the throttle's when `greylist` is given.
  void load(storage::ReputationStore& store, std::int64_t now_us,
            throttle::Greylist* greylist = nullptr);
  void save(storage::ReputationStore& store, std::int64_t now_us,
            const throttle::Greylist* greylist = nullptr);
  void update_gauges();

 private:
  throttle::Throttle throttle_;
  prometheus::Family<prometheus::Counter>& deferrals_;
  prometheus::Gauge& keys_;
  prometheus::Counter& evictions_;
  std::uint64_t evictions_seen_ = 0;  // guarded by mutex_
  std::mutex mutex_;                  // guards by_limit_, evictions_seen_
  std::map<std::string, prometheus::Counter*, std::less<>> by_limit_;
};

// Unix time in microseconds.
std::int64_t unix_now_us();

}  // namespace mxgate::policy
