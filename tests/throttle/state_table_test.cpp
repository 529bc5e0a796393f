// StateTable: values by key with expiry, bounded with sampled-LRU eviction, exact under
// concurrent updates, and a snapshot that restores.
#include "throttle/state_table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace mxgate::throttle {
namespace {

// Adds 1 to value.a; the entry lives `ttl` from now.
std::int64_t bump(StateTable& table, const std::string& key, std::int64_t now,
                  std::int64_t ttl = 1000) {
  return table.update(key, now, [&](Value& value, bool) {
    ++value.a;
    return std::pair{now + ttl, value.a};
  });
}

TEST(StateTable, UpdatesExpireAndErase) {
  StateTable table(1000);
  EXPECT_EQ(bump(table, "k", 10), 1);
  EXPECT_EQ(bump(table, "k", 20), 2);
  EXPECT_EQ(table.get("k", 20)->a, 2);
  EXPECT_FALSE(table.get("k", 1020)) << "expired at 20 + 1000";
  EXPECT_EQ(bump(table, "k", 1020), 1) << "an expired entry starts fresh";
  const bool was_fresh = table.update("k", 1030, [](Value&, bool fresh) {
    return std::pair{std::int64_t{0}, fresh};  // an expiry in the past erases
  });
  EXPECT_FALSE(was_fresh);
  EXPECT_EQ(table.size(), 0u);
  table.update("never", 5, [](Value&, bool) { return std::pair{std::int64_t{5}, 0}; });
  EXPECT_EQ(table.size(), 0u) << "nothing is stored for an entry already at rest";
}

TEST(StateTable, BoundedKeepingTheRecentlyUsed) {
  StateTable table(64 * 10);  // 10 per stripe
  std::int64_t now = 1;
  for (int i = 0; i < 20000; ++i) {
    bump(table, "hot", ++now, 1'000'000);  // used all the time
    bump(table, "cold" + std::to_string(i), ++now, 1'000'000);
    EXPECT_LE(table.size(), table.max_keys());
  }
  EXPECT_GT(table.evictions(), 19000u);
  EXPECT_EQ(table.get("hot", now)->a, 20000) << "the sampled LRU never chose the busiest key";
  EXPECT_TRUE(table.get("cold19999", now));
  // Expired entries go first, before anything live is evicted.
  StateTable small(64 * 8);  // 8 per stripe
  for (int i = 0; i < 5000; ++i) bump(small, "short" + std::to_string(i), 100, 10);
  const auto before = small.evictions();
  for (int i = 0; i < 32; ++i) bump(small, "x" + std::to_string(i), 200, 1000);
  EXPECT_EQ(small.evictions(), before);
  small.sweep(2000);
  EXPECT_EQ(small.size(), 0u);
}

TEST(StateTable, ExactUnderConcurrentUpdates) {
  StateTable table(100000);
  auto work = [&] {
    for (int i = 0; i < 20000; ++i) bump(table, "k" + std::to_string(i % 100), 1, 1'000'000);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(table.get("k" + std::to_string(i), 1)->a, 400);
}

TEST(StateTable, SnapshotRestores) {
  StateTable table(1000);
  bump(table, "a", 10, 100);
  bump(table, "b", 10, 5);
  table.update("c", 10, [](Value& v, bool) {
    v = Value{7, 8, 0.5};
    return std::pair{std::int64_t{1000}, 0};
  });
  EXPECT_EQ(table.snapshot(12).size(), 3u);
  EXPECT_EQ(table.snapshot(16).size(), 2u) << "b expired at 10 + 5";
  StateTable restored(1000);
  restored.restore(table.snapshot(16), 16);
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored.get("c", 16), (Value{7, 8, 0.5}));
  EXPECT_FALSE(restored.get("b", 16));
}

}  // namespace
}  // namespace mxgate::throttle
