#include "storage/merge.hpp"

#include <gtest/gtest.h>

namespace mxgate::storage {
namespace {

using reputation::Counters;
using reputation::DayCounters;
using reputation::ListingAction;
using reputation::Record;

Counters accepted(std::uint32_t n) { return Counters{.accepted = n}; }

TEST(MergePatch, EncodingRoundTrips) {
  Patch patch = listing_patch({ListingAction::Allow, "partner", "admin-api", 10, 0});
  combine_patches(patch, counter_patch(5, accepted(2), 100), kDefaultHistoryDays);
  const auto decoded = decode_patch(encode_patch(patch));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->sets_listing);
  EXPECT_FALSE(decoded->sets_score);
  EXPECT_EQ(decoded->delta, patch.delta);
  EXPECT_FALSE(decode_patch(""));
  EXPECT_FALSE(decode_patch("\x80garbage"));
}

TEST(MergePatch, CountersAddPerDayAndCreateDays) {
  Record r;
  apply_patch(r, counter_patch(10, accepted(1), 1000), 30);
  apply_patch(r, counter_patch(10, Counters{.rejected = 2}, 1001), 30);
  apply_patch(r, counter_patch(8, accepted(3), 900), 30);
  ASSERT_EQ(r.days.size(), 2u);
  EXPECT_EQ(r.days[0], (DayCounters{8, accepted(3)}));
  EXPECT_EQ(r.days[1], (DayCounters{10, Counters{.accepted = 1, .rejected = 2}}));
  EXPECT_EQ(r.first_seen, 900);
  EXPECT_EQ(r.last_seen, 1001);
}

TEST(MergePatch, DayWindowRollsForward) {
  Record r;
  apply_patch(r, counter_patch(6, accepted(1), 1), 3);
  apply_patch(r, counter_patch(8, accepted(1), 2), 3);
  ASSERT_EQ(r.days.size(), 2u);
  apply_patch(r, counter_patch(10, accepted(1), 3), 3);  // keeps days 8..10: day 6 goes
  ASSERT_EQ(r.days.size(), 2u);
  EXPECT_EQ(r.days[0].day, 8u);
  EXPECT_EQ(r.days[1].day, 10u);
  apply_patch(r, counter_patch(7, accepted(1), 4), 3);  // too old on arrival: dropped
  EXPECT_EQ(r.days.size(), 2u);
}

TEST(MergePatch, ListingAndScoreReplaceCountersStay) {
  Record r;
  apply_patch(r, counter_patch(1, accepted(1), 5), 30);
  apply_patch(r, listing_patch({ListingAction::Block, "spam", "manual", 5, 0}), 30);
  apply_patch(r, score_patch(7.5, 6), 30);
  apply_patch(r, listing_patch({}), 30);
  EXPECT_EQ(r.listing.action, ListingAction::None);
  EXPECT_EQ(r.score, 7.5);
  EXPECT_EQ(r.score_at, 6);
  ASSERT_EQ(r.days.size(), 1u);
  EXPECT_EQ(r.first_seen, 5);
}

TEST(MergePatch, CombiningEqualsApplyingInOrder) {
  const Patch patches[] = {counter_patch(3, accepted(1), 50),
                           listing_patch({ListingAction::Block, "a", "m", 1, 0}),
                           counter_patch(4, Counters{.complaints = 1}, 40),
                           score_patch(1.5, 60),
                           listing_patch({ListingAction::Allow, "b", "m", 2, 0}),
                           counter_patch(3, accepted(5), 70)};
  Record sequential;
  Record base;
  base.days = {{2, accepted(9)}};
  sequential = base;
  for (const Patch& p : patches) apply_patch(sequential, p, 30);
  Patch left = patches[0];
  for (int i = 1; i < 3; ++i) combine_patches(left, patches[i], 30);
  Patch right = patches[3];
  for (int i = 4; i < 6; ++i) combine_patches(right, patches[i], 30);
  combine_patches(left, right, 30);
  Record combined = base;
  apply_patch(combined, left, 30);
  EXPECT_EQ(combined, sequential);
  EXPECT_EQ(combined.listing.reason, "b");
  EXPECT_EQ(combined.first_seen, 40);
  EXPECT_EQ(combined.last_seen, 70);
}

TEST(MergePatch, CountersSaturate) {
  Record r;
  apply_patch(r, counter_patch(1, accepted(4'000'000'000u), 1), 30);
  apply_patch(r, counter_patch(1, accepted(4'000'000'000u), 1), 30);
  EXPECT_EQ(r.days[0].counters.accepted, 4'294'967'295u);
}

}  // namespace
}  // namespace mxgate::storage
