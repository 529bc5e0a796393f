// SessionIo: the byte level of a session: a bounded input buffer and one deadline for whichever
// read, write or handshake is in progress, over a connection that a subclass provides: TCP, then
// TLS after STARTTLS (tcp_session_io(), server/tcp_session_io.cpp), or an in-memory pipe in tests
// (tests/server/memory_io.hpp), so that the session, its policy and its relay run without
// sockets. A subclass's operations are the only coroutine between the session and its socket.
// The deadline is a single io::Timer that is re-armed lazily (arm() only moves a time point
// unless the deadline gets shorter), so a read costs no timer system call; being an io::Timer,
// it follows a test's manual clock. On expiry the pending operation is cancelled (cancel_io()).
// Threading: one worker thread. Failure: every operation returns an IoStatus, never throws.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "io/clock.hpp"

namespace mxgate::server {

enum class IoStatus { Ok, Closed, Timeout, Cancelled, Error };

class SessionIo : public std::enable_shared_from_this<SessionIo> {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;
  using Duration = io::Clock::duration;

  explicit SessionIo(boost::asio::any_io_executor executor);
  virtual ~SessionIo() = default;
  SessionIo(const SessionIo&) = delete;
  SessionIo& operator=(const SessionIo&) = delete;

  // Reads at least one more octet into the buffer.
  virtual boost::asio::awaitable<IoStatus> read_more(Duration timeout) = 0;
  // Writes all of `data`.
  virtual boost::asio::awaitable<IoStatus> write(std::string_view data, Duration timeout) = 0;
  // The server side of a TLS handshake (RFC 3207); afterwards reads and writes go over TLS.
  // Whatever was buffered is dropped (the session refuses plaintext pipelined before it).
  virtual boost::asio::awaitable<IoStatus> handshake(boost::asio::ssl::context& ctx,
                                                     Duration timeout) = 0;
  // Sends TLS close_notify and waits (at most `timeout`) for the client's (RFC 8446 §6.1);
  // nothing without TLS.
  virtual boost::asio::awaitable<void> shutdown_tls(Duration timeout) = 0;

  std::string_view buffered() const { return {buffer_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) { begin_ += n; }

  // Makes the pending operation (if any) complete with Cancelled.
  void cancel();
  void close();

  virtual bool tls() const = 0;
  virtual std::string tls_version() const = 0;  // "TLSv1.3"; "" without TLS
  virtual std::string tls_cipher() const = 0;
  // The peer's address as text ("192.0.2.7", an IPv4-mapped IPv6 address unmapped), or
  // "unknown" when the connection has none.
  virtual std::string peer_address() const = 0;

 protected:
  // The operation in progress may take until `timeout` from now; disarm() when it ended.
  void arm(Duration timeout);
  void disarm() { deadline_ = io::Clock::time_point::max(); }
  // Where a read puts its octets (after the buffered ones); empty when the buffer is full.
  boost::asio::mutable_buffer space();
  // A read ended with `ec` after `n` octets: what read_more() answers.
  IoStatus landed(const boost::system::error_code& ec, std::size_t n);
  IoStatus status_of(const boost::system::error_code& ec) const;
  void clear_buffer() { begin_ = end_ = 0; }
  // Ends the pending operation with operation_aborted (the deadline passed, or cancel()).
  virtual void cancel_io() = 0;
  virtual void close_io() = 0;

 private:
  void wait_for_deadline();
  void on_timer(boost::system::error_code ec, unsigned generation);

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

// A session's I/O over an accepted TCP connection (TLS after STARTTLS).
std::shared_ptr<SessionIo> tcp_session_io(boost::asio::ip::tcp::socket socket);

}  // namespace mxgate::server
