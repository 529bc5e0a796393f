// GCRA: a limit of N per period with burst B admits at most N + B in any window of one period,
// N per period sustained, and says exactly when the next event would be admitted.
#include "throttle/gcra.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace mxgate::throttle {
namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kMinute = 60 * kSecond;

// A client that tries every `step` for `duration`; returns the admitted times.
std::vector<std::int64_t> hammer(const Rate& rate, std::int64_t step, std::int64_t duration) {
  std::int64_t tat = 0;
  std::vector<std::int64_t> admitted;
  for (std::int64_t now = 1; now <= duration; now += step) {
    const auto d = gcra(tat, now, rate);
    if (d.admitted) {
      tat = d.tat_us;
      admitted.push_back(now);
    }
  }
  return admitted;
}

std::size_t most_in_any_window(const std::vector<std::int64_t>& times, std::int64_t window) {
  std::size_t most = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < times.size(); ++last) {
    while (times[last] - times[first] >= window) ++first;
    most = std::max(most, last - first + 1);
  }
  return most;
}

TEST(Gcra, AtMostNPlusBInAnyPeriodAndNSustained) {
  for (const auto& [count, burst] : {std::pair{60u, 10u}, std::pair{100u, 0u},
                                     std::pair{7u, 3u}, std::pair{1u, 5u}}) {
    const Rate rate{count, kMinute, burst};
    for (std::int64_t step : {std::int64_t{1000}, std::int64_t{137'000}, kSecond}) {
      const auto admitted = hammer(rate, step, 10 * kMinute);
      EXPECT_LE(most_in_any_window(admitted, kMinute), count + burst)
          << count << "/min burst " << burst << " step " << step;
      // Sustained: over ten minutes, ten periods' worth plus the burst at the start.
      EXPECT_LE(admitted.size(), 10 * count + burst + 1);
      if (step <= 1000) {
        EXPECT_GE(admitted.size(), 10 * count + burst - 1);
      }
    }
  }
}

TEST(Gcra, ABurstAtRestThenOnePerInterval) {
  const Rate rate{60, kMinute, 4};  // one per second, 4 more back to back
  std::int64_t tat = 0;
  const std::int64_t now = 100 * kSecond;
  for (int i = 0; i < 5; ++i) {
    const auto d = gcra(tat, now, rate);
    ASSERT_TRUE(d.admitted) << i;
    tat = d.tat_us;
  }
  const auto refused = gcra(tat, now, rate);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.tat_us, tat) << "a refusal costs nothing";
  EXPECT_EQ(refused.retry_after_us, kSecond);
  EXPECT_FALSE(gcra(tat, now + kSecond - 1, rate).admitted);
  EXPECT_TRUE(gcra(tat, now + kSecond, rate).admitted);
  EXPECT_LE(tat, now + 5 * kSecond) << "at rest again (forgettable) five seconds later";
}

}  // namespace
}  // namespace mxgate::throttle
