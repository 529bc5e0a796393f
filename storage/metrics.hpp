// The storage's Prometheus metrics, declared once and resolved to handles at start-up (STYLE.md
// "Metrics"); the store and the spool set them from their own statistics (refresh()), which
// the runtime calls on its timer (every reputation.flush_interval).
// StoreMetrics, the reputation store:
//   mxgate_reputation_records{family}                   records per family (RocksDB's estimate):
//                                                       ip, network, sender_domain, auth_domain,
//                                                       linked_domain
//   mxgate_reputation_cache_hits_total{cache}, _misses_total{cache}, _hit_ratio{cache}
//                                                       the block cache (block) and the decoded
//                                                       record cache (record)
//   mxgate_reputation_flush_errors_total                failed writes of outcome counters
// SpoolMetrics, queue mode's spool:
//   mxgate_queue_depth, mxgate_queue_oldest_message_seconds, mxgate_queue_messages_per_fsync
// The runtime registers both whether or not queue mode is on, so that the exposition does not
// depend on it; only the spool's refresh() waits for queue mode.
// Threading: prometheus-cpp handles are thread-safe; refresh() keeps the totals it saw last and
// is called by one thread at a time (the control thread).
// Failure: the constructors throw std::invalid_argument when a name is already registered with
// another type (a bug, at start-up); refresh() never fails (a statistic RocksDB cannot give
// reads as 0).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>

namespace mxgate::storage {

class ReputationStore;
class Spool;

struct StoreMetrics {
  explicit StoreMetrics(prometheus::Registry& registry);

  // Reads the store's record counts and cache statistics into the gauges and counters.
  void refresh(ReputationStore& store);

  prometheus::Gauge& reputation_records_ip;
  prometheus::Gauge& reputation_records_network;
  prometheus::Gauge& reputation_records_sender_domain;
  prometheus::Gauge& reputation_records_auth_domain;
  prometheus::Gauge& reputation_records_linked_domain;  // "uri:" listings (issue 17)
  prometheus::Counter& reputation_cache_hits_block;  // RocksDB's block cache
  prometheus::Counter& reputation_cache_misses_block;
  prometheus::Gauge& reputation_cache_hit_ratio_block;  // since start
  prometheus::Counter& reputation_cache_hits_record;    // decoded records (record_cache.hpp)
  prometheus::Counter& reputation_cache_misses_record;
  prometheus::Gauge& reputation_cache_hit_ratio_record;
  prometheus::Counter& reputation_flush_errors;  // counted by whoever calls flush()

 private:
  // Turns a cache's hit and miss totals since open into its counters and hit ratio.
  struct CacheTally {
    prometheus::Counter& hits_metric;
    prometheus::Counter& misses_metric;
    prometheus::Gauge& ratio_metric;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    void update(std::uint64_t now_hits, std::uint64_t now_misses);
  };
  CacheTally block_{reputation_cache_hits_block, reputation_cache_misses_block,
                    reputation_cache_hit_ratio_block};
  CacheTally record_{reputation_cache_hits_record, reputation_cache_misses_record,
                     reputation_cache_hit_ratio_record};
};

struct SpoolMetrics {
  explicit SpoolMetrics(prometheus::Registry& registry);

  // Reads the spool's statistics (Spool::stats(): counts kept in memory, no I/O) into the
  // gauges; `now_ms` (Unix ms) ages the oldest message.
  void refresh(Spool& spool, std::int64_t now_ms);

  prometheus::Gauge& queue_depth;
  prometheus::Gauge& queue_oldest_seconds;
  prometheus::Gauge& queue_messages_per_fsync;  // commits / WAL syncs since start
};

}  // namespace mxgate::storage
