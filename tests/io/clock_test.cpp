#include "io/clock.hpp"
#include "io/manual_time.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace mxgate::io {
namespace {

using namespace std::chrono_literals;

TEST(IoClock, FollowsTheSteadyClockWithoutAnOverride) {
  const auto before = std::chrono::steady_clock::now();
  const auto now = Clock::now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, std::chrono::steady_clock::now());
}

TEST(IoClock, AnOverrideDrivesTimersOnItsThread) {
  common::ManualClock manual;
  ClockOverride use(manual);
  boost::asio::io_context io;
  Timer timer(io);
  bool fired = false;
  timer.expires_after(10s);
  timer.async_wait([&](boost::system::error_code ec) { fired = !ec; });
  run_due(io);
  EXPECT_FALSE(fired);
  advance(io, manual, 9s);
  EXPECT_FALSE(fired);
  advance(io, manual, 1s);
  EXPECT_TRUE(fired);
}

TEST(IoClock, TheOverrideEndsWithItsScope) {
  common::ManualClock manual;
  {
    ClockOverride use(manual);
    EXPECT_EQ(Clock::now().time_since_epoch(), std::chrono::steady_clock::duration::zero());
  }
  EXPECT_GT(Clock::now().time_since_epoch(), std::chrono::steady_clock::duration::zero());
}

}  // namespace
}  // namespace mxgate::io
