#include "server/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mxgate::server {
namespace {

using boost::asio::ip::make_address;
using Refusal = ConnectionLimiter::Refusal;

TEST(ConnectionLimiter, RefusesBeyondPerIpCapAndFreesOnRelease) {
  ConnectionLimiter limiter;
  limiter.set_limits(100, 2);
  Refusal refusal;
  auto a = limiter.acquire(make_address("192.0.2.1"), refusal);
  auto b = limiter.acquire(make_address("192.0.2.1"), refusal);
  ASSERT_TRUE(a && b);
  auto c = limiter.acquire(make_address("192.0.2.1"), refusal);
  EXPECT_FALSE(c);
  EXPECT_EQ(refusal, Refusal::PerIp);
  auto other = limiter.acquire(make_address("2001:db8::1"), refusal);
  EXPECT_TRUE(other);
  a = {};
  auto d = limiter.acquire(make_address("192.0.2.1"), refusal);
  EXPECT_TRUE(d);
  EXPECT_EQ(limiter.active(), 3u);
}

TEST(ConnectionLimiter, CapsSessionsPerNetworkExceptExemptOnes) {
  ConnectionLimiter limiter;
  limiter.set_limits(100, 10, 2, {*common::parse_cidr("10.0.0.0/8")});
  Refusal refusal;
  auto a = limiter.acquire(make_address("192.0.2.1"), refusal);
  auto b = limiter.acquire(make_address("192.0.2.200"), refusal);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limiter.acquire(make_address("192.0.2.7"), refusal));
  EXPECT_EQ(refusal, Refusal::PerNetwork);
  EXPECT_EQ(limiter.active(), 2u) << "a refused session holds nothing";
  EXPECT_TRUE(limiter.acquire(make_address("192.0.3.1"), refusal)) << "the next /24";
  // IPv6: the /64.
  auto c = limiter.acquire(make_address("2001:db8:0:1::1"), refusal);
  auto d = limiter.acquire(make_address("2001:db8:0:1:ffff::9"), refusal);
  ASSERT_TRUE(c && d);
  EXPECT_FALSE(limiter.acquire(make_address("2001:db8:0:1::7"), refusal));
  EXPECT_TRUE(limiter.acquire(make_address("2001:db8:0:2::1"), refusal));
  // Exempt networks and a cap of 0 are not capped.
  std::vector<ConnectionLimiter::Ticket> tickets;
  for (int i = 0; i < 5; ++i) {
    tickets.push_back(limiter.acquire(make_address("10.1.1." + std::to_string(i)), refusal));
    EXPECT_TRUE(tickets.back());
  }
  b = {};
  EXPECT_TRUE(limiter.acquire(make_address("192.0.2.7"), refusal)) << "a slot was freed";
  limiter.set_limits(100, 10, 0);
  auto e = limiter.acquire(make_address("192.0.2.8"), refusal);
  auto f = limiter.acquire(make_address("192.0.2.9"), refusal);
  EXPECT_TRUE(e && f);
}

TEST(ConnectionLimiter, RefusesBeyondGlobalCap) {
  ConnectionLimiter limiter;
  limiter.set_limits(2, 2);
  Refusal refusal;
  auto a = limiter.acquire(make_address("192.0.2.1"), refusal);
  auto b = limiter.acquire(make_address("192.0.2.2"), refusal);
  auto c = limiter.acquire(make_address("192.0.2.3"), refusal);
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(c);
  EXPECT_EQ(refusal, Refusal::Global);
  EXPECT_EQ(limiter.active(), 2u);
}

TEST(ConnectionLimiter, CountsStayExactAcrossThreads) {
  ConnectionLimiter limiter;
  limiter.set_limits(1000000, 1000000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limiter, t] {
      Refusal refusal;
      for (int i = 0; i < 5000; ++i) {
        auto ticket = limiter.acquire(make_address(t % 2 ? "192.0.2.1" : "::1"), refusal);
        ASSERT_TRUE(ticket);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(limiter.active(), 0u);
}

}  // namespace
}  // namespace mxgate::server
