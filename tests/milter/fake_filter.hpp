// A scripted milter filter for tests: listens on a unix socket, answers each packet it receives
// with what its script returns (nothing: no answer), and keeps every packet. Runs on the test's
// io_context; inspect it while that context is not running.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "io/clock.hpp"
#include "milter/protocol.hpp"

namespace mxgate::milter::testing {

inline std::string packet(char code, const std::string& data = "") {
  const auto length = static_cast<std::uint32_t>(data.size() + 1);
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(length >> shift));
  out.push_back(code);
  return out + data;
}

inline std::string words(std::uint32_t a, std::uint32_t b, std::uint32_t c) {
  std::string out;
  for (const auto v : {a, b, c}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  }
  return out;
}

// A script's answer that closes the connection instead.
inline const std::string kHangUp = "(hang up)";

// Answers each packet it receives with what `script` returns (nothing: no answer).
class FakeFilter {
 public:
  using Script = std::function<std::string(const Packet&)>;
  FakeFilter(boost::asio::io_context& io, const std::filesystem::path& path, Script script)
      : acceptor_(io, boost::asio::local::stream_protocol::endpoint(path.string())),
        script_(std::move(script)) {
    boost::asio::co_spawn(io, serve(), boost::asio::detached);
  }
  std::vector<Packet> received;  // from every connection, in order
  int connections = 0;            // accepted so far
  bool closed_by_client = false;  // a connection was closed by the client
  // Closes the connections it has (as a filter that drops idle ones).
  void hang_up() {
    for (auto* socket : open_) socket->close();
  }

 private:
  boost::asio::awaitable<void> serve() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      ++connections;
      boost::asio::co_spawn(acceptor_.get_executor(), talk(std::move(socket)),
                            boost::asio::detached);
    }
  }
  boost::asio::awaitable<void> talk(boost::asio::local::stream_protocol::socket socket) {
    open_.push_back(&socket);
    PacketReader reader;
    std::string buffer(65536, '\0');
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(
          boost::asio::buffer(buffer), boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) {
        closed_by_client = closed_by_client || ec != boost::asio::error::operation_aborted;
        std::erase(open_, &socket);
        co_return;
      }
      reader.feed(std::string_view(buffer.data(), n));
      while (auto p = reader.next()) {
        received.push_back(*p);
        const std::string reply = script_(*p);
        if (reply == kHangUp) {
          std::erase(open_, &socket);
          co_return;  // the socket closes with this coroutine
        }
        if (!reply.empty())
          co_await boost::asio::async_write(socket, boost::asio::buffer(reply),
                                            boost::asio::use_awaitable);
      }
    }
  }
  boost::asio::local::stream_protocol::acceptor acceptor_;
  Script script_;
  std::vector<boost::asio::local::stream_protocol::socket*> open_;
};

// A test fixture's event loop on a manual clock, with a temporary directory for the filters'
// sockets; run() and run_void() drive a coroutine to its end, bounded to 2000 turns.
class FilterLoop : public ::testing::Test {
 protected:
  explicit FilterLoop(const std::string& prefix)
      : dir_(std::filesystem::temp_directory_path() /
             (prefix + std::to_string(std::random_device{}()))) {
    std::filesystem::create_directories(dir_);
  }
  ~FilterLoop() override { std::filesystem::remove_all(dir_); }

  // One turn of the loop (which stops when it runs out of work, e.g. with no filter listening).
  void turn() {
    if (io_.stopped()) io_.restart();
    io_.run_one_for(std::chrono::milliseconds(10));
  }
  template <typename T>
  T run(boost::asio::awaitable<T> work) {
    std::optional<T> out;
    boost::asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      out = std::move(value);
    });
    for (int i = 0; i < 2000 && !out; ++i) turn();
    EXPECT_TRUE(out) << "did not finish";
    return out.value_or(T{});
  }
  void run_void(boost::asio::awaitable<void> work) {
    bool done = false;
    boost::asio::co_spawn(io_, std::move(work), [&](std::exception_ptr) { done = true; });
    for (int i = 0; i < 2000 && !done; ++i) turn();
    EXPECT_TRUE(done) << "did not finish";
  }

  std::filesystem::path dir_;
  common::ManualClock clock_;
  io::ClockOverride use_{clock_};
  boost::asio::io_context io_;
};

}  // namespace mxgate::milter::testing
