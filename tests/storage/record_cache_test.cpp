#include "storage/record_cache.hpp"

#include <gtest/gtest.h>

#include <string>

#include "storage/reputation_store.hpp"

namespace mxgate::storage {
namespace {

using reputation::Record;

Record record_with(std::uint32_t accepted) {
  Record record;
  record.days = {{10, {.accepted = accepted}}};
  return record;
}

TEST(RecordCache, KeepsFoundAndMissingUntilInvalidated) {
  RecordCache cache(1 << 20);
  RecordCache::Ticket ticket;
  Record out;
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
  cache.put(ticket, Family::Ip, "a", Lookup::Found, record_with(3));
  EXPECT_FALSE(cache.get(Family::Ip, "b", out, ticket));
  cache.put(ticket, Family::Ip, "b", Lookup::Missing, Record{});

  EXPECT_EQ(cache.get(Family::Ip, "a", out, ticket), Lookup::Found);
  EXPECT_EQ(out, record_with(3));
  EXPECT_EQ(cache.get(Family::Ip, "b", out, ticket), Lookup::Missing);
  EXPECT_FALSE(cache.get(Family::Network, "a", out, ticket)) << "families are separate";
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 3u);

  cache.invalidate(Family::Ip, "a");
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
  cache.clear();
  EXPECT_FALSE(cache.get(Family::Ip, "b", out, ticket));
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(RecordCache, IgnoresStatesThatAreNotAnswers) {
  RecordCache cache(1 << 20);
  RecordCache::Ticket ticket;
  Record out;
  for (Lookup state : {Lookup::NotCached, Lookup::Error}) {
    EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
    cache.put(ticket, Family::Ip, "a", state, Record{});
  }
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
}

TEST(RecordCache, ReadThatRacedWithAWriteIsNotKept) {
  RecordCache cache(1 << 20);
  RecordCache::Ticket ticket;
  Record out;
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));  // the reader's ticket
  cache.invalidate(Family::Ip, "a");                       // a write lands meanwhile
  cache.put(ticket, Family::Ip, "a", Lookup::Found, record_with(1));  // the old value
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
}

TEST(RecordCache, EvictsLeastRecentlyUsedWithinItsBytes) {
  RecordCache cache(16 * 4096);  // 16 shards of 4 KiB: a few dozen entries each
  RecordCache::Ticket ticket;
  Record out;
  constexpr int kKeys = 5000;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    cache.get(Family::Ip, key, out, ticket);
    cache.put(ticket, Family::Ip, key, Lookup::Found, record_with(i));
    // Key 0 is used all along, so it stays.
    ASSERT_EQ(cache.get(Family::Ip, "k0", out, ticket), Lookup::Found) << i;
  }
  EXPECT_LE(cache.bytes(), 16u * 4096);
  int kept = 0;
  for (int i = 1; i < kKeys; ++i) {
    kept += cache.get(Family::Ip, "k" + std::to_string(i), out, ticket).has_value();
  }
  EXPECT_GT(kept, 50);
  EXPECT_LT(kept, 1000);
  EXPECT_EQ(cache.get(Family::Ip, "k" + std::to_string(kKeys - 1), out, ticket), Lookup::Found)
      << "the newest entry stays";
}

TEST(RecordCache, ZeroCapacityCachesNothing) {
  RecordCache cache(0);
  RecordCache::Ticket ticket;
  Record out;
  cache.get(Family::Ip, "a", out, ticket);
  cache.put(ticket, Family::Ip, "a", Lookup::Found, record_with(1));
  EXPECT_FALSE(cache.get(Family::Ip, "a", out, ticket));
}

}  // namespace
}  // namespace mxgate::storage
