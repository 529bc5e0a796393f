// The byte level of a session: the client socket (plaintext, then TLS after STARTTLS), a bounded
// input buffer, and one deadline for whichever read, write or handshake is in progress.
// The deadline is a single steady_timer that is re-armed lazily (arm() only moves a time point
// unless the deadline gets shorter), so a read costs no timer system call.
// Threading: one worker thread. Failure: every operation returns an IoStatus, never throws.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::server {

enum class IoStatus { Ok, Closed, Timeout, Cancelled, Error };

class SessionIo : public std::enable_shared_from_this<SessionIo> {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;
  using Duration = std::chrono::steady_clock::duration;

  explicit SessionIo(boost::asio::ip::tcp::socket socket);

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

  bool tls() const { return tls_.has_value(); }
  std::string tls_version() const;
  std::string tls_cipher() const;
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  void arm(Duration timeout);
  void disarm() { deadline_ = std::chrono::steady_clock::time_point::max(); }
  void wait_for_deadline();
  void on_timer(boost::system::error_code ec, unsigned generation);
  IoStatus status_of(const boost::system::error_code& ec) const;

  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;

  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool waiting_ = false;
  unsigned generation_ = 0;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

}  // namespace mxgate::server
