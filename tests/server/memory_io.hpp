// An in-memory SessionIo for session tests: what the test sends is what the session reads, and
// what the session writes is collected for the test to read. A read with nothing to read waits
// (on an io::Timer that never fires by itself) until the test sends more, closes its side, or the
// read is cancelled (the session's deadline, a drain). STARTTLS "succeeds" without cryptography
// when the test allows it, so that the protocol's restart can be tested.
// Threading: the test's thread, which runs the io_context.
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "io/clock.hpp"
#include "server/session_io.hpp"

namespace mxgate::server::testing {

// Shared by the test and the SessionIo the session owns.
struct Pipe {
  explicit Pipe(boost::asio::any_io_executor executor) : wake(std::move(executor)) {}
  std::string to_server;    // sent by the test, not yet read
  std::string from_server;  // everything the session wrote
  std::size_t writes = 0;   // how many writes it took
  bool client_closed = false;
  bool server_closed = false;
  bool tls_allowed = true;
  bool tls = false;
  io::Timer wake;  // cancelled to wake a waiting read

  void send(std::string_view bytes) {
    to_server.append(bytes);
    wake.cancel();
  }
  void close_client() {
    client_closed = true;
    wake.cancel();
  }
  // What the session wrote since the last take().
  std::string take() {
    std::string out = from_server.substr(taken_);
    taken_ = from_server.size();
    return out;
  }

 private:
  std::size_t taken_ = 0;
};

class MemoryIo final : public SessionIo {
 public:
  MemoryIo(boost::asio::any_io_executor executor, std::shared_ptr<Pipe> pipe, std::string peer)
      : SessionIo(std::move(executor)), pipe_(std::move(pipe)), peer_(std::move(peer)) {}

  boost::asio::awaitable<IoStatus> read_more(Duration timeout) override {
    const auto into = space();
    arm(timeout);
    aborted_ = false;
    while (pipe_->to_server.empty() && !pipe_->client_closed && !aborted_) {
      pipe_->wake.expires_at(io::Clock::time_point::max());
      (void)co_await pipe_->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    disarm();
    if (aborted_) co_return landed(boost::asio::error::operation_aborted, 0);
    const std::size_t n = std::min(into.size(), pipe_->to_server.size());
    std::memcpy(into.data(), pipe_->to_server.data(), n);
    pipe_->to_server.erase(0, n);
    co_return landed(n == 0 ? boost::asio::error::eof : boost::system::error_code{}, n);
  }

  boost::asio::awaitable<IoStatus> write(std::string_view data, Duration) override {
    if (pipe_->client_closed) co_return IoStatus::Closed;
    pipe_->from_server.append(data);
    ++pipe_->writes;
    co_return IoStatus::Ok;
  }

  boost::asio::awaitable<IoStatus> handshake(boost::asio::ssl::context&, Duration) override {
    clear_buffer();
    if (!pipe_->tls_allowed) co_return IoStatus::Closed;
    pipe_->tls = true;
    co_return IoStatus::Ok;
  }

  boost::asio::awaitable<void> shutdown_tls(Duration) override { co_return; }

  bool tls() const override { return pipe_->tls; }
  std::string tls_version() const override { return pipe_->tls ? "TLSv1.3" : ""; }
  std::string tls_cipher() const override { return pipe_->tls ? "TLS_AES_128_GCM_SHA256" : ""; }
  std::string peer_address() const override { return peer_; }

 protected:
  void cancel_io() override {
    aborted_ = true;
    pipe_->wake.cancel();
  }
  void close_io() override { pipe_->server_closed = true; }

 private:
  std::shared_ptr<Pipe> pipe_;
  std::string peer_;
  bool aborted_ = false;
};

}  // namespace mxgate::server::testing
