// The policy's Prometheus metrics about reputation history and quarantine, declared once and
// resolved to handles at start-up (STYLE.md "Metrics"); label values come from fixed sets.
//   mxgate_reputation_lookups_total{result}      connect-time lookups: cached, blocking, error
//   mxgate_reputation_lookup_seconds{served}     their latency: cached, blocking
//   mxgate_reputation_updates_total{result}      outcome updates: written, dropped (batch full)
//   mxgate_quarantined_total                     messages accepted into quarantine
// Verdicts, check signals and authentication results are VerdictMetrics' (verdict_metrics.hpp).
// Threading: one PolicyMetrics for the process, shared by every worker's checks and sessions
// (prometheus-cpp handles are thread-safe). It outlives the workers.
// Failure: the constructor throws std::invalid_argument when a name is already registered with
// another type (a bug, at start-up); counting never fails.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mxgate::policy {

struct PolicyMetrics {
  explicit PolicyMetrics(prometheus::Registry& registry);

  // Reputation (connect-time screening)
  prometheus::Counter& reputation_lookups_cached;
  prometheus::Counter& reputation_lookups_blocking;
  prometheus::Counter& reputation_lookup_errors;
  prometheus::Histogram& reputation_lookup_seconds_cached;    // connect-time IP + networks
  prometheus::Histogram& reputation_lookup_seconds_blocking;  // ... that needed the disk
  // Outcome updates for the store at the end of a session
  prometheus::Counter& reputation_updates_written;
  prometheus::Counter& reputation_updates_dropped;  // the pending batch was full
  prometheus::Counter& quarantined_messages;
};

}  // namespace mxgate::policy
