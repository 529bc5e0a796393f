// http::Server over real loopback sockets on port 0: the server runs on its own io_context thread,
// the test talks to it with a small synchronous Beast client.
#include "http/server.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "http/handler.hpp"

namespace mxgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string allow;
  std::string content_length;
  bool keep_alive = false;
};

// One client connection; requests on it are sequential (keep-alive).
class Client {
 public:
  // From `source` (another loopback address is another client to the server's caps).
  explicit Client(std::uint16_t port, const char* source = "127.0.0.1") : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind({asio::ip::make_address(source), 0});
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  Reply request(beast::http::verb method, std::string target) {
    beast::http::request<beast::http::empty_body> req{method, target, 11};
    req.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(socket_, req);
    return read_reply(method == beast::http::verb::head);
  }

  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  Reply read_reply(bool head = false) {
    beast::http::response_parser<beast::http::string_body> parser;
    parser.skip(head);
    beast::http::read(socket_, buffer_, parser);
    const auto& res = parser.get();
    return {res.result_int(),
            res.body(),
            std::string(res[beast::http::field::content_type]),
            std::string(res[beast::http::field::allow]),
            std::string(res[beast::http::field::content_length]),
            res.keep_alive()};
  }

  // The error that ends a read once the server has closed the connection.
  boost::system::error_code read_until_closed() {
    char byte = 0;
    boost::system::error_code ec;
    asio::read(socket_, asio::buffer(&byte, 1), ec);
    return ec;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<prometheus::Registry>();
    auto& family = prometheus::BuildCounter()
                       .Name("mxgate_test_events_total")
                       .Help("Events counted by the test.")
                       .Register(*registry_);
    family.Add({}).Increment(3);
  }

  void start(http::Limits limits = {}) {
    server_ = std::make_unique<http::Server>(
        io_, conf::HostPort{"127.0.0.1", 0}, registry_, [this] { return ready_.load(); }, limits);
    server_->count_shedding({&evicted_, &refused_, &header_timeouts_});
    if (handler_) server_->add(handler_);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops the server on its own thread; io_.run() returns once every connection is gone.
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { server_->stop(); });
    thread_.join();
  }

  void TearDown() override { stop(); }

  std::uint16_t port() const { return server_->port(); }

  asio::io_context io_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<http::Handler> handler_;  // added by start() when set
  std::thread thread_;
  prometheus::Counter evicted_, refused_, header_timeouts_;
};

// Takes /stall: holds the request until release() (on the server's thread), then answers 200.
class StallingHandler final : public http::Handler {
 public:
  bool takes(std::string_view target) const override { return target == "/stall"; }
  asio::awaitable<bool> serve(beast::tcp_stream& stream, http::Request request, asio::ip::address,
                              std::chrono::milliseconds timeout) override {
    asio::steady_timer timer(stream.get_executor(), std::chrono::hours(1));
    timer_ = &timer;
    serving.set_value();
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    timer_ = nullptr;
    http::Response res{beast::http::status::ok, request.version()};
    res.body() = "done\n";
    res.keep_alive(false);
    res.prepare_payload();
    stream.expires_after(timeout);
    (void)co_await beast::http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return false;
  }
  void release() {
    if (timer_ != nullptr) timer_->cancel();
  }
  std::promise<void> serving;  // set once it holds a request

 private:
  asio::steady_timer* timer_ = nullptr;
};

TEST_F(HttpServerTest, BindsAnEphemeralPort) {
  start();
  EXPECT_NE(port(), 0);
}

TEST_F(HttpServerTest, MetricsServesTheRegistryInTextFormat) {
  start();
  Client client(port());
  auto reply = client.request(beast::http::verb::get, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(reply.body.find("# TYPE mxgate_test_events_total counter"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("mxgate_test_events_total 3"), std::string::npos) << reply.body;
}

TEST_F(HttpServerTest, HealthzIsOk) {
  start();
  Client client(port());
  auto reply = client.request(beast::http::verb::get, "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "ok\n");
}

TEST_F(HttpServerTest, ReadyzFollowsTheReadyCallback) {
  start();
  Client client(port());
  auto ready = client.request(beast::http::verb::get, "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.body, "ready\n");

  ready_ = false;
  auto draining = client.request(beast::http::verb::get, "/readyz");
  EXPECT_EQ(draining.status, 503u);
  EXPECT_EQ(draining.body, "draining\n");
}

TEST_F(HttpServerTest, UnknownPathIsNotFound) {
  start();
  Client client(port());
  EXPECT_EQ(client.request(beast::http::verb::get, "/nope").status, 404u);
  EXPECT_EQ(client.request(beast::http::verb::get, "/metricsx").status, 404u);
}

TEST_F(HttpServerTest, QueryStringIsIgnored) {
  start();
  Client client(port());
  EXPECT_EQ(client.request(beast::http::verb::get, "/healthz?verbose=1").status, 200u);
}

TEST_F(HttpServerTest, OtherMethodsAreNotAllowed) {
  start();
  Client client(port());
  for (auto method :
       {beast::http::verb::post, beast::http::verb::put, beast::http::verb::delete_}) {
    auto reply = client.request(method, "/metrics");
    EXPECT_EQ(reply.status, 405u) << beast::http::to_string(method);
    EXPECT_EQ(reply.allow, "GET, HEAD");
  }
}

TEST_F(HttpServerTest, HeadSendsHeadersWithoutBody) {
  start();
  Client client(port());
  auto reply = client.request(beast::http::verb::head, "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_length, "3");
  EXPECT_EQ(reply.body, "");
  // The connection is still usable, so no stray body bytes were sent.
  EXPECT_EQ(client.request(beast::http::verb::get, "/healthz").body, "ok\n");
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  start();
  Client client(port());
  for (int i = 0; i < 3; ++i) {
    auto reply = client.request(beast::http::verb::get, "/healthz");
    EXPECT_EQ(reply.status, 200u);
    EXPECT_TRUE(reply.keep_alive);
  }
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  start();
  Client client(port());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto reply = client.read_reply();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_FALSE(reply.keep_alive);
  EXPECT_EQ(client.read_until_closed(), asio::error::eof);
}

TEST_F(HttpServerTest, OversizedHeaderIsRefusedAndClosed) {
  http::Limits limits;
  limits.max_header_bytes = 1024;
  start(limits);
  Client client(port());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(2048, 'a') +
                  "\r\n\r\n");
  EXPECT_EQ(client.read_reply().status, 431u);
  EXPECT_EQ(client.read_until_closed(), asio::error::eof);
}

TEST_F(HttpServerTest, RequestBodyIsRefused) {
  start();
  Client client(port());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(client.read_reply().status, 413u);
}

TEST_F(HttpServerTest, GarbageIsABadRequest) {
  start();
  Client client(port());
  client.send_raw("\x16\x03\x01 not http at all\r\n\r\n");
  EXPECT_EQ(client.read_reply().status, 400u);
}

TEST_F(HttpServerTest, AHalfSentHeaderIsClosedAtTheHeaderDeadline) {
  http::Limits limits;
  limits.header_timeout = std::chrono::milliseconds(50);
  limits.request_timeout = std::chrono::hours(1);
  start(limits);
  Client client(port());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(client.read_until_closed(), asio::error::eof);
  // The stream closes the socket at its deadline, then the server counts: stop() returns once
  // the server's thread has done everything.
  stop();
  EXPECT_EQ(header_timeouts_.Value(), 1);
}

TEST_F(HttpServerTest, AnIdleKeepAliveConnectionIsClosedAtTheHeaderDeadline) {
  http::Limits limits;
  limits.header_timeout = std::chrono::milliseconds(50);
  start(limits);
  Client client(port());
  EXPECT_EQ(client.request(beast::http::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(client.read_until_closed(), asio::error::eof);
}

TEST_F(HttpServerTest, ANewConnectionOverTheCapTakesTheSlotOfTheLongestWaiting) {
  http::Limits limits;
  limits.max_connections = 2;
  limits.header_timeout = std::chrono::hours(1);
  start(limits);
  Client first(port(), "127.0.0.2");
  Client second(port(), "127.0.0.3");
  first.send_raw("GET /healthz HTTP/1.1\r\n");  // half a request, then nothing
  // A reply on the second proves the server holds both before the third arrives.
  EXPECT_EQ(second.request(beast::http::verb::get, "/healthz").status, 200u);
  Client third(port());
  EXPECT_EQ(third.request(beast::http::verb::get, "/metrics").status, 200u);
  EXPECT_NE(first.read_until_closed(), boost::system::error_code{});
  EXPECT_EQ(second.request(beast::http::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(evicted_.Value(), 1);
  EXPECT_EQ(refused_.Value(), 0);
}

TEST_F(HttpServerTest, AClientOverItsOwnCapDisplacesOnlyItsOwnConnections) {
  http::Limits limits;
  limits.max_connections_per_client = 2;
  limits.header_timeout = std::chrono::hours(1);
  start(limits);
  Client other(port(), "127.0.0.1");
  other.send_raw("GET /healthz HTTP/1.1\r\n");  // waiting longest of all
  std::vector<std::unique_ptr<Client>> flood;
  for (int i = 0; i < 6; ++i) {
    flood.push_back(std::make_unique<Client>(port(), "127.0.0.2"));
    flood.back()->send_raw("GET /healthz HTTP/1.1\r\n");
  }
  // The last two of the flood hold its two slots; the others were closed to make room.
  for (int i = 0; i < 4; ++i) EXPECT_NE(flood[i]->read_until_closed(), boost::system::error_code{});
  for (int i = 4; i < 6; ++i) {
    flood[i]->send_raw("Host: x\r\n\r\n");
    EXPECT_EQ(flood[i]->read_reply().status, 200u);
  }
  other.send_raw("Host: x\r\n\r\n");
  EXPECT_EQ(other.read_reply().status, 200u);
  EXPECT_EQ(evicted_.Value(), 4);
}

TEST_F(HttpServerTest, WhenEveryConnectionIsBusyWithARequestANewOneIsRefused) {
  http::Limits limits;
  limits.max_connections = 1;
  limits.request_timeout = std::chrono::hours(1);
  auto handler = std::make_shared<StallingHandler>();
  handler_ = handler;
  start(limits);
  Client busy(port());
  busy.send_raw("GET /stall HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(handler->serving.get_future().wait_for(std::chrono::seconds(5)),
            std::future_status::ready);
  Client late(port());
  EXPECT_NE(late.read_until_closed(), boost::system::error_code{});
  EXPECT_EQ(refused_.Value(), 1);
  EXPECT_EQ(evicted_.Value(), 0);
  asio::post(io_, [handler] { handler->release(); });
  EXPECT_EQ(busy.read_reply().status, 200u);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  http::Limits limits;
  limits.header_timeout = std::chrono::hours(1);
  start(limits);
  Client client(port());
  EXPECT_EQ(client.request(beast::http::verb::get, "/healthz").status, 200u);
  stop();  // returns only once the idle keep-alive connection is gone
  EXPECT_EQ(client.read_until_closed(), asio::error::eof);
}

TEST(HttpServer, BindFailureNamesTheAddress) {
  asio::io_context io;
  auto registry = std::make_shared<prometheus::Registry>();
  http::Server first(io, {"127.0.0.1", 0}, registry, [] { return true; });
  try {
    http::Server second(io, {"127.0.0.1", first.port()}, registry, [] { return true; });
    FAIL() << "bound a port already in use";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mxgate::http
