// The byte level of a session: its Transport (TCP, then TLS after STARTTLS; an in-memory pipe in
// tests), a bounded input buffer, and one deadline for whichever read, write or handshake is in
// progress. The deadline is a single io::Timer that is re-armed lazily (arm() only moves a time
// point unless the deadline gets shorter), so a read costs no timer system call; being an
// io::Timer, it follows a test's manual clock.
// Threading: one worker thread. Failure: every operation returns an IoStatus, never throws.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "io/clock.hpp"
#include "server/transport.hpp"

namespace mxgate::server {

enum class IoStatus { Ok, Closed, Timeout, Cancelled, Error };

class SessionIo : public std::enable_shared_from_this<SessionIo> {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;
  using Duration = io::Clock::duration;

  SessionIo(boost::asio::any_io_executor executor, std::unique_ptr<Transport> transport);

  // Reads at least one more octet into the buffer.
  boost::asio::awaitable<IoStatus> read_more(Duration timeout);
  boost::asio::awaitable<IoStatus> write(std::string_view data, Duration timeout);
  boost::asio::awaitable<IoStatus> handshake(boost::asio::ssl::context& ctx, Duration timeout);

  std::string_view buffered() const { return {buffer_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) { begin_ += n; }

  // Sends TLS close_notify and waits (at most `timeout`) for the client's (RFC 8446 §6.1).
  boost::asio::awaitable<void> shutdown_tls(Duration timeout);

  // Makes the pending operation (if any) complete with Cancelled.
  void cancel();
  void close();

  bool tls() const { return transport_->tls(); }
  std::string tls_version() const { return transport_->tls_version(); }
  std::string tls_cipher() const { return transport_->tls_cipher(); }
  std::string peer_address() const { return transport_->peer_address(); }

 private:
  void arm(Duration timeout);
  void disarm() { deadline_ = io::Clock::time_point::max(); }
  void wait_for_deadline();
  void on_timer(boost::system::error_code ec, unsigned generation);
  IoStatus status_of(const boost::system::error_code& ec) const;

  std::unique_ptr<Transport> transport_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;

  io::Timer timer_;
  io::Clock::time_point deadline_ = io::Clock::time_point::max();
  bool waiting_ = false;
  unsigned generation_ = 0;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

}  // namespace mxgate::server
