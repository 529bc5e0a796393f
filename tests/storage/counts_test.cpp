// Fleet mode's history counters (issue 19): the aggregator folding patches per key within its
// bound, the batch codec, and two stores whose records both become the sums of their counts.
#include "storage/counts.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <vector>

#include "storage/reputation_store.hpp"

namespace mxgate::storage {
namespace {

using reputation::Counters;

constexpr std::uint32_t kDay = 20'429;
constexpr std::int64_t kNoon = std::int64_t{kDay} * 86400 + 43200;

Counters accepted(std::uint32_t n) {
  Counters c;
  c.accepted = n;
  return c;
}

struct Entry {
  Family family;
  std::string key;
  Patch patch;
};

std::vector<Entry> entries_of(std::string_view batch) {
  std::vector<Entry> out;
  EXPECT_TRUE(decode_counts(batch, [&](Family family, std::string_view key,
                                       const Patch& patch) {
    out.push_back({family, std::string(key), patch});
  }));
  return out;
}

TEST(CountsAggregator, FoldsThePatchesOfAKeyAndEmptiesWhenTaken) {
  CountsAggregator counts(10, 30);
  EXPECT_TRUE(counts.add(Family::Ip, "k1", encode_patch(counter_patch(kDay, accepted(2), kNoon))));
  EXPECT_TRUE(
      counts.add(Family::Ip, "k1", encode_patch(counter_patch(kDay, accepted(3), kNoon + 5))));
  EXPECT_TRUE(counts.add(Family::Network, "k1",
                         encode_patch(counter_patch(kDay, accepted(1), kNoon))));
  EXPECT_EQ(counts.size(), 2u) << "the same key in another family is another key";
  auto entries = entries_of(counts.take());
  ASSERT_EQ(entries.size(), 2u);
  if (entries[0].family != Family::Ip) std::swap(entries[0], entries[1]);
  EXPECT_EQ(entries[0].key, "k1");
  ASSERT_EQ(entries[0].patch.delta.days.size(), 1u);
  EXPECT_EQ(entries[0].patch.delta.days[0].counters.accepted, 5u);
  EXPECT_EQ(entries[0].patch.delta.first_seen, kNoon);
  EXPECT_EQ(entries[0].patch.delta.last_seen, kNoon + 5);
  EXPECT_EQ(entries[1].patch.delta.days[0].counters.accepted, 1u);
  EXPECT_EQ(counts.size(), 0u);
  EXPECT_EQ(counts.take(), "");
}

TEST(CountsAggregator, BeyondItsBoundNewKeysAreDroppedButKnownOnesStillAddUp) {
  CountsAggregator counts(2, 30);
  const auto one = encode_patch(counter_patch(kDay, accepted(1), kNoon));
  EXPECT_TRUE(counts.add(Family::Ip, "a", one));
  EXPECT_TRUE(counts.add(Family::Ip, "b", one));
  EXPECT_FALSE(counts.add(Family::Ip, "c", one));
  EXPECT_TRUE(counts.add(Family::Ip, "a", one));
  EXPECT_FALSE(counts.add(Family::Ip, "a", "not a patch"));
  EXPECT_EQ(counts.dropped(), 2u);
  EXPECT_EQ(entries_of(counts.take()).size(), 2u);
  EXPECT_TRUE(counts.add(Family::Ip, "c", one)) << "room again once taken";
}

TEST(CountsCodec, MalformedBatchesAreRefused) {
  CountsAggregator counts(10, 30);
  counts.add(Family::SenderDomain, "example.org",
             encode_patch(counter_patch(kDay, accepted(1), kNoon)));
  const auto batch = counts.take();
  int seen = 0;
  const auto count = [&](Family, std::string_view, const Patch&) { ++seen; };
  EXPECT_TRUE(decode_counts(batch, count));
  EXPECT_EQ(seen, 1);
  for (std::size_t cut = 1; cut < batch.size(); ++cut) {
    EXPECT_FALSE(decode_counts(batch.substr(0, cut), count)) << cut;
  }
  EXPECT_FALSE(decode_counts(std::string("\x09\x00\x00\x00\x00", 5), count)) << "no family 9";
  // Days out of order: family 0, key "k", seen 0 and 0, two days: 5, then 5 again.
  const std::string twice("\x00\x01k\x00\x00\x02\x05\x01\x00\x00\x00\x00\x00"
                          "\x05\x01\x00\x00\x00\x00\x00", 20);
  EXPECT_FALSE(decode_counts(twice, count));
  EXPECT_FALSE(decode_counts(std::string(12, '\xff'), count)) << "a varint that never ends";
  EXPECT_EQ(seen, 1);
  // The same with the second day 6: both days.
  std::string ascending = twice;
  ascending[13] = '\x06';
  EXPECT_TRUE(decode_counts(ascending, [&](Family, std::string_view key, const Patch& patch) {
    EXPECT_EQ(key, "k");
    ASSERT_EQ(patch.delta.days.size(), 2u);
    EXPECT_EQ(patch.delta.days[1].day, 6u);
    EXPECT_EQ(patch.delta.days[1].counters.accepted, 1u);
  }));
  EXPECT_TRUE(decode_counts("", count));
}

class StoreCountsTest : public testing::Test {
 protected:
  StoreCountsTest() {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-counts-test-" + std::to_string(random()) + std::to_string(random()));
    StoreOptions options;
    options.block_cache_bytes = 8 << 20;
    for (auto* node : {&a_, &b_}) {
      *node = ReputationStore::open(dir_ / (node == &a_ ? "a" : "b"), options);
    }
    a_->set_counts_observer([this](Family f, std::string_view k, std::string_view p) {
      to_b_.add(f, k, p);
    });
    b_->set_counts_observer([this](Family f, std::string_view k, std::string_view p) {
      to_a_.add(f, k, p);
    });
  }
  ~StoreCountsTest() override {
    a_.reset();
    b_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ReputationStore> a_, b_;
  CountsAggregator to_b_{100, 30}, to_a_{100, 30};
};

TEST_F(StoreCountsTest, EachStoreHoldsTheSumOfBothAfterTheyExchangeTheirCounts) {
  ASSERT_FALSE(a_->add(Family::Ip, "ip", kDay, accepted(3), kNoon));
  Counters refused;
  refused.rejected = 2;
  refused.invalid_recipients = 2;
  ASSERT_FALSE(b_->add(Family::Ip, "ip", kDay, refused, kNoon - 3600));
  ASSERT_FALSE(b_->add(Family::Ip, "ip", kDay - 1, accepted(4), kNoon - 86400));
  EXPECT_EQ(to_b_.size(), 0u) << "told at the flush, not at add()";
  // Each has read its own record (cached) before the other's counts arrive.
  ASSERT_FALSE(a_->flush());
  ASSERT_FALSE(b_->flush());
  ASSERT_TRUE(a_->get(Family::Ip, "ip"));
  ASSERT_TRUE(b_->get(Family::Ip, "ip"));
  EXPECT_EQ(a_->apply_counts(to_a_.take()).value(), 1u);
  EXPECT_EQ(b_->apply_counts(to_b_.take()).value(), 1u);
  EXPECT_EQ(to_a_.size() + to_b_.size(), 0u) << "applied counts are not told back";
  for (auto* store : {a_.get(), b_.get()}) {
    const auto record = store->get(Family::Ip, "ip").value();
    ASSERT_EQ(record.days.size(), 2u);
    EXPECT_EQ(record.days[0].counters.accepted, 4u);
    EXPECT_EQ(record.days[1].counters.accepted, 3u);
    EXPECT_EQ(record.days[1].counters.rejected, 2u);
    EXPECT_EQ(record.days[1].counters.invalid_recipients, 2u);
    EXPECT_EQ(record.first_seen, kNoon - 86400) << "the fleet's first sighting";
    EXPECT_EQ(record.last_seen, kNoon);
  }
}

TEST_F(StoreCountsTest, AMalformedBatchWritesNothing) {
  ASSERT_FALSE(a_->add(Family::Ip, "ip", kDay, accepted(1), kNoon));
  ASSERT_FALSE(a_->flush());
  auto batch = to_b_.take();
  batch.pop_back();
  EXPECT_FALSE(b_->apply_counts(batch));
  EXPECT_FALSE(b_->get(Family::Ip, "ip"));
  // A batch that is whole but its last entry is not: nothing of it either.
  ASSERT_FALSE(a_->add(Family::Ip, "ip2", kDay, accepted(1), kNoon));
  ASSERT_FALSE(a_->flush());
  auto two = to_b_.take();
  EXPECT_FALSE(b_->apply_counts(two + std::string("\x00\x05" "ab", 4)));
  EXPECT_FALSE(b_->get(Family::Ip, "ip2"));
}

}  // namespace
}  // namespace mxgate::storage
