#include "storage/metrics.hpp"

#include "common/metric.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::storage {
namespace {

using common::counter;
using common::gauge;
using Name = common::MetricName;

constexpr Name kRecords{"mxgate_reputation_records",
                        "Records in the reputation store by family (RocksDB's estimate)"};
constexpr Name kCacheHits{"mxgate_reputation_cache_hits_total",
                          "Reputation store cache hits: decoded records (record) and RocksDB "
                          "blocks (block)"};
constexpr Name kCacheMisses{"mxgate_reputation_cache_misses_total",
                            "Reputation store cache misses, by cache"};
constexpr Name kHitRatio{"mxgate_reputation_cache_hit_ratio",
                         "Reputation store cache hits / lookups since start, by cache"};
constexpr Name kFlushErrors{"mxgate_reputation_flush_errors_total",
                            "Failed writes of outcome counters to the store"};
constexpr Name kDepth{"mxgate_queue_depth", "Queue mode: messages waiting in the spool"};
constexpr Name kOldest{"mxgate_queue_oldest_message_seconds",
                       "Queue mode: age of the oldest message in the spool"};
constexpr Name kPerFsync{"mxgate_queue_messages_per_fsync",
                         "Queue mode: messages committed per WAL sync since start"};

void set_count(prometheus::Gauge& gauge, ReputationStore& store, Family family) {
  gauge.Set(static_cast<double>(store.approximate_count(family)));
}

}  // namespace

StoreMetrics::StoreMetrics(prometheus::Registry& r)
    : reputation_records_ip(gauge(r, kRecords, {{"family", "ip"}})),
      reputation_records_network(gauge(r, kRecords, {{"family", "network"}})),
      reputation_records_sender_domain(gauge(r, kRecords, {{"family", "sender_domain"}})),
      reputation_records_auth_domain(gauge(r, kRecords, {{"family", "auth_domain"}})),
      reputation_records_linked_domain(gauge(r, kRecords, {{"family", "linked_domain"}})),
      reputation_cache_hits_block(counter(r, kCacheHits, {{"cache", "block"}})),
      reputation_cache_misses_block(counter(r, kCacheMisses, {{"cache", "block"}})),
      reputation_cache_hit_ratio_block(gauge(r, kHitRatio, {{"cache", "block"}})),
      reputation_cache_hits_record(counter(r, kCacheHits, {{"cache", "record"}})),
      reputation_cache_misses_record(counter(r, kCacheMisses, {{"cache", "record"}})),
      reputation_cache_hit_ratio_record(gauge(r, kHitRatio, {{"cache", "record"}})),
      reputation_flush_errors(counter(r, kFlushErrors)) {}

void StoreMetrics::CacheTally::update(std::uint64_t now_hits, std::uint64_t now_misses) {
  hits_metric.Increment(static_cast<double>(now_hits - hits));
  misses_metric.Increment(static_cast<double>(now_misses - misses));
  hits = now_hits;
  misses = now_misses;
  if (hits + misses > 0) {
    ratio_metric.Set(static_cast<double>(hits) / static_cast<double>(hits + misses));
  }
}

void StoreMetrics::refresh(ReputationStore& store) {
  block_.update(store.cache_hits(), store.cache_misses());
  record_.update(store.record_cache_hits(), store.record_cache_misses());
  set_count(reputation_records_ip, store, Family::Ip);
  set_count(reputation_records_network, store, Family::Network);
  set_count(reputation_records_sender_domain, store, Family::SenderDomain);
  set_count(reputation_records_auth_domain, store, Family::AuthDomain);
  set_count(reputation_records_linked_domain, store, Family::LinkedDomain);
}

SpoolMetrics::SpoolMetrics(prometheus::Registry& r)
    : queue_depth(gauge(r, kDepth)),
      queue_oldest_seconds(gauge(r, kOldest)),
      queue_messages_per_fsync(gauge(r, kPerFsync)) {}

void SpoolMetrics::refresh(Spool& spool, std::int64_t now_ms) {
  const auto stats = spool.stats();
  queue_depth.Set(static_cast<double>(stats.depth));
  queue_oldest_seconds.Set(
      stats.depth == 0 ? 0 : static_cast<double>(now_ms - stats.oldest_created_ms) / 1000);
  if (stats.wal_syncs > 0) {
    queue_messages_per_fsync.Set(static_cast<double>(stats.commits) /
                                 static_cast<double>(stats.wal_syncs));
  }
}

}  // namespace mxgate::storage
