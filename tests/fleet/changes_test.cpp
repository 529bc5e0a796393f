// fleet::Changes against a real redis-server (tests/fleet/redis_fixture.hpp): two nodes, each
// with its own Changes; what one publishes the other applies (and the publisher does not), a
// node that starts late resyncs from the state hash, changes made while Redis is down go out
// when it is back, the oldest queued ones go beyond max_queued, the status hash, and the
// counter batches (to the other nodes, after an outage, at a stop).
#include "fleet/changes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/fleet/redis_fixture.hpp"

namespace mxgate::fleet {
namespace {

using namespace std::chrono_literals;
using testing::RedisProcess;
using testing::TempDir;

// What a node applied, collected from the fleet's thread.
class Applied {
 public:
  void add(std::string_view change) {
    std::lock_guard lock(mutex_);
    changes_.emplace_back(change);
  }
  std::vector<std::string> get() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds bound = 5s) const {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (get().size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return get().size() >= count;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> changes_;
};

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

class FleetChangesTest : public ::testing::Test {
 protected:
  FleetChangesTest()
      : port_(testing::free_port()), redis_(RedisProcess::server(dir_.path(), port_)) {}

  ChangesSettings settings(const std::string& node, std::size_t max_queued = 1000) const {
    ChangesSettings s;
    s.redis.server = RedisEndpoint::tcp("127.0.0.1", port_);
    s.redis.backoff_max = 200ms;
    s.node = node;
    s.prefix = "t";
    s.flush_interval = 100ms;
    s.max_queued = max_queued;
    return s;
  }
  std::unique_ptr<Changes> node(const std::string& name, Applied& applied,
                                std::size_t max_queued = 1000,
                                const std::function<void(Changes&)>& before_start = {}) {
    auto changes = std::make_unique<Changes>(
        settings(name, max_queued), [&applied](std::string_view c) { applied.add(c); });
    if (before_start) before_start(*changes);
    changes->start();
    // Connected and past its first resync (which applies every decision the fleet holds, this
    // node's own included: a node whose store was lost gets them back).
    EXPECT_TRUE(eventually([&] {
      const auto status = changes->status();
      return status.connected && !status.position.empty();
    }));
    return changes;
  }
  std::string cli(const std::string& command) {
    const auto line = "redis-cli -p " + std::to_string(port_) + " --raw " + command;
    std::string out;
    if (FILE* pipe = ::popen(line.c_str(), "r")) {
      char buffer[4096];
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
      ::pclose(pipe);
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<RedisProcess> redis_;
};

TEST_F(FleetChangesTest, WhatOneNodePublishesTheOthersApply) {
  Applied a_applied, b_applied;
  auto a = node("a", a_applied);
  auto b = node("b", b_applied);
  a->publish("ip:1", std::string("block\0one", 9));
  a->publish("ip:2", "block two");
  ASSERT_TRUE(b_applied.wait_for(2));
  EXPECT_EQ(b_applied.get(), (std::vector<std::string>{std::string("block\0one", 9),
                                                       "block two"}));
  EXPECT_EQ(a->status().published, 2u);
  EXPECT_EQ(cli("XLEN t:changes"), "2");
  EXPECT_EQ(cli("HLEN t:state"), "2");
  b->publish("ip:1", "clear one");  // the latest change of a field is its state
  ASSERT_TRUE(a_applied.wait_for(1));
  // Read after its own two in the stream, yet the only one it applied: its own do not come back.
  EXPECT_EQ(a_applied.get(), std::vector<std::string>{"clear one"});
  EXPECT_TRUE(eventually([&] { return cli("HGET t:state ip:1") == "clear one"; }));
  EXPECT_TRUE(eventually([&] { return cli("SMEMBERS t:nodes").find('b') != std::string::npos; }));
  EXPECT_TRUE(eventually([&] { return cli("HGET t:node:a published") == "2"; }));
}

TEST_F(FleetChangesTest, ANodeThatStartsLateResyncsFromTheState) {
  Applied a_applied, late_applied;
  auto a = node("a", a_applied);
  a->publish("ip:1", "first");
  a->publish("ip:1", "second");  // the state keeps the latest only
  a->publish("ip:2", "other");
  ASSERT_TRUE(eventually([&] { return a->status().published == 3; }));
  auto late = node("late", late_applied);
  ASSERT_TRUE(late_applied.wait_for(2));
  auto got = late_applied.get();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"other", "second"}));
  a->publish("ip:3", "after");  // then it follows the stream
  ASSERT_TRUE(late_applied.wait_for(3));
  EXPECT_EQ(late_applied.get().back(), "after");
}

TEST_F(FleetChangesTest, ChangesMadeWhileRedisIsDownGoOutWhenItIsBack) {
  Applied a_applied, b_applied;
  auto a = node("a", a_applied);
  auto b = node("b", b_applied);
  redis_->kill();
  ASSERT_TRUE(eventually([&] { return !a->status().connected; }));
  EXPECT_FALSE(a->status().redis.empty());
  a->publish("ip:1", "while down");
  EXPECT_EQ(a->status().queued, 1u);  // queued at once; nothing can take it
  redis_->start();  // the same port, empty (no persistence)
  ASSERT_TRUE(b_applied.wait_for(1, 10s));
  EXPECT_EQ(b_applied.get().back(), "while down");
  EXPECT_TRUE(eventually([&] { return a->status().queued == 0; }));
}

TEST_F(FleetChangesTest, BeyondMaxQueuedTheOldestGo) {
  Applied a_applied;
  redis_->kill();
  auto a = std::make_unique<Changes>(settings("a", 2), [&](std::string_view c) {
    a_applied.add(c);
  });
  a->start();
  a->publish("ip:1", "one");
  a->publish("ip:2", "two");
  a->publish("ip:3", "three");
  EXPECT_EQ(a->status().queued, 2u);
  redis_->start();
  ASSERT_TRUE(eventually([&] { return a->status().published == 2; }, 10s));
  EXPECT_EQ(cli("HEXISTS t:state ip:1"), "0");
  EXPECT_EQ(cli("HGET t:state ip:3"), "three");
}

// A node's counter batches: what it has to send, and what it merged of the others'.
struct Counts {
  std::mutex mutex;
  std::vector<std::string> to_send;
  Applied merged;

  void share(Changes& changes) {
    changes.share_counts(
        [this] {
          std::lock_guard lock(mutex);
          std::string out;
          for (const auto& batch : to_send) out += batch;
          to_send.clear();
          return out;
        },
        [this](std::string_view batch) -> std::size_t {
          merged.add(batch);
          return 1;
        });
  }
  void send(std::string batch) {
    std::lock_guard lock(mutex);
    to_send.push_back(std::move(batch));
  }
};

TEST_F(FleetChangesTest, CountsGoToTheOtherNodesAndWaitWhileRedisIsDown) {
  Applied a_applied, b_applied;
  Counts a_counts, b_counts;
  auto a = node("a", a_applied, 1000, [&](Changes& c) { a_counts.share(c); });
  auto b = node("b", b_applied, 1000, [&](Changes& c) { b_counts.share(c); });
  a_counts.send("first");
  ASSERT_TRUE(b_counts.merged.wait_for(1));
  EXPECT_EQ(b_counts.merged.get(), std::vector<std::string>{"first"});
  EXPECT_TRUE(a_counts.merged.get().empty()) << "its own do not come back";
  EXPECT_TRUE(a_applied.get().empty() && b_applied.get().empty()) << "counts are not changes";
  redis_->kill();
  ASSERT_TRUE(eventually([&] { return !a->status().connected; }));
  a_counts.send("while down");
  redis_->start();  // the same port, empty: the stream starts again
  ASSERT_TRUE(b_counts.merged.wait_for(2, 10s));
  EXPECT_EQ(b_counts.merged.get().back(), "while down");
}

// Redis may append a batch and die before its reply: the sender then sends the batch again,
// under the same name, and the others merge it once.
TEST_F(FleetChangesTest, ACountsBatchSentTwiceIsMergedOnce) {
  Applied b_applied;
  Counts b_counts;
  auto b = node("b", b_applied, 1000, [&](Changes& c) { b_counts.share(c); });
  ASSERT_TRUE(eventually([&] { return b->status().connected; }));
  for (const char* entry : {"batch 7.1 counts first", "batch 7.1 counts first",
                            "batch 7.2 counts second", "batch 9.1 counts restarted",
                            "counts unnamed"}) {
    cli(std::string("XADD t:counts '*' node a ") + entry);
  }
  ASSERT_TRUE(b_counts.merged.wait_for(4));
  EXPECT_EQ(b_counts.merged.get(),
            (std::vector<std::string>{"first", "second", "restarted", "unnamed"}));
}

// The events other nodes' limits admitted, as on_charges gets them.
struct Charges {
  Applied got;  // "key=events"
  void follow(Changes& changes) {
    changes.on_charges([this](std::string_view key, std::uint32_t events) {
      got.add(std::string(key) + "=" + std::to_string(events));
    });
  }
};

TEST_F(FleetChangesTest, ChargesGoToTheOtherNodes) {
  Applied a_applied, b_applied;
  Charges a_charges, b_charges;
  auto a = node("a", a_applied, 1000, [&](Changes& c) { a_charges.follow(c); });
  auto b = node("b", b_applied, 1000, [&](Changes& c) { b_charges.follow(c); });
  for (int i = 0; i < 3; ++i) a->charge("ip:192.0.2.1");
  ASSERT_TRUE(b_charges.got.wait_for(1));
  EXPECT_EQ(b_charges.got.get(), std::vector<std::string>{"ip:192.0.2.1=3"});
  EXPECT_TRUE(a_charges.got.get().empty()) << "its own do not come back";
}

// As counts batches: a charges batch that Redis appended without a reply is sent again under
// the same name, and the others count its events once.
TEST_F(FleetChangesTest, AChargesBatchSentTwiceIsCountedOnce) {
  Applied b_applied;
  Charges b_charges;
  auto b = node("b", b_applied, 1000, [&](Changes& c) { b_charges.follow(c); });
  // One key "k:1" (length 3) with the events given, as send_charges() encodes it.
  const auto add = [this](const std::string& batch, const char* events) {
    const auto line = std::string("printf '\\0\\0\\0\\003k:1\\0\\0\\0\\") + events +
                      "' | redis-cli -p " + std::to_string(port_) +
                      " -x XADD t:charges '*' node a " + batch + " charges >/dev/null";
    ASSERT_EQ(std::system(line.c_str()), 0) << line;
  };
  add("batch 7.1", "005");
  add("batch 7.1", "005");
  add("batch 7.2", "002");
  add("batch 9.1", "001");  // a again, restarted
  add("", "004");           // unnamed (an older node)
  ASSERT_TRUE(b_charges.got.wait_for(4));
  EXPECT_EQ(b_charges.got.get(), (std::vector<std::string>{"k:1=5", "k:1=2", "k:1=1", "k:1=4"}));
}

TEST_F(FleetChangesTest, ANodeStoppingSendsItsLastCounts) {
  Applied a_applied, b_applied;
  Counts a_counts, b_counts;
  auto b = node("b", b_applied, 1000, [&](Changes& c) { b_counts.share(c); });
  auto a = node("a", a_applied, 1000, [&](Changes& c) { a_counts.share(c); });
  a_counts.send("last");
  a->stop();  // at once: before its next flush_interval
  ASSERT_TRUE(b_counts.merged.wait_for(1));
  EXPECT_EQ(b_counts.merged.get(), std::vector<std::string>{"last"});
}

}  // namespace
}  // namespace mxgate::fleet
