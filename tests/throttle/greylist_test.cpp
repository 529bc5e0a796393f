// Greylist: a first attempt waits, an early retry keeps waiting, a retry in the window passes
// and is remembered, a late one starts over, an IP with enough passes skips, the bound holds,
// and the state survives a save and load. Time is a number the tests move (microseconds).
#include "throttle/greylist.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxgate::throttle {
namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kStart = 1'700'000'000 * kSecond;

GreylistSettings settings(std::uint32_t auto_allow = 5, std::uint64_t max_entries = 1000) {
  return GreylistSettings{.min_delay_us = 5 * kMinute,
                          .max_delay_us = 12 * kHour,
                          .pass_ttl_us = 35 * kDay,
                          .auto_allow = auto_allow,
                          .max_entries = max_entries};
}

Triplet triplet(std::string_view ip, std::string_view sender = "a@example.org",
                std::string_view recipient = "bob@example.com") {
  return *make_triplet(ip, sender, recipient);
}

using R = GreylistResult;

TEST(Greylist, TripletIsTheNetworkTheSenderAndTheRecipient) {
  const auto v4 = triplet("192.0.2.77");
  EXPECT_EQ(v4.ip, "192.0.2.77");
  EXPECT_EQ(v4.network, "192.0.2.0/24");
  EXPECT_EQ(triplet("2001:db8:1:2:3::9").network, "2001:db8:1:2::/64");
  EXPECT_EQ(triplet("::ffff:192.0.2.1").network, "192.0.2.0/24");
  EXPECT_FALSE(make_triplet("not-an-ip", "a@b", "c@d"));
}

TEST(Greylist, FirstAttemptIsGreylistedAndAnEarlyRetryWaitsOn) {
  Greylist g(settings());
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart + 4 * kMinute), R::RetriedEarly);
  // The wait counts from the first attempt, not from the early retry.
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart + 5 * kMinute), R::Passed);
}

TEST(Greylist, RetryInTheWindowPassesAndIsRemembered) {
  Greylist g(settings());
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart + 20 * kMinute), R::Passed);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart + 21 * kMinute), R::Known);
  // Another host of the same /24 (a sender's pool of MTAs) shares the triplet.
  EXPECT_EQ(g.check(triplet("192.0.2.200"), kStart + 22 * kMinute), R::Known);
  // Case does not make a new triplet.
  EXPECT_EQ(
      g.check(triplet("192.0.2.7", "A@Example.ORG", "Bob@example.com"), kStart + 23 * kMinute),
      R::Known);
  // Each use renews pass_ttl: still known 34 days after the last, forgotten after 35.
  const std::int64_t last = kStart + 30 * kDay;
  EXPECT_EQ(g.check(triplet("192.0.2.7"), last), R::Known);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), last + 34 * kDay), R::Known);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), last + 34 * kDay + 35 * kDay + 1), R::Greylisted);
}

TEST(Greylist, OtherSenderRecipientOrNetworkIsAnotherTriplet) {
  Greylist g(settings());
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "b@example.org"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "a@example.org", "eve@example.com"), kStart),
            R::Greylisted);
  EXPECT_EQ(g.check(triplet("198.51.100.7"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "", "bob@example.com"), kStart), R::Greylisted)
      << "the null sender is a sender too";
  EXPECT_EQ(g.size(), 5u);
}

TEST(Greylist, RetryAfterMaxDelayStartsOver) {
  Greylist g(settings());
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  const std::int64_t late = kStart + 12 * kHour;
  EXPECT_EQ(g.check(triplet("192.0.2.7"), late), R::Greylisted);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), late + kMinute), R::RetriedEarly);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), late + 5 * kMinute), R::Passed);
}

TEST(Greylist, IpWithEnoughPassesIsAutoAllowed) {
  Greylist g(settings(/*auto_allow=*/3));
  std::int64_t now = kStart;
  for (int i = 0; i < 3; ++i) {
    const auto t = triplet("192.0.2.7", "a@example.org", "user" + std::to_string(i) + "@x.com");
    EXPECT_EQ(g.check(t, now), R::Greylisted);
    EXPECT_EQ(g.check(t, now + 6 * kMinute), R::Passed);
    now += kHour;
  }
  EXPECT_EQ(g.check(triplet("192.0.2.7", "new@example.org", "new@x.com"), now), R::AutoAllowed);
  // The IP, not its network.
  EXPECT_EQ(g.check(triplet("192.0.2.8", "new@example.org", "new@x.com"), now), R::Greylisted);
  // Remembered for pass_ttl after its last message.
  EXPECT_EQ(g.check(triplet("192.0.2.7", "z@example.org", "z@x.com"), now + 30 * kDay),
            R::AutoAllowed);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "z@example.org", "z@x.com"), now + 64 * kDay),
            R::AutoAllowed);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "y@example.org", "y@x.com"), now + 100 * kDay),
            R::Greylisted);
}

TEST(Greylist, AutoAllowZeroNeverAllows) {
  Greylist g(settings(/*auto_allow=*/0));
  for (int i = 0; i < 10; ++i) {
    const auto t = triplet("192.0.2.7", "a@example.org", "u" + std::to_string(i) + "@x.com");
    ASSERT_EQ(g.check(t, kStart), R::Greylisted);
    ASSERT_EQ(g.check(t, kStart + 6 * kMinute), R::Passed);
  }
  EXPECT_EQ(g.check(triplet("192.0.2.7", "n@example.org"), kStart + kHour), R::Greylisted);
}

TEST(Greylist, FullTableRefusesNewTripletsAndNeverGrows) {
  Greylist g(settings(/*auto_allow=*/5, /*max_entries=*/3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(g.check(triplet("192.0.2.7", "s" + std::to_string(i) + "@a.org"), kStart),
              R::Greylisted);
  }
  EXPECT_EQ(g.check(triplet("192.0.2.7", "s9@a.org"), kStart), R::Full);
  EXPECT_EQ(g.check(triplet("192.0.2.7", "s9@a.org"), kStart + 6 * kMinute), R::Full)
      << "a refused triplet was not remembered";
  EXPECT_EQ(g.size(), 3u);
  // Known triplets go on: a retry of a kept one passes (the IP's count waits for room).
  EXPECT_EQ(g.check(triplet("192.0.2.7", "s0@a.org"), kStart + 6 * kMinute), R::Passed);
  EXPECT_EQ(g.size(), 3u);
  // Once the waiting ones expire, there is room again.
  const std::int64_t later = kStart + 13 * kHour;
  EXPECT_EQ(g.check(triplet("192.0.2.7", "s9@a.org"), later), R::Greylisted);
  g.sweep(later);
  EXPECT_EQ(g.size(), 2u) << "the passed triplet and the new one";
}

TEST(Greylist, SavedStateLoadsBack) {
  Greylist g(settings(/*auto_allow=*/1));
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("198.51.100.1"), kStart), R::Greylisted);
  EXPECT_EQ(g.check(triplet("198.51.100.1"), kStart + 6 * kMinute), R::Passed);
  const auto saved = g.save(kStart + 7 * kMinute);
  EXPECT_EQ(saved.size(), 3u) << "two triplets and one IP";

  Greylist restarted(settings(/*auto_allow=*/1));
  for (const auto& [key, value] : saved) {
    EXPECT_TRUE(restarted.load(key, value, kStart + 8 * kMinute)) << key;
  }
  EXPECT_FALSE(restarted.load("L|x|y", saved[0].second, kStart)) << "not a greylist key";
  EXPECT_FALSE(restarted.load(saved[0].first, "G", kStart)) << "truncated";
  EXPECT_EQ(restarted.check(triplet("192.0.2.7"), kStart + 8 * kMinute), R::Passed)
      << "the wait before the restart counts";
  EXPECT_EQ(restarted.check(triplet("198.51.100.1", "x@y.org"), kStart + 8 * kMinute),
            R::AutoAllowed);
  // Entries expired by the time of the load are skipped.
  Greylist late(settings());
  std::size_t kept = 0;
  for (const auto& [key, value] : saved) kept += late.load(key, value, kStart + 13 * kHour);
  EXPECT_EQ(kept, 2u) << "the waiting triplet expired after max_delay";
}

TEST(Greylist, ConfigureChangesTheDelays) {
  Greylist g(settings());
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart), R::Greylisted);
  auto shorter = settings();
  shorter.min_delay_us = kSecond;
  g.configure(shorter);
  EXPECT_EQ(g.check(triplet("192.0.2.7"), kStart + 2 * kSecond), R::Passed);
}

}  // namespace
}  // namespace mxgate::throttle
