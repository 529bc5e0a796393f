#include "relay/metrics.hpp"

#include "common/metric.hpp"
#include "relay/downstream.hpp"
#include "relay/gates.hpp"
#include "relay/outbound.hpp"

namespace mxgate::relay {
namespace {

using common::counter;
using common::histogram;
using Name = common::MetricName;

constexpr Name kRelaySeconds{"mxgate_relay_duration_seconds",
                             "End of client data to the downstream's final reply"};
constexpr Name kErrors{"mxgate_downstream_errors_total",
                       "Failures talking to the mailbox servers by kind"};
constexpr Name kConnections{"mxgate_downstream_connections_total",
                            "Downstream connections by origin"};
constexpr Name kCircuitOpens{"mxgate_downstream_circuit_opens_total",
                             "Times a downstream's circuit breaker opened"};
constexpr Name kOpenCircuits{"mxgate_downstream_open_circuits",
                             "Downstreams whose circuit breaker is open now"};
constexpr Name kCommitSeconds{"mxgate_queue_commit_seconds",
                              "Queue mode: a message's synced write to the spool"};
constexpr Name kCommitErrors{"mxgate_queue_commit_errors_total",
                             "Queue mode: spool writes that failed (answered 451 4.3.0)"};
constexpr Name kReceiving{"mxgate_queue_receiving_bytes",
                          "Queue mode: bytes of messages still being received, staged in the "
                          "spool before their commit"};
constexpr Name kDeliveries{"mxgate_queue_deliveries_total",
                           "Queue mode: delivery attempts by outcome"};
constexpr Name kVerification{"mxgate_recipient_verification_total",
                             "Recipient verification answers by result and source"};
constexpr Name kVerifyCache{"mxgate_recipient_verification_cache_entries",
                            "Recipient verification: callout answers cached (all workers)"};
constexpr Name kDsnDestinations{
    "mxgate_queue_dsn_destinations_total",
    "Queue mode: delivery attempts of DSNs to domains outside every route, by where the "
    "MX lookup (or the bounce relay) sent them"};
constexpr Name kDsns{"mxgate_queue_dsns_total", "Queue mode: delivery status notifications queued"};

// Bucket boundaries are part of the exposition (alert rules and dashboards read them).
const prometheus::Histogram::BucketBoundaries kRelayBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const prometheus::Histogram::BucketBoundaries kCommitBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                             0.025,  0.05,  0.1,    0.25,  1};

}  // namespace

RelayMetrics::RelayMetrics(prometheus::Registry& r)
    : relay_seconds(histogram(r, kRelaySeconds, kRelayBuckets)),
      downstream_connect_errors(counter(r, kErrors, {{"kind", "connect"}})),
      downstream_timeouts(counter(r, kErrors, {{"kind", "timeout"}})),
      downstream_protocol_errors(counter(r, kErrors, {{"kind", "protocol"}})),
      downstream_tls_errors(counter(r, kErrors, {{"kind", "tls"}})),
      downstream_connections_opened(counter(r, kConnections, {{"origin", "opened"}})),
      downstream_connections_reused(counter(r, kConnections, {{"origin", "pool"}})),
      downstream_busy(counter(r, kErrors, {{"kind", "busy"}})),
      downstream_circuit_refusals(counter(r, kErrors, {{"kind", "circuit_open"}})),
      downstream_circuit_opens(counter(r, kCircuitOpens)),
      downstream_open_circuits(prometheus::BuildGauge()
                                   .Name(kOpenCircuits.name)
                                   .Help(kOpenCircuits.help)
                                   .Register(r)
                                   .Add({})),
      queue_commit_seconds(histogram(r, kCommitSeconds, kCommitBuckets)),
      queue_commit_errors(counter(r, kCommitErrors)),
      queue_receiving_bytes(
          prometheus::BuildGauge().Name(kReceiving.name).Help(kReceiving.help).Register(r).Add({})),
      queue_deliveries_done(counter(r, kDeliveries, {{"result", "done"}})),
      queue_deliveries_deferred(counter(r, kDeliveries, {{"result", "deferred"}})),
      queue_deliveries_expired(counter(r, kDeliveries, {{"result", "expired"}})),
      queue_deliveries_dead(counter(r, kDeliveries, {{"result", "dead"}})),
      queue_deliveries_dropped(counter(r, kDeliveries, {{"result", "dropped"}})),
      queue_dsns(counter(r, kDsns)),
      verification{counter(r, kVerification, {{"result", "valid"}, {"source", "cache"}}),
                   counter(r, kVerification, {{"result", "valid"}, {"source", "callout"}}),
                   counter(r, kVerification, {{"result", "valid"}, {"source", "list"}}),
                   counter(r, kVerification, {{"result", "unknown"}, {"source", "cache"}}),
                   counter(r, kVerification, {{"result", "unknown"}, {"source", "callout"}}),
                   counter(r, kVerification, {{"result", "unknown"}, {"source", "list"}}),
                   counter(r, kVerification, {{"result", "tempfail"}, {"source", "callout"}}),
                   common::gauge(r, kVerifyCache)} {
  for (std::size_t kind = 0; kind < dsn_destinations.size(); ++kind) {
    dsn_destinations[kind] = &counter(
        r, kDsnDestinations,
        {{"destination", std::string(to_string(static_cast<Destination::Kind>(kind)))}});
  }
}

void RelayMetrics::refresh(const DownstreamGates& gates) {
  const auto counts = gates.counts();
  downstream_open_circuits.Set(static_cast<double>(counts.open_circuits));
  downstream_circuit_opens.Increment(
      static_cast<double>(counts.circuit_opens - circuit_opens_seen_));
  circuit_opens_seen_ = counts.circuit_opens;
}

void count_failure(RelayMetrics& metrics, const boost::system::error_code& ec) {
  if (ec.category() != error_category()) {
    metrics.downstream_protocol_errors.Increment();
    return;
  }
  switch (static_cast<Error>(ec.value())) {
    case Error::connect:
      metrics.downstream_connect_errors.Increment();
      break;
    case Error::timeout:
      metrics.downstream_timeouts.Increment();
      break;
    case Error::protocol:
      metrics.downstream_protocol_errors.Increment();
      break;
    case Error::tls:
      metrics.downstream_tls_errors.Increment();
      break;
    case Error::shutdown:
      break;
    case Error::busy:
      metrics.downstream_busy.Increment();
      break;
    case Error::circuit_open:
      metrics.downstream_circuit_refusals.Increment();
      break;
  }
}

}  // namespace mxgate::relay
