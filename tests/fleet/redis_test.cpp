// fleet::RedisConnection against a real redis-server (started per suite, or per test where the
// test kills it or needs other options), on free loopback ports.
#include "fleet/redis.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/fleet/redis_fixture.hpp"

namespace mxgate::fleet {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using boost::system::result;
using testing::RedisProcess;
using testing::run_bounded;
using testing::run_until;
using namespace std::chrono_literals;

asio::awaitable<error_code> open_tcp(RedisConnection& connection, std::uint16_t port,
                                     std::string password = {}) {
  co_return co_await connection.open(RedisEndpoint::tcp("127.0.0.1", port), 2s,
                                     std::move(password));
}

asio::awaitable<result<RedisReply>> send(RedisConnection& connection, std::vector<std::string> args,
                                         std::chrono::milliseconds timeout = 2s) {
  co_return co_await connection.command(std::move(args), timeout);
}

// Stores the command's outcome into `out` (for commands left in flight while the test acts).
asio::awaitable<void> send_into(RedisConnection& connection, std::vector<std::string> args,
                                std::chrono::milliseconds timeout,
                                std::optional<result<RedisReply>>& out) {
  out = co_await connection.command(std::move(args), timeout);
}

class RedisConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    server_ = RedisProcess::server(dir_->path(), testing::free_port()).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    connection_ = std::make_unique<RedisConnection>(io_.get_executor());
    const auto ec = run_bounded(io_, open_tcp(*connection_, server_->port()));
    ASSERT_TRUE(ec && !*ec) << (ec ? ec->message() : "") << " " << connection_->failure();
  }

  result<RedisReply> call(std::vector<std::string> args) {
    auto out = run_bounded(io_, send(*connection_, std::move(args)));
    if (!out) return make_error_code(Error::timeout);
    return *out;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline RedisProcess* server_ = nullptr;
  asio::io_context io_;
  std::unique_ptr<RedisConnection> connection_;
};

TEST_F(RedisConnectionTest, SetAndGetBinaryData) {
  const std::string key("bin\0key", 7);
  const std::string value("a\0b\r\nc\xff", 7);
  auto set = call({"SET", key, value});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->is_status());
  EXPECT_EQ(set->text, "OK");
  auto get = call({"GET", key});
  ASSERT_TRUE(get);
  EXPECT_TRUE(get->is_string());
  EXPECT_EQ(get->text, value);
  auto missing = call({"GET", "no-such-key"});
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->is_nil());
}

TEST_F(RedisConnectionTest, ArraysAndIntegersAreCopied) {
  ASSERT_TRUE(call({"DEL", "list"}));
  auto pushed = call({"RPUSH", "list", "one", "", "three"});
  ASSERT_TRUE(pushed);
  EXPECT_TRUE(pushed->is_integer());
  EXPECT_EQ(pushed->integer, 3);
  auto range = call({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(range);
  ASSERT_TRUE(range->is_array());
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[0].text, "one");
  EXPECT_EQ(range->elements[1].text, "");
  EXPECT_EQ(range->debug_text(), "[one, , three]");
}

asio::awaitable<void> incr_into(RedisConnection& connection, std::vector<long long>& out,
                                std::size_t index) {
  std::vector<std::string> args{"INCR", "pipelined"};
  auto reply = co_await connection.command(std::move(args), 5s);
  out[index] = reply && reply->is_integer() ? reply->integer : -1;
}

TEST_F(RedisConnectionTest, ThousandPipelinedCommandsAnswerInOrder) {
  ASSERT_TRUE(call({"DEL", "pipelined"}));
  constexpr std::size_t kCommands = 1000;
  std::vector<long long> replies(kCommands, 0);
  // All are sent before the first reply is read: each coroutine writes its command on its first
  // step, and they all start before the event loop gets to the socket.
  for (std::size_t i = 0; i < kCommands; ++i) {
    asio::co_spawn(io_, incr_into(*connection_, replies, i), asio::detached);
  }
  ASSERT_TRUE(run_until(io_, [&] { return replies.back() != 0; }));
  for (std::size_t i = 0; i < kCommands; ++i) {
    ASSERT_EQ(replies[i], static_cast<long long>(i + 1)) << "reply " << i;
  }
  EXPECT_TRUE(connection_->connected());
}

TEST_F(RedisConnectionTest, ErrorReplyIsAValueNotAFailure) {
  ASSERT_TRUE(call({"SET", "a-string", "x"}));
  auto wrong = call({"LPUSH", "a-string", "y"});
  ASSERT_TRUE(wrong) << wrong.error().message();
  EXPECT_TRUE(wrong->is_error());
  EXPECT_TRUE(wrong->text.starts_with("WRONGTYPE")) << wrong->text;
  auto ping = call({"PING"});
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->text, "PONG");
  EXPECT_TRUE(connection_->connected());
}

TEST_F(RedisConnectionTest, DeadlineClosesTheConnectionAndFailsWhatIsInFlight) {
  // BLPOP on an empty list answers only after 5 s; the connection gives it 200 ms. The PING
  // behind it (pipelined, generous deadline) fails with it: its reply could not be told apart.
  std::optional<result<RedisReply>> blocked;
  std::optional<result<RedisReply>> behind;
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io_, send_into(*connection_, {"BLPOP", "empty-list", "5"}, 200ms, blocked),
                 asio::detached);
  asio::co_spawn(io_, send_into(*connection_, {"PING"}, 10s, behind), asio::detached);
  ASSERT_TRUE(run_until(
      io_, [&] { return blocked && behind; }, 5s));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(*blocked);
  EXPECT_EQ(blocked->error(), make_error_code(Error::timeout));
  ASSERT_FALSE(*behind);
  EXPECT_EQ(behind->error(), make_error_code(Error::timeout));
  EXPECT_LT(took, 2s);
  EXPECT_FALSE(connection_->connected());
  EXPECT_EQ(connection_->failure(), "no reply within 200 ms");
  auto after = call({"PING"});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), make_error_code(Error::closed));
}

TEST_F(RedisConnectionTest, CloseFailsWhatIsInFlightAndWakesWaitClosed) {
  std::optional<result<RedisReply>> blocked;
  bool woke = false;
  asio::co_spawn(io_, send_into(*connection_, {"BLPOP", "empty-list", "5"}, 10s, blocked),
                 asio::detached);
  asio::co_spawn(io_, connection_->wait_closed(), [&](std::exception_ptr) { woke = true; });
  io_.restart();
  io_.poll();
  connection_->close();
  ASSERT_TRUE(run_until(
      io_, [&] { return blocked && woke; }, 2s));
  ASSERT_FALSE(*blocked);
  EXPECT_EQ(blocked->error(), make_error_code(Error::closed));
}

TEST(RedisConnection, RefusedConnectionIsAConnectError) {
  asio::io_context io;
  RedisConnection connection(io.get_executor());
  const auto ec = run_bounded(io, open_tcp(connection, testing::free_port()));
  ASSERT_TRUE(ec);
  EXPECT_EQ(*ec, make_error_code(Error::connect));
  EXPECT_EQ(connection.failure(), "connection refused");
  EXPECT_FALSE(connection.connected());
}

// How many clients the server has blocked in BLPOP and the like.
asio::awaitable<long long> blocked_clients(std::uint16_t port) {
  RedisConnection probe(co_await asio::this_coro::executor);
  if (co_await open_tcp(probe, port)) co_return -1;
  std::vector<std::string> args{"INFO", "clients"};
  auto info = co_await probe.command(std::move(args), 2s);
  if (!info) co_return -1;
  const auto at = info->text.find("blocked_clients:");
  co_return at == std::string::npos ? -1 : std::stoll(info->text.substr(at + 16));
}

TEST(RedisConnection, ServerKilledFailsWhatIsInFlightWithClosed) {
  testing::TempDir dir;
  auto server = RedisProcess::server(dir.path(), testing::free_port());
  asio::io_context io;
  RedisConnection connection(io.get_executor());
  ASSERT_FALSE(*run_bounded(io, open_tcp(connection, server->port())));
  std::optional<result<RedisReply>> blocked;
  asio::co_spawn(io, send_into(connection, {"BLPOP", "empty-list", "30"}, 30s, blocked),
                 asio::detached);
  // Kill it only once the server holds the command.
  ASSERT_TRUE(
      run_until(io, [&] { return *run_bounded(io, blocked_clients(server->port()), 2s) == 1; }));
  server->kill();
  ASSERT_TRUE(run_until(
      io, [&] { return blocked.has_value(); }, 5s));
  ASSERT_FALSE(*blocked);
  EXPECT_EQ(blocked->error(), make_error_code(Error::closed));
  EXPECT_FALSE(connection.connected());
  EXPECT_FALSE(connection.failure().empty());
}

TEST(RedisConnection, AuthWithTheRightPasswordOnly) {
  testing::TempDir dir;
  auto server = RedisProcess::server(dir.path(), testing::free_port(), {"--requirepass", "s3cret"});
  asio::io_context io;
  {
    RedisConnection right(io.get_executor());
    ASSERT_FALSE(*run_bounded(io, open_tcp(right, server->port(), "s3cret")));
    auto set = run_bounded(io, send(right, {"SET", "k", "v"}));
    ASSERT_TRUE(set && *set);
    EXPECT_EQ((*set)->text, "OK");
  }
  {
    RedisConnection wrong(io.get_executor());
    EXPECT_EQ(*run_bounded(io, open_tcp(wrong, server->port(), "guess")),
              make_error_code(Error::auth));
    EXPECT_TRUE(wrong.failure().starts_with("WRONGPASS")) << wrong.failure();
    EXPECT_FALSE(wrong.connected());
  }
  {
    RedisConnection none(io.get_executor());
    EXPECT_EQ(*run_bounded(io, open_tcp(none, server->port())), make_error_code(Error::auth));
    EXPECT_TRUE(none.failure().starts_with("NOAUTH")) << none.failure();
  }
}

TEST(RedisConnection, UnixSocket) {
  testing::TempDir dir;
  const auto socket = (dir.path() / "redis.sock").string();
  auto server = RedisProcess::server(dir.path(), testing::free_port(),
                                     {"--unixsocket", socket, "--unixsocketperm", "700"});
  asio::io_context io;
  RedisConnection connection(io.get_executor());
  const auto ec =
      run_bounded(io, connection.open(RedisEndpoint::unix_path(socket), 2s, std::string{}));
  ASSERT_FALSE(*ec) << connection.failure();
  auto set = run_bounded(io, send(connection, {"SET", "over", "unix"}));
  ASSERT_TRUE(set && *set);
  auto get = run_bounded(io, send(connection, {"GET", "over"}));
  ASSERT_TRUE(get && *get);
  EXPECT_EQ((*get)->text, "unix");
  EXPECT_EQ(connection.endpoint().text(), socket);
}

TEST(RedisConnection, MissingUnixSocketIsAConnectError) {
  testing::TempDir dir;
  asio::io_context io;
  RedisConnection connection(io.get_executor());
  const auto ec =
      run_bounded(io, connection.open(RedisEndpoint::unix_path((dir.path() / "none.sock").string()),
                                      2s, std::string{}));
  EXPECT_EQ(*ec, make_error_code(Error::connect));
  EXPECT_FALSE(connection.failure().empty());
}

TEST(RedisConnection, HostNamesAreRefused) {
  asio::io_context io;
  RedisConnection connection(io.get_executor());
  const auto ec =
      run_bounded(io, connection.open(RedisEndpoint::tcp("localhost", 6379), 2s, std::string{}));
  EXPECT_EQ(*ec, make_error_code(Error::connect));
  EXPECT_EQ(connection.failure(), "not an IP address: localhost");
}

TEST(RedisEndpoint, Text) {
  EXPECT_EQ(RedisEndpoint::tcp("127.0.0.1", 6379).text(), "127.0.0.1:6379");
  EXPECT_EQ(RedisEndpoint::tcp("::1", 6379).text(), "[::1]:6379");
  EXPECT_EQ(RedisEndpoint::unix_path("/run/redis.sock").text(), "/run/redis.sock");
}

}  // namespace
}  // namespace mxgate::fleet
