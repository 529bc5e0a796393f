// An in-memory Transport for session tests: what the test sends is what the session reads, and
// what the session writes is collected for the test to read. A read with nothing to read waits
// (on an io::Timer that never fires by itself) until the test sends more, closes its side, or
// the session's deadline cancels it. STARTTLS "succeeds" without cryptography when the test
// allows it, so that the protocol's restart can be tested.
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
#include "server/transport.hpp"

namespace mxgate::server::testing {

// Shared by the test and the transport the session owns.
struct Pipe {
  explicit Pipe(boost::asio::any_io_executor executor) : wake(executor) {}
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

class MemoryTransport final : public Transport {
 public:
  MemoryTransport(std::shared_ptr<Pipe> pipe, std::string peer)
      : pipe_(std::move(pipe)), peer_(std::move(peer)) {}

  boost::asio::awaitable<ReadResult> read_some(boost::asio::mutable_buffer space) override {
    cancelled_ = false;
    while (pipe_->to_server.empty() && !pipe_->client_closed && !cancelled_) {
      pipe_->wake.expires_at(io::Clock::time_point::max());
      (void)co_await pipe_->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    if (cancelled_) co_return ReadResult{boost::asio::error::operation_aborted, 0};
    if (pipe_->to_server.empty()) co_return ReadResult{boost::asio::error::eof, 0};
    const std::size_t n = std::min(space.size(), pipe_->to_server.size());
    std::memcpy(space.data(), pipe_->to_server.data(), n);
    pipe_->to_server.erase(0, n);
    co_return ReadResult{{}, n};
  }

  boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer data) override {
    if (pipe_->client_closed) co_return boost::asio::error::broken_pipe;
    pipe_->from_server.append(static_cast<const char*>(data.data()), data.size());
    ++pipe_->writes;
    co_return boost::system::error_code{};
  }

  boost::asio::awaitable<boost::system::error_code> handshake(boost::asio::ssl::context&) override {
    if (!pipe_->tls_allowed) co_return boost::asio::error::connection_reset;
    pipe_->tls = true;
    co_return boost::system::error_code{};
  }

  boost::asio::awaitable<void> shutdown_tls() override { co_return; }

  void cancel() override {
    cancelled_ = true;
    pipe_->wake.cancel();
  }
  void close() override { pipe_->server_closed = true; }

  bool tls() const override { return pipe_->tls; }
  std::string tls_version() const override { return pipe_->tls ? "TLSv1.3" : ""; }
  std::string tls_cipher() const override { return pipe_->tls ? "TLS_AES_128_GCM_SHA256" : ""; }
  std::string peer_address() const override { return peer_; }

 private:
  std::shared_ptr<Pipe> pipe_;
  std::string peer_;
  bool cancelled_ = false;
};

}  // namespace mxgate::server::testing
