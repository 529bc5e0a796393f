// RelayMetrics: count_failure() counts each relay::Error under its kind (shutdown not at all;
// an error of another category as a protocol error), and refresh() reads the circuit breakers'
// state from the gates, counting each circuit opening once however often it is called.
#include "relay/metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/error.hpp>

#include "relay/downstream.hpp"
#include "relay/gates.hpp"

namespace mxgate::relay {
namespace {

TEST(RelayMetrics, FailuresAreCountedByKind) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  for (auto e : {Error::connect, Error::timeout, Error::timeout, Error::protocol, Error::tls,
                 Error::shutdown, Error::busy, Error::circuit_open}) {
    count_failure(metrics, make_error_code(e));
  }
  count_failure(metrics, boost::asio::error::connection_reset);
  EXPECT_EQ(metrics.downstream_connect_errors.Value(), 1);
  EXPECT_EQ(metrics.downstream_timeouts.Value(), 2);
  EXPECT_EQ(metrics.downstream_protocol_errors.Value(), 2);  // protocol + connection_reset
  EXPECT_EQ(metrics.downstream_tls_errors.Value(), 1);
  EXPECT_EQ(metrics.downstream_busy.Value(), 1);
  EXPECT_EQ(metrics.downstream_circuit_refusals.Value(), 1);
}

TEST(RelayMetrics, RefreshCountsEachCircuitOpeningOnce) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  common::ManualClock clock;
  DownstreamGates gates({0, 1, std::chrono::seconds(30), std::chrono::seconds(100)}, clock);
  const conf::HostPort a{"192.0.2.1", 25}, b{"192.0.2.2", 25};
  gates.failed(a);
  gates.failed(b);
  metrics.refresh(gates);
  EXPECT_EQ(metrics.downstream_open_circuits.Value(), 2);
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 2);
  metrics.refresh(gates);  // nothing new
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 2);

  clock.advance(std::chrono::seconds(30));
  auto probe = gates.enter(a);
  ASSERT_TRUE(probe.slot.probe());
  gates.opened(a);  // the probe succeeded: a's circuit closes
  probe.slot.reset();
  metrics.refresh(gates);
  EXPECT_EQ(metrics.downstream_open_circuits.Value(), 1);
  EXPECT_EQ(metrics.downstream_circuit_opens.Value(), 2);
}

}  // namespace
}  // namespace mxgate::relay
