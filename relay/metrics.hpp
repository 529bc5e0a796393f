// The relay's Prometheus metrics, declared once and resolved to handles at start-up (STYLE.md
// "Metrics"). Every label value comes from a fixed set or from the configuration, never from a
// client, a DNS answer or a reply. Per downstream (label `downstream`, see DownstreamMetrics):
//   mxgate_relay_duration_seconds{downstream}     end of client data to the downstream's reply
//   mxgate_downstream_errors_total{downstream,kind}  connect, timeout, protocol, tls, busy,
//                                                 circuit_open (count_failure)
//   mxgate_downstream_connections_total{downstream,origin}  opened, or taken from the pool
//   mxgate_downstream_connections_in_use{downstream}  handed out by a pool and not given back
//                                                 (what relay.max_connections bounds)
//   mxgate_downstream_open_circuits{downstream}   circuit breakers open now (refresh())
// For the process:
//   mxgate_downstream_circuit_opens_total         times a circuit opened (refresh())
//   mxgate_relay_replays_total{result}            inline mode: envelopes replayed before the
//                                                 content (a held message at its end of data,
//                                                 a move to the quarantine route): ok, refused
//                                                 (a recipient, MAIL or DATA), unavailable
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
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace mxgate::conf {
struct Config;
struct HostPort;
struct Route;
}  // namespace mxgate::conf

namespace mxgate::relay {

class DownstreamGates;

// The series of one downstream. Its label is the downstream's "host:port" as the configuration
// names it ([[route]] downstream, quarantine_downstream, outbound.bounce_relay), or "mx" for
// every mail exchanger found by an MX lookup (a DSN to an outside domain: their number is the
// Internet's, so they share one label).
struct DownstreamMetrics {
  prometheus::Histogram& relay_seconds;  // end of client data to the final reply
  prometheus::Counter& connect_errors;
  prometheus::Counter& timeouts;
  prometheus::Counter& protocol_errors;
  prometheus::Counter& tls_errors;
  prometheus::Counter& busy;              // refused: at relay.max_connections
  prometheus::Counter& circuit_refusals;  // refused: its circuit breaker is open
  prometheus::Counter& opened;            // connections opened
  prometheus::Counter& reused;            // connections taken from the pool
  prometheus::Gauge& in_use;              // handed out by a pool (Downstream::in_use)
  prometheus::Gauge& open_circuits;       // 0 or 1; for "mx", the exchangers whose circuit is open
};

struct RelayMetrics {
  // Past this many labels (reloads that keep naming new downstreams), the rest share "other".
  static constexpr std::size_t kMaxDownstreams = 256;
  static constexpr std::string_view kMailExchangers = "mx";

  explicit RelayMetrics(prometheus::Registry& registry);

  // The series of `label` ("host:port", or kMailExchangers), created at 0 on first use.
  // Thread-safe; the reference stays valid for the process's life (series are never removed, so
  // a connection may keep it).
  DownstreamMetrics& downstream(std::string_view label);
  // The label of `target` when reached through `route`.
  static std::string label_of(const conf::Route& route, const conf::HostPort& target);
  // Creates the series of every downstream `config` names (at start-up and after a reload), so
  // that rate() sees a downstream's first error.
  void name_downstreams(const conf::Config& config);

  // Reads the gates' circuit breakers into each downstream's open_circuits and into
  // downstream_circuit_opens.
  void refresh(const DownstreamGates& gates);

  prometheus::Counter& downstream_circuit_opens;  // times a circuit opened, any downstream

  // Inline mode: envelopes replayed before the content (inline_relay.hpp), by result
  prometheus::Counter& replays_ok;
  prometheus::Counter& replays_refused;      // a recipient, MAIL or DATA refused
  prometheus::Counter& replays_unavailable;  // no connection, or it was lost

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
  prometheus::Registry& registry_;
  std::uint64_t circuit_opens_seen_ = 0;  // the gates' total at the last refresh()
  std::mutex mutex_;                      // guards downstreams_
  std::map<std::string, std::unique_ptr<DownstreamMetrics>, std::less<>> downstreams_;
};

// Adds one to the failure counter of `downstream` that matches `ec` (relay::Error,
// downstream.hpp; any other error counts as a protocol error; Error::shutdown is not counted).
void count_failure(DownstreamMetrics& downstream, const boost::system::error_code& ec);

}  // namespace mxgate::relay
