// fleet::RedisLink against real redis-server and redis-sentinel processes: reconnecting after a
// restart, and following a Sentinel fail-over (one master, one replica, one Sentinel).
#include "fleet/redis_link.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/fleet/redis_fixture.hpp"

namespace mxgate::fleet {
namespace {

namespace asio = boost::asio;
using boost::system::result;
using testing::RedisProcess;
using testing::run_bounded;
using testing::run_until;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

asio::awaitable<result<RedisReply>> send(RedisLink& link, std::vector<std::string> args) {
  co_return co_await link.command(std::move(args), 2s);
}

RedisLinkSettings direct(std::uint16_t port) {
  RedisLinkSettings settings;
  settings.server = RedisEndpoint::tcp("127.0.0.1", port);
  return settings;
}

// Stops the link and lets its keeper finish before the io_context goes.
struct LinkRunner {
  LinkRunner(asio::io_context& io, RedisLinkSettings settings)
      : io_(io), link(io.get_executor(), std::move(settings)) {
    link.on_change([this](bool connected, const std::string& status) {
      changes.push_back((connected ? "up " : "down ") + status);
    });
    link.start();
  }
  ~LinkRunner() {
    link.stop();
    io_.restart();
    io_.run_for(200ms);
  }
  asio::io_context& io_;
  RedisLink link;
  std::vector<std::string> changes;
};

TEST(RedisLink, FailsFastWhileDownAndReconnectsAfterARestart) {
  testing::TempDir dir;
  const auto port = testing::free_port();
  auto server = RedisProcess::server(dir.path(), port);
  asio::io_context io;
  LinkRunner runner(io, direct(port));
  auto& link = runner.link;
  ASSERT_TRUE(run_until(
      io, [&] { return link.connected(); }, 5s))
      << link.status();
  EXPECT_EQ(link.status(), "redis 127.0.0.1:" + std::to_string(port) + ": connected");
  auto set = run_bounded(io, send(link, {"SET", "k", "1"}));
  ASSERT_TRUE(set && *set);

  server->kill();
  ASSERT_TRUE(run_until(
      io, [&] { return !link.connected(); }, 5s));
  auto down = run_bounded(io, send(link, {"GET", "k"}));
  ASSERT_TRUE(down);
  ASSERT_FALSE(*down);
  EXPECT_EQ(down->error(), make_error_code(Error::not_connected));
  // Answered while there is no server to connect to: it did not wait for a connection.
  EXPECT_FALSE(link.connected());
  EXPECT_TRUE(link.status().starts_with("redis 127.0.0.1:" + std::to_string(port) + ": "))
      << link.status();

  // Let it fail a few times (the backoff grows), then bring the server back on the same port.
  ASSERT_TRUE(run_until(
      io, [&] { return link.status().ends_with("connection refused"); }, 5s))
      << link.status();
  server->start();
  ASSERT_TRUE(run_until(
      io, [&] { return link.connected(); }, 10s))
      << link.status();
  auto again = run_bounded(io, send(link, {"SET", "k", "2"}));
  ASSERT_TRUE(again && *again) << link.status();
  EXPECT_EQ((*again)->text, "OK");
  ASSERT_GE(runner.changes.size(), 3u);
  EXPECT_TRUE(runner.changes.front().starts_with("up "));
  EXPECT_TRUE(runner.changes.back().starts_with("up "));
}

TEST(RedisLink, WrongPasswordIsReportedAndRetried) {
  testing::TempDir dir;
  const auto port = testing::free_port();
  auto server = RedisProcess::server(dir.path(), port, {"--requirepass", "right"});
  asio::io_context io;
  auto settings = direct(port);
  settings.password = "wrong";
  LinkRunner runner(io, settings);
  ASSERT_TRUE(run_until(
      io, [&] { return runner.link.status().find("WRONGPASS") != std::string::npos; }, 5s))
      << runner.link.status();
  EXPECT_FALSE(runner.link.connected());
}

// One master, one replica and one Sentinel watching them as "m".
class SentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_port_ = testing::free_port();
    replica_port_ = testing::free_port();
    sentinel_port_ = testing::free_port();
    // Without the delay the replica's first full sync starts at once instead of after 5 s.
    master_ = RedisProcess::server(dir_.path(), master_port_, {"--repl-diskless-sync-delay", "0"});
    replica_ = RedisProcess::server(dir_.path(), replica_port_,
                                    {"--replicaof", "127.0.0.1", std::to_string(master_port_)});
    // The Sentinel learns of replicas from the master's INFO (every 10 s once it runs): start it
    // only once the replica is attached, so that its first INFO shows it.
    ASSERT_TRUE(run_until(
        io_, [&] { return *run_bounded(io_, replica_in_sync()); }, 10s));
    const auto config = dir_.path() / "sentinel.conf";  // Sentinel rewrites it
    std::ofstream(config) << "port " << sentinel_port_ << "\nbind 127.0.0.1\n"
                          << "dir " << dir_.path().string() << "\n"
                          << "logfile " << (dir_.path() / "sentinel.log").string() << "\n"
                          << "sentinel monitor m 127.0.0.1 " << master_port_ << " 1\n"
                          << "sentinel down-after-milliseconds m 500\n"
                          << "sentinel failover-timeout m 2000\n";
    sentinel_ = std::make_unique<RedisProcess>(
        "redis-sentinel", std::vector<std::string>{config.string()}, sentinel_port_);
  }

  asio::awaitable<bool> replica_in_sync() {
    RedisConnection probe(co_await asio::this_coro::executor);
    if (co_await probe.open(RedisEndpoint::tcp("127.0.0.1", replica_port_), 2s, std::string{})) {
      co_return false;
    }
    std::vector<std::string> args{"INFO", "replication"};
    auto info = co_await probe.command(std::move(args), 2s);
    co_return info && info->text.find("master_link_status:up") != std::string::npos;
  }

  // What the Sentinel says about m: how many replicas it knows, and the master's port.
  asio::awaitable<long long> sentinel_count(std::string what) {
    RedisConnection probe(co_await asio::this_coro::executor);
    if (co_await probe.open(RedisEndpoint::tcp("127.0.0.1", sentinel_port_), 2s, std::string{})) {
      co_return -1;
    }
    if (what == "replicas") {
      std::vector<std::string> args{"SENTINEL", "replicas", "m"};
      auto reply = co_await probe.command(std::move(args), 2s);
      co_return reply && reply->is_array() ? static_cast<long long>(reply->elements.size()) : -1;
    }
    std::vector<std::string> args{"SENTINEL", "get-master-addr-by-name", "m"};
    auto reply = co_await probe.command(std::move(args), 2s);
    if (!reply || !reply->is_array() || reply->elements.size() != 2) co_return -1;
    co_return std::stoll(reply->elements[1].text);
  }

  // One command to one server, on a connection of its own.
  static asio::awaitable<result<RedisReply>> tell(std::uint16_t port,
                                                  std::vector<std::string> args) {
    RedisConnection connection(co_await asio::this_coro::executor);
    if (const auto ec =
            co_await connection.open(RedisEndpoint::tcp("127.0.0.1", port), 2s, std::string{})) {
      co_return ec;
    }
    co_return co_await connection.command(std::move(args), 2s);
  }

  RedisLinkSettings through_sentinel() const {
    RedisLinkSettings settings;
    settings.sentinels = {RedisEndpoint::tcp("127.0.0.1", sentinel_port_)};
    settings.master_name = "m";
    return settings;
  }

  testing::TempDir dir_;
  std::uint16_t master_port_ = 0, replica_port_ = 0, sentinel_port_ = 0;
  std::unique_ptr<RedisProcess> master_, replica_, sentinel_;
  asio::io_context io_;
};

TEST_F(SentinelTest, FollowsAFailOver) {
  RedisLinkSettings settings;
  settings.sentinels = {RedisEndpoint::tcp("127.0.0.1", testing::free_port()),  // a dead one first
                        RedisEndpoint::tcp("127.0.0.1", sentinel_port_)};
  settings.master_name = "m";
  LinkRunner runner(io_, settings);
  auto& link = runner.link;
  ASSERT_TRUE(run_until(
      io_, [&] { return link.connected(); }, 5s))
      << link.status();
  ASSERT_TRUE(link.master());
  EXPECT_EQ(link.master()->port, master_port_);
  auto before = run_bounded(io_, send(link, {"SET", "where", "old master"}));
  ASSERT_TRUE(before && *before);
  EXPECT_EQ((*before)->text, "OK");

  // The Sentinel can only promote a replica it knows of.
  ASSERT_TRUE(run_until(
      io_, [&] { return *run_bounded(io_, sentinel_count("replicas")) == 1; }, 10s));
  const auto killed = SteadyClock::now();
  master_->kill();
  ASSERT_TRUE(run_until(
      io_, [&] { return !link.connected(); }, 5s));

  // The Sentinel switches (about a second after the 500 ms down-after), then the link follows.
  std::optional<SteadyClock::time_point> switched;
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        if (!switched && *run_bounded(io_, sentinel_count("master")) == replica_port_) {
          switched = SteadyClock::now();
        }
        return switched && link.connected();
      },
      10s))
      << link.status();
  const auto followed = SteadyClock::now();
  EXPECT_EQ(link.master()->port, replica_port_);
  auto after = run_bounded(io_, send(link, {"SET", "where", "new master"}));
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->text, "OK") << (*after)->debug_text();
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto lag = duration_cast<milliseconds>(followed - *switched).count();
  RecordProperty("switch_ms",
                 std::to_string(duration_cast<milliseconds>(*switched - killed).count()));
  RecordProperty("follow_lag_ms", std::to_string(lag));
  std::printf(
      "fail-over: sentinel switched %lld ms after the kill, the link followed %lld ms later\n",
      static_cast<long long>(duration_cast<milliseconds>(*switched - killed).count()),
      static_cast<long long>(lag));
}

// The master turns into a replica under the link (as an old master does when it comes back
// after a fail-over): writes get -READONLY, the link drops it and does not take it back while
// ROLE says it is a replica (the Sentinel still names it), but does once it is a master again.
TEST_F(SentinelTest, LeavesAMasterThatBecameAReplicaUntilItIsOneAgain) {
  LinkRunner runner(io_, through_sentinel());
  auto& link = runner.link;
  ASSERT_TRUE(run_until(
      io_, [&] { return link.connected(); }, 5s))
      << link.status();
  const auto said = [&](const std::string& part) {
    return std::any_of(runner.changes.begin(), runner.changes.end(),
                       [&](const std::string& c) { return c.find(part) != std::string::npos; });
  };

  testing::TempDir elsewhere;
  auto other = RedisProcess::server(elsewhere.path(), testing::free_port());
  auto demoted = run_bounded(
      io_, tell(master_port_, {"REPLICAOF", "127.0.0.1", std::to_string(other->port())}));
  ASSERT_TRUE(demoted && *demoted && !(*demoted)->is_error());
  auto refused = run_bounded(io_, send(link, {"SET", "k", "v"}));
  ASSERT_TRUE(refused && *refused);
  EXPECT_TRUE((*refused)->is_error());
  EXPECT_TRUE((*refused)->text.starts_with("READONLY")) << (*refused)->debug_text();
  ASSERT_TRUE(run_until(
      io_, [&] { return said("not a master (ROLE [slave"); }, 5s))
      << link.status();
  EXPECT_TRUE(said("demoted to a replica (READONLY)"));
  EXPECT_FALSE(link.connected());

  auto promoted = run_bounded(io_, tell(master_port_, {"REPLICAOF", "NO", "ONE"}));
  ASSERT_TRUE(promoted && *promoted && !(*promoted)->is_error());
  ASSERT_TRUE(run_until(
      io_, [&] { return link.connected(); }, 10s))
      << link.status();
  EXPECT_EQ(link.master()->port, master_port_);
  auto written = run_bounded(io_, send(link, {"SET", "k", "v"}));
  ASSERT_TRUE(written && *written);
  EXPECT_EQ((*written)->text, "OK");
}

TEST_F(SentinelTest, ReportsAMasterNameNoSentinelKnows) {
  RedisLinkSettings settings;
  settings.sentinels = {RedisEndpoint::tcp("127.0.0.1", sentinel_port_)};
  settings.master_name = "nobody";
  LinkRunner runner(io_, settings);
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        return runner.link.status().find("no usable address for master nobody") !=
               std::string::npos;
      },
      5s))
      << runner.link.status();
  EXPECT_FALSE(runner.link.connected());
  auto reply = run_bounded(io_, send(runner.link, {"PING"}));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->error(), make_error_code(Error::not_connected));
}

}  // namespace
}  // namespace mxgate::fleet
