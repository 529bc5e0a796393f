// The relay's Prometheus metrics, declared once and resolved to handles at start-up (STYLE.md
// "Metrics"); every label value comes from a fixed set, never from a host or an address.
//   mxgate_relay_duration_seconds                 end of client data to the downstream's reply
//   mxgate_downstream_errors_total{kind}          connect, timeout, protocol, tls, busy,
//                                                 circuit_open (count_failure)
//   mxgate_downstream_connections_total{origin}   opened, or taken from the pool
//   mxgate_downstream_circuit_opens_total, mxgate_downstream_open_circuits
//                                                 the circuit breakers (refresh() from the gates)
//   mxgate_queue_commit_seconds, mxgate_queue_commit_errors_total   queue mode's intake
//   mxgate_queue_receiving_bytes                  content of messages still being received,
//                                                 staged in the spool before their commit
//   mxgate_queue_deliveries_total{result}, mxgate_queue_dsns_total  queue mode's runners
//   mxgate_queue_dsn_destinations_total{destination}  where DSNs to outside domains went
//   mxgate_recipient_verification_total{result,source}, mxgate_recipient_verification_cache_entries
//                                                 recipient verification (verify.hpp)
// The spool's own gauges (depth, oldest message, messages per fsync) are storage's
// (storage/metrics.hpp).
// Threading: one RelayMetrics for the process, shared by every worker's pool, relays and queue
// runner (prometheus-cpp handles are thread-safe); refresh() is called by one thread (the
// runtime's timer). It outlives the workers.
// Failure: the constructor throws std::invalid_argument when a name is already registered with
// another type (a bug, at start-up); counting never fails.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <boost/system/error_code.hpp>
#include <cstdint>

namespace mxgate::relay {

class DownstreamGates;

struct RelayMetrics {
  explicit RelayMetrics(prometheus::Registry& registry);

  // Reads the gates' circuit breaker counts into downstream_open_circuits and
  // downstream_circuit_opens.
  void refresh(const DownstreamGates& gates);

  // Relay to the mailbox servers
  prometheus::Histogram& relay_seconds;  // end of client data to the downstream's final reply
  prometheus::Counter& downstream_connect_errors;
  prometheus::Counter& downstream_timeouts;
  prometheus::Counter& downstream_protocol_errors;
  prometheus::Counter& downstream_tls_errors;
  prometheus::Counter& downstream_connections_opened;
  prometheus::Counter& downstream_connections_reused;
  prometheus::Counter& downstream_busy;              // refused: route at max_connections
  prometheus::Counter& downstream_circuit_refusals;  // refused: circuit breaker open
  prometheus::Counter& downstream_circuit_opens;     // times a circuit opened
  prometheus::Gauge& downstream_open_circuits;       // downstreams whose circuit is open now

  // Queue mode
  prometheus::Histogram& queue_commit_seconds;  // a message's synced write to the spool
  prometheus::Counter& queue_commit_errors;
  prometheus::Gauge& queue_receiving_bytes;
  prometheus::Counter& queue_deliveries_done;      // every recipient delivered or refused
  prometheus::Counter& queue_deliveries_deferred;  // some recipient to be retried
  prometheus::Counter& queue_deliveries_expired;   // older than queue.max_age
  prometheus::Counter& queue_deliveries_dead;      // a bounce that could not be delivered
  prometheus::Counter& queue_deliveries_dropped;   // a DSN to a domain with a null MX
  prometheus::Counter& queue_dsns;                 // delivery status notifications queued
  // Per attempt of a DSN to a domain outside every route: where outbound.hpp sent it, indexed
  // by Destination::Kind.
  std::array<prometheus::Counter*, 8> dsn_destinations{};

  // Recipient verification (verify.hpp): answers by result and where they came from
  struct Verification {
    prometheus::Counter& valid_cache;
    prometheus::Counter& valid_callout;
    prometheus::Counter& valid_list;
    prometheus::Counter& unknown_cache;
    prometheus::Counter& unknown_callout;
    prometheus::Counter& unknown_list;
    prometheus::Counter& tempfail_callout;  // never cached, never from a list
    prometheus::Gauge& cache_entries;
  } verification;

 private:
  std::uint64_t circuit_opens_seen_ = 0;  // the gates' total at the last refresh()
};

// Adds one to the downstream_* failure counter that matches `ec` (relay::Error, downstream.hpp;
// any other error counts as a protocol error; Error::shutdown is not counted).
void count_failure(RelayMetrics& metrics, const boost::system::error_code& ec);

}  // namespace mxgate::relay
