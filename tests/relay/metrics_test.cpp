// RelayMetrics: count_failure() counts each relay::Error under its kind (shutdown not at all;
// an error of another category as a protocol error); every downstream the configuration names
// has its series at 0 from the start, mail exchangers share "mx", and the labels stop growing at
// kMaxDownstreams; refresh() reads the circuit breakers' state from the gates, per downstream,
// counting each circuit opening once however often it is called; a GaugeToken counts a
// connection in use once.
#include "relay/metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/error.hpp>
#include <string>

#include "common/metric.hpp"
#include "conf/config.hpp"
#include "relay/downstream.hpp"
#include "relay/gates.hpp"

namespace mxgate::relay {
namespace {

std::string exposition(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(RelayMetrics, FailuresAreCountedByKind) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  auto& series = metrics.downstream("192.0.2.1:25");
  for (auto e : {Error::connect, Error::timeout, Error::timeout, Error::protocol, Error::tls,
                 Error::shutdown, Error::busy, Error::circuit_open}) {
    count_failure(series, make_error_code(e));
  }
  count_failure(series, boost::asio::error::connection_reset);
  EXPECT_EQ(series.connect_errors.Value(), 1);
  EXPECT_EQ(series.timeouts.Value(), 2);
  EXPECT_EQ(series.protocol_errors.Value(), 2);  // protocol + connection_reset
  EXPECT_EQ(series.tls_errors.Value(), 1);
  EXPECT_EQ(series.busy.Value(), 1);
  EXPECT_EQ(series.circuit_refusals.Value(), 1);
  EXPECT_EQ(metrics.downstream("192.0.2.2:25").connect_errors.Value(), 0);  // another one
  EXPECT_NE(exposition(registry).find(
                R"(mxgate_downstream_errors_total{downstream="192.0.2.1:25",kind="timeout"} 2)"),
            std::string::npos);
}

TEST(RelayMetrics, EveryConfiguredDownstreamHasItsSeriesFromTheStart) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  conf::Config config;
  config.routes.push_back({{"example.com"}, {{"10.0.0.1", 25}, {"::1", 2525}}});
  config.reputation.quarantine_downstream = {{"10.0.0.9", 25}};
  config.outbound.bounce_relay = {{"smarthost.example", 587}};
  config.relay.mode = conf::RelayConfig::Mode::Queue;
  metrics.name_downstreams(config);
  const std::string text = exposition(registry);
  for (const char* label :
       {"10.0.0.1:25", "[::1]:2525", "10.0.0.9:25", "smarthost.example:587", "mx"}) {
    const std::string series = std::string(R"(mxgate_downstream_errors_total{downstream=")") +
                               label + R"(",kind="connect"} 0)";
    EXPECT_NE(text.find(series), std::string::npos) << series;
  }
  EXPECT_NE(text.find(R"(mxgate_relay_duration_seconds_count{downstream="10.0.0.1:25"} 0)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(mxgate_downstream_connections_in_use{downstream="10.0.0.1:25"} 0)"),
            std::string::npos);
  for (const char* result : {"ok", "refused", "unavailable"}) {
    const std::string series =
        std::string(R"(mxgate_relay_replays_total{result=")") + result + R"("} 0)";
    EXPECT_NE(text.find(series), std::string::npos) << series;
  }
}

TEST(RelayMetrics, AGaugeTokenCountsWhileItIsHeld) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  auto& in_use = metrics.downstream("192.0.2.1:25").in_use;
  {
    common::GaugeToken first;
    first.hold(in_use);
    common::GaugeToken second;
    second.hold(in_use);
    EXPECT_EQ(in_use.Value(), 2);
    second.reset();
    second.reset();  // once only
    EXPECT_EQ(in_use.Value(), 1);
    common::GaugeToken moved = std::move(first);
    EXPECT_EQ(in_use.Value(), 1);
  }
  EXPECT_EQ(in_use.Value(), 0);
}

TEST(RelayMetrics, MailExchangersShareOneLabel) {
  conf::Route configured{{"example.com"}, {{"10.0.0.1", 25}}};
  conf::Route looked_up{{"sender.example"}, {{"192.0.2.25", 25}}};
  looked_up.mail_exchangers = true;
  EXPECT_EQ(RelayMetrics::label_of(configured, configured.downstream[0]), "10.0.0.1:25");
  EXPECT_EQ(RelayMetrics::label_of(looked_up, looked_up.downstream[0]), "mx");
}

TEST(RelayMetrics, LabelsStopGrowingAtTheCap) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  for (std::size_t i = 0; i < RelayMetrics::kMaxDownstreams; ++i) {
    metrics.downstream("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":25");
  }
  auto& first_over = metrics.downstream("192.0.2.1:25");
  auto& second_over = metrics.downstream("192.0.2.2:25");
  EXPECT_EQ(&first_over, &second_over);
  const std::string text = exposition(registry);
  EXPECT_NE(text.find(R"(downstream="other")"), std::string::npos);
  EXPECT_EQ(text.find(R"(downstream="192.0.2.1:25")"), std::string::npos);
  EXPECT_EQ(&metrics.downstream("10.0.0.0:25"), &metrics.downstream("10.0.0.0:25"));
}

TEST(RelayMetrics, RefreshCountsEachCircuitOpeningOnceAndShowsWhichIsOpen) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  common::ManualClock clock;
  DownstreamGates gates({0, 1, std::chrono::seconds(30), std::chrono::seconds(100)}, clock);
  const conf::HostPort a{"192.0.2.1", 25}, b{"192.0.2.2", 25}, mx1{"198.51.100.1", 25},
      mx2{"198.51.100.2", 25};
  auto& series_a = metrics.downstream(a.text());
  auto& series_b = metrics.downstream(b.text());
  auto& series_mx = metrics.downstream(RelayMetrics::kMailExchangers);
  for (const auto& target : {a, b, mx1, mx2}) gates.failed(target);
  metrics.refresh(gates);
  EXPECT_EQ(series_a.open_circuits.Value(), 1);
  EXPECT_EQ(series_b.open_circuits.Value(), 1);
  EXPECT_EQ(series_mx.open_circuits.Value(), 2);  // exchangers have no label of their own
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 4);
  metrics.refresh(gates);  // nothing new
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 4);

  clock.advance(std::chrono::seconds(30));
  auto probe = gates.enter(a);
  ASSERT_TRUE(probe.slot.probe());
  gates.opened(a);  // the probe succeeded: a's circuit closes
  probe.slot.reset();
  metrics.refresh(gates);
  EXPECT_EQ(series_a.open_circuits.Value(), 0);
  EXPECT_EQ(series_b.open_circuits.Value(), 1);
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 4);
}

}  // namespace
}  // namespace mxgate::relay
