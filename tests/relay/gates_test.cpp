// DownstreamGates: the connection limit per downstream (slots come back when a slot is
// destroyed), and the circuit breaker (opens after N consecutive failures, fails fast, lets
// one probe through after the cooldown, doubles the cooldown when the probe fails, closes on
// success). A manual clock; no I/O.
#include "relay/gates.hpp"

#include <gtest/gtest.h>

namespace mxgate::relay {
namespace {

using Refusal = DownstreamGates::Refusal;
using std::chrono::seconds;

const conf::HostPort kA{"192.0.2.1", 25};
const conf::HostPort kB{"192.0.2.2", 25};

DownstreamGates::Settings settings(std::uint32_t max_connections, std::uint32_t failures) {
  return {max_connections, failures, seconds(30), seconds(100)};
}

TEST(DownstreamGates, ConnectionsInUseAreLimitedPerDownstream) {
  common::ManualClock clock;
  DownstreamGates gates(settings(2, 0), clock);
  auto first = gates.enter(kA);
  auto second = gates.enter(kA);
  ASSERT_EQ(first.refusal, Refusal::None);
  ASSERT_EQ(second.refusal, Refusal::None);
  EXPECT_TRUE(first.slot);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::Full);
  EXPECT_EQ(gates.enter(kB).refusal, Refusal::None);  // another downstream has its own
  first.slot.reset();
  auto third = gates.enter(kA);
  EXPECT_EQ(third.refusal, Refusal::None);
  GateSlot moved = std::move(third.slot);  // a moved slot is given back once, by its owner
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::Full);
  moved = GateSlot();
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::None);
}

// DSNs go to any mail exchanger on the Internet: a downstream neither in use nor failing is
// forgotten, and failing ones are forgotten past the cap unless their circuit is open.
TEST(DownstreamGates, OnlyDownstreamsInUseOrFailingAreRemembered) {
  common::ManualClock clock;
  DownstreamGates gates(settings(2, 3), clock);
  {
    auto entry = gates.enter(kA);
    EXPECT_EQ(gates.counts().tracked, 1u);
  }
  EXPECT_EQ(gates.counts().tracked, 0u);
  for (int i = 0; i < 3; ++i) gates.failed(kA);  // open
  gates.failed(kB);
  EXPECT_EQ(gates.counts().tracked, 2u);
  for (std::uint16_t port = 1; port < 10'000; ++port) gates.failed({"192.0.2.9", port});
  EXPECT_LE(gates.counts().tracked, 4096u);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);  // kept: its circuit is open
  gates.opened(kB);
  gates.opened({"192.0.2.9", 9'999});
  EXPECT_EQ(gates.counts().open_circuits, 1u);
}

TEST(DownstreamGates, NoLimitWhenMaxConnectionsIsZero) {
  common::ManualClock clock;
  DownstreamGates gates(settings(0, 0), clock);
  std::vector<GateSlot> slots;
  for (int i = 0; i < 1000; ++i) {
    auto entry = gates.enter(kA);
    ASSERT_EQ(entry.refusal, Refusal::None);
    slots.push_back(std::move(entry.slot));
  }
}

TEST(DownstreamGates, TheCircuitOpensFailsFastProbesAndCloses) {
  common::ManualClock clock;
  DownstreamGates gates(settings(0, 3), clock);
  for (int i = 0; i < 2; ++i) gates.failed(kA);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::None);  // two failures: still closed
  gates.opened(kA);                                   // a success resets the count
  for (int i = 0; i < 2; ++i) gates.failed(kA);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::None);
  gates.failed(kA);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);
  EXPECT_EQ(gates.enter(kB).refusal, Refusal::None);
  EXPECT_EQ(gates.counts().open_circuits, 1u);
  EXPECT_EQ(gates.counts().circuit_opens, 1u);

  clock.advance(seconds(29));
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);
  clock.advance(seconds(1));
  auto probe = gates.enter(kA);
  ASSERT_EQ(probe.refusal, Refusal::None);
  EXPECT_TRUE(probe.slot.probe());
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);  // one probe at a time
  gates.failed(kA);                                          // the probe failed: 60 s now
  probe.slot.reset();
  EXPECT_EQ(gates.counts().circuit_opens, 2u);
  clock.advance(seconds(59));
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);
  clock.advance(seconds(1));
  probe = gates.enter(kA);
  ASSERT_TRUE(probe.slot.probe());
  gates.failed(kA);  // 120 s would exceed the maximum: 100 s
  probe.slot.reset();
  clock.advance(seconds(99));
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::CircuitOpen);
  clock.advance(seconds(1));
  probe = gates.enter(kA);
  ASSERT_TRUE(probe.slot.probe());
  gates.opened(kA);
  probe.slot.reset();
  EXPECT_EQ(gates.counts().open_circuits, 0u);
  auto after = gates.enter(kA);
  EXPECT_EQ(after.refusal, Refusal::None);
  EXPECT_FALSE(after.slot.probe());

  for (int i = 0; i < 3; ++i) gates.failed(kA);  // reopened: the cooldown starts over at 30 s
  clock.advance(seconds(30));
  EXPECT_TRUE(gates.enter(kA).slot.probe());
}

TEST(DownstreamGates, AProbeGivenUpLetsTheNextCallerProbe) {
  common::ManualClock clock;
  DownstreamGates gates(settings(0, 1), clock);
  gates.failed(kA);
  clock.advance(seconds(30));
  {
    auto probe = gates.enter(kA);
    ASSERT_TRUE(probe.slot.probe());
  }  // dropped without an outcome (shutdown, say)
  EXPECT_TRUE(gates.enter(kA).slot.probe());
}

TEST(DownstreamGates, ZeroFailuresTurnsTheBreakerOff) {
  common::ManualClock clock;
  DownstreamGates gates(settings(0, 0), clock);
  for (int i = 0; i < 100; ++i) gates.failed(kA);
  EXPECT_EQ(gates.enter(kA).refusal, Refusal::None);
}

}  // namespace
}  // namespace mxgate::relay
