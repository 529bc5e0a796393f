#include "reputation/model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace mxgate::reputation {
namespace {

constexpr std::int64_t kDay = kSecondsPerDay;
constexpr std::int64_t kNow = 20000 * kDay + 3600;  // a manual clock: day 20000, 01:00 UTC

// A record first seen long ago, so first_seen_recently stays quiet unless a test wants it.
Record old_record() {
  Record r;
  r.first_seen = kNow - 400 * kDay;
  r.last_seen = kNow;
  return r;
}

Record with_today(Counters counters) {
  Record r = old_record();
  r.days.push_back(DayCounters{static_cast<std::uint32_t>(kNow / kDay), counters});
  return r;
}

std::optional<Verdict> find(const std::vector<Verdict>& verdicts, Signal signal) {
  const auto it = std::find_if(verdicts.begin(), verdicts.end(),
                               [&](const Verdict& v) { return v.signal == signal; });
  if (it == verdicts.end()) return std::nullopt;
  return *it;
}

TEST(DecayedScore, HalvesAfterEachHalfLife) {
  Record r;
  r.score = 16;
  r.score_at = kNow;
  const struct {
    std::int64_t now;
    double expected;
  } cases[] = {
      {kNow, 16},           {kNow - kDay, 16},  // never grows backwards
      {kNow + 7 * kDay, 8}, {kNow + 14 * kDay, 4}, {kNow + 28 * kDay, 1},
  };
  for (const auto& c : cases) {
    EXPECT_DOUBLE_EQ(decayed_score(r, c.now, 7), c.expected) << c.now - kNow;
  }
  EXPECT_DOUBLE_EQ(decayed_score(r, kNow + 70 * kDay, 0), 16);  // half-life 0: no decay
}

TEST(Totals, SumsOnlyTheWindowEndingToday) {
  Record r;
  const auto today = static_cast<std::uint32_t>(kNow / kDay);
  for (std::uint32_t back : {40u, 30u, 29u, 1u, 0u}) {
    r.days.push_back(DayCounters{today - back, Counters{1, 0, 0, 0, 0, 0}});
  }
  r.days.push_back(DayCounters{today + 1, Counters{100, 0, 0, 0, 0, 0}});  // clock skew: ignored
  std::sort(r.days.begin(), r.days.end(), [](auto& a, auto& b) { return a.day < b.day; });
  EXPECT_EQ(totals(r, kNow, 30).accepted, 3u);  // days -29, -1, 0
  EXPECT_EQ(totals(r, kNow, 1).accepted, 1u);
  EXPECT_EQ(totals(r, kNow, 0).accepted, 0u);
}

TEST(Assess, ComplaintRateMustBeAboveThreePerThousand) {
  const ModelSettings s;
  const struct {
    std::uint32_t accepted, complaints;
    bool fires;
  } cases[] = {
      {1000, 3, false},                  // exactly 0.3%: not above
      {1000, 4, true},  {100, 1, true},  // the minimum volume
      {99, 1, false},                    // below the minimum volume
      {0, 5, false},
  };
  for (const auto& c : cases) {
    Counters counters;
    counters.accepted = c.accepted;
    counters.complaints = c.complaints;
    const auto v = find(assess(with_today(counters), nullptr, kNow, s), Signal::ComplaintRate);
    EXPECT_EQ(v.has_value(), c.fires) << c.complaints << "/" << c.accepted;
    if (v) {
      EXPECT_EQ(v->action, Action::Continue);
      EXPECT_EQ(v->score, s.complaint_points);
    }
  }
}

TEST(Assess, RejectAndInvalidRecipientRatiosNeedVolume) {
  const ModelSettings s;
  const struct {
    Counters counters;
    bool reject_ratio, invalid;
  } cases[] = {
      {{10, 10, 0, 0, 0, 0}, false, false},  // 50% exactly: not above
      {{9, 11, 0, 0, 0, 0}, true, false},    // 55% of 20
      {{4, 6, 0, 0, 0, 0}, false, false},    // 60% but only 10
      {{45, 5, 0, 6, 0, 0}, false, true},    // 6 invalid of 50
      {{45, 5, 0, 5, 0, 0}, false, false},   // 10% exactly
      {{40, 5, 0, 6, 0, 0}, false, false},   // only 45 recipients
  };
  for (const auto& c : cases) {
    const auto verdicts = assess(with_today(c.counters), nullptr, kNow, s);
    EXPECT_EQ(find(verdicts, Signal::RejectRatio).has_value(), c.reject_ratio)
        << c.counters.rejected << " of " << c.counters.accepted + c.counters.rejected;
    EXPECT_EQ(find(verdicts, Signal::InvalidRecipients).has_value(), c.invalid)
        << c.counters.invalid_recipients;
  }
}

TEST(Assess, PoorReputationUsesTheDecayedScore) {
  Record r = old_record();
  r.score = 20;
  r.score_at = kNow - 7 * kDay;  // decayed to 10: poor
  EXPECT_TRUE(find(assess(r, nullptr, kNow, {}), Signal::ReputationPoor).has_value());
  r.score_at = kNow - 8 * kDay;  // below 10
  EXPECT_FALSE(find(assess(r, nullptr, kNow, {}), Signal::ReputationPoor).has_value());
}

TEST(Assess, ListingExpiresOnTime) {
  Record r = old_record();
  r.listing = Listing{ListingAction::Block, "spam run", "manual", kNow - kDay, kNow + 60};
  const struct {
    std::int64_t now;
    bool blocked;
  } cases[] = {{kNow, true}, {kNow + 59, true}, {kNow + 60, false}, {kNow + kDay, false}};
  for (const auto& c : cases) {
    const auto v = find(assess(r, nullptr, c.now, {}), Signal::ManualBlock);
    EXPECT_EQ(v.has_value(), c.blocked) << c.now - kNow;
    if (v) {
      EXPECT_EQ(v->action, Action::Reject);
      EXPECT_EQ(v->reason, "ip blocked by manual: spam run");
    }
  }
}

TEST(Assess, NetworkBlockAppliesUnlessTheIpIsAllowed) {
  Record network;
  network.listing = Listing{ListingAction::Block, "snowshoe /24", "admin-api", 0, 0};
  Record ip = old_record();
  const auto blocked = assess(ip, &network, kNow, {});
  ASSERT_TRUE(find(blocked, Signal::ManualBlock).has_value());
  EXPECT_EQ(find(blocked, Signal::ManualBlock)->reason,
            "network blocked by admin-api: snowshoe /24");

  ip.listing = Listing{ListingAction::Allow, "partner", "manual", 0, 0};
  const auto allowed = assess(ip, &network, kNow, {});
  EXPECT_FALSE(find(allowed, Signal::ManualBlock).has_value());
  EXPECT_EQ(find(allowed, Signal::ManualAllow)->action, Action::Accept);

  ip.listing.expires = kNow;  // the IP's allow has run out: the network block is back
  EXPECT_TRUE(find(assess(ip, &network, kNow, {}), Signal::ManualBlock).has_value());
}

TEST(Assess, NetworkAllowYieldsToAnIpBlock) {
  Record network;
  network.listing = Listing{ListingAction::Allow, "", "manual", 0, 0};
  Record ip = old_record();
  EXPECT_TRUE(find(assess(ip, &network, kNow, {}), Signal::ManualAllow).has_value());
  ip.listing = Listing{ListingAction::Block, "", "manual", 0, 0};
  const auto verdicts = assess(ip, &network, kNow, {});
  EXPECT_TRUE(find(verdicts, Signal::ManualBlock).has_value());
  EXPECT_FALSE(find(verdicts, Signal::ManualAllow).has_value());
}

TEST(Assess, FirstSeenRecentlyIsInformational) {
  const ModelSettings s;
  const struct {
    std::int64_t first_seen;
    bool fires;
  } cases[] = {
      {0, true},  // never seen
      {kNow - 29 * kDay, true},
      {kNow - 30 * kDay, false},
      {kNow - 400 * kDay, false},
  };
  for (const auto& c : cases) {
    Record r;
    r.first_seen = c.first_seen;
    const auto v = find(assess(r, nullptr, kNow, s), Signal::FirstSeenRecently);
    EXPECT_EQ(v.has_value(), c.fires) << c.first_seen;
    if (v) {
      EXPECT_EQ(v->action, Action::Continue);
      EXPECT_EQ(v->score, 0);
    }
  }
}

TEST(Assess, CleanHistoryYieldsNothing) {
  EXPECT_TRUE(assess(with_today(Counters{500, 3, 2, 1, 0, 1}), nullptr, kNow, {}).empty());
}

}  // namespace
}  // namespace mxgate::reputation
