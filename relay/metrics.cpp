#include "relay/metrics.hpp"

#include "common/metric.hpp"
#include "conf/config.hpp"
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
constexpr Name kInUse{"mxgate_downstream_connections_in_use",
                      "Downstream connections in use (handed out by a pool, not given back)"};
constexpr Name kReplays{"mxgate_relay_replays_total",
                        "Inline mode: envelopes replayed to a downstream before the content, by "
                        "result"};
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
constexpr std::string_view kOther = "other";  // past kMaxDownstreams
constexpr Name kDsns{"mxgate_queue_dsns_total", "Queue mode: delivery status notifications queued"};

// Bucket boundaries are part of the exposition (alert rules and dashboards read them).
const prometheus::Histogram::BucketBoundaries kRelayBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const prometheus::Histogram::BucketBoundaries kCommitBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                             0.025,  0.05,  0.1,    0.25,  1};

}  // namespace

RelayMetrics::RelayMetrics(prometheus::Registry& r)
    : downstream_circuit_opens(counter(r, kCircuitOpens)),
      replays_ok(counter(r, kReplays, {{"result", "ok"}})),
      replays_refused(counter(r, kReplays, {{"result", "refused"}})),
      replays_unavailable(counter(r, kReplays, {{"result", "unavailable"}})),
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
                   common::gauge(r, kVerifyCache)},
      registry_(r) {
  for (std::size_t kind = 0; kind < dsn_destinations.size(); ++kind) {
    dsn_destinations[kind] =
        &counter(r, kDsnDestinations,
                 {{"destination", std::string(to_string(static_cast<Destination::Kind>(kind)))}});
  }
}

DownstreamMetrics& RelayMetrics::downstream(std::string_view label) {
  std::lock_guard lock(mutex_);
  if (auto found = downstreams_.find(label); found != downstreams_.end()) return *found->second;
  if (downstreams_.size() >= kMaxDownstreams) label = kOther;
  if (auto found = downstreams_.find(label); found != downstreams_.end()) return *found->second;
  auto& r = registry_;
  const std::string name(label);
  auto labels = [&](const char* key, const char* value) {
    return prometheus::Labels{{"downstream", name}, {key, value}};
  };
  auto series = std::make_unique<DownstreamMetrics>(DownstreamMetrics{
      histogram(r, kRelaySeconds, kRelayBuckets, {{"downstream", name}}),
      counter(r, kErrors, labels("kind", "connect")),
      counter(r, kErrors, labels("kind", "timeout")),
      counter(r, kErrors, labels("kind", "protocol")), counter(r, kErrors, labels("kind", "tls")),
      counter(r, kErrors, labels("kind", "busy")),
      counter(r, kErrors, labels("kind", "circuit_open")),
      counter(r, kConnections, labels("origin", "opened")),
      counter(r, kConnections, labels("origin", "pool")),
      common::gauge(r, kInUse, {{"downstream", name}}),
      common::gauge(r, kOpenCircuits, {{"downstream", name}})});
  return *downstreams_.emplace(name, std::move(series)).first->second;
}

std::string RelayMetrics::label_of(const conf::Route& route, const conf::HostPort& target) {
  return route.mail_exchangers ? std::string(kMailExchangers) : target.text();
}

void RelayMetrics::name_downstreams(const conf::Config& config) {
  for (const auto& route : config.routes) {
    for (const auto& target : route.downstream) downstream(target.text());
  }
  for (const auto& target : config.reputation.quarantine_downstream) downstream(target.text());
  for (const auto& target : config.outbound.bounce_relay) downstream(target.text());
  if (config.relay.mode == conf::RelayConfig::Mode::Queue) downstream(kMailExchangers);
}

void RelayMetrics::refresh(const DownstreamGates& gates) {
  const auto counts = gates.counts();
  downstream_circuit_opens.Increment(
      static_cast<double>(counts.circuit_opens - circuit_opens_seen_));
  circuit_opens_seen_ = counts.circuit_opens;

  // A key without series of its own is a mail exchanger's: a configured downstream has its
  // series from name_downstreams() or its first connection.
  const auto open_keys = gates.open_circuits();
  std::lock_guard lock(mutex_);
  std::map<DownstreamMetrics*, double> open;
  for (const auto& key : open_keys) {
    auto found = downstreams_.find(key);
    if (found == downstreams_.end()) found = downstreams_.find(kMailExchangers);
    if (found != downstreams_.end()) open[found->second.get()] += 1;
  }
  for (auto& [label, series] : downstreams_) {
    const auto count = open.find(series.get());
    series->open_circuits.Set(count == open.end() ? 0 : count->second);
  }
}

void count_failure(DownstreamMetrics& downstream, const boost::system::error_code& ec) {
  if (ec.category() != error_category()) {
    downstream.protocol_errors.Increment();
    return;
  }
  switch (static_cast<Error>(ec.value())) {
    case Error::connect:
      downstream.connect_errors.Increment();
      break;
    case Error::timeout:
      downstream.timeouts.Increment();
      break;
    case Error::protocol:
      downstream.protocol_errors.Increment();
      break;
    case Error::tls:
      downstream.tls_errors.Increment();
      break;
    case Error::shutdown:
      break;
    case Error::busy:
      downstream.busy.Increment();
      break;
    case Error::circuit_open:
      downstream.circuit_refusals.Increment();
      break;
  }
}

}  // namespace mxgate::relay
