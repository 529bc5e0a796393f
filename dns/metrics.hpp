// The DNS library's Prometheus metrics, declared once and resolved to handles at start-up
// (STYLE.md "Metrics"); labels come from fixed sets (record type, outcome), never from names.
//   mxgate_dns_queries_total{type,outcome}  queries sent to DNS servers (cache misses)
//   mxgate_dns_query_seconds                their latency, timeouts included
//   mxgate_dns_cache_hits_total / _misses_total / _coalesced_total / _evictions_total
//   mxgate_dns_cache_entries                entries in every worker's cache together
// Hit ratio: hits / (hits + misses + coalesced); a coalesced lookup waited for a query in flight.
// Threading: one DnsMetrics for the process, shared by every worker (prometheus-cpp handles
// are thread-safe). It must outlive the resolvers that count into it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>

#include "dns/types.hpp"

namespace mxgate::dns {

struct DnsMetrics {
  explicit DnsMetrics(prometheus::Registry& registry);

  // The handle for one query's (type, outcome); types without a label of their own count as
  // "other".
  prometheus::Counter& queries(RecordType type, Outcome outcome);

  prometheus::Histogram& query_seconds;
  prometheus::Counter& cache_hits;
  prometheus::Counter& cache_misses;
  prometheus::Counter& cache_coalesced;
  prometheus::Counter& cache_evictions;
  prometheus::Gauge& cache_entries;

 private:
  static constexpr std::size_t kTypeLabels = 9;
  std::array<std::array<prometheus::Counter*, kOutcomeCount>, kTypeLabels> queries_{};
};

}  // namespace mxgate::dns
