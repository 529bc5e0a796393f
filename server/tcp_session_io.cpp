// SessionIo over an accepted TCP connection, TLS after STARTTLS (server/session_io.hpp).
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <climits>
#include <memory>
#include <tuple>

#include "server/session_io.hpp"

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// After STARTTLS, OpenSSL reads and writes the socket itself (SSL_set_fd, non-blocking), and a
// call that wants the socket waits for it with async_wait: no stream buffers of our own (Asio's
// ssl::stream keeps two of 17 KiB per session), and with SSL_MODE_RELEASE_BUFFERS (tls.cpp) an
// idle session keeps none of OpenSSL's either.
class TcpSessionIo final : public SessionIo {
 public:
  explicit TcpSessionIo(asio::ip::tcp::socket socket)
      : SessionIo(socket.get_executor()), socket_(std::move(socket)) {}

  asio::awaitable<IoStatus> read_more(Duration timeout) override {
    const auto into = space();
    if (into.size() == 0) co_return IoStatus::Error;  // callers consume; cannot happen
    arm(timeout);
    error_code ec;
    std::size_t n = 0;
    if (ssl_) {
      const int size = static_cast<int>(std::min<std::size_t>(into.size(), INT_MAX));
      std::tie(ec, n) = co_await tls_call([&] { return SSL_read(ssl_.get(), into.data(), size); });
    } else {
      std::tie(ec, n) = co_await socket_.async_read_some(into, kNoThrow);
    }
    disarm();
    co_return landed(ec, n);
  }

  asio::awaitable<IoStatus> write(std::string_view data, Duration timeout) override {
    arm(timeout);
    error_code ec;
    if (ssl_) {
      // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write succeeds for all of it or not at all.
      const int size = static_cast<int>(data.size());
      if (size > 0) {
        std::tie(ec, std::ignore) =
            co_await tls_call([&] { return SSL_write(ssl_.get(), data.data(), size); });
      }
    } else {
      std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(data), kNoThrow);
    }
    disarm();
    co_return status_of(ec);
  }

  asio::awaitable<IoStatus> handshake(asio::ssl::context& ctx, Duration timeout) override {
    clear_buffer();
    ssl_.reset(SSL_new(ctx.native_handle()));
    error_code ec;
    socket_.non_blocking(true, ec);
    if (!ssl_ || ec || SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) {
      co_return IoStatus::Error;
    }
    SSL_set_accept_state(ssl_.get());
    arm(timeout);
    std::tie(ec, std::ignore) = co_await tls_call([&] { return SSL_do_handshake(ssl_.get()); });
    disarm();
    if (ec) ssl_.reset();  // no TLS session: nothing to report nor to shut down
    co_return status_of(ec);
  }

  // close_notify, then the client's (RFC 8446 §6.1): SSL_shutdown answers 0 once ours is sent,
  // and 1 once theirs arrived.
  asio::awaitable<void> shutdown_tls(Duration timeout) override {
    if (!ssl_) co_return;
    arm(timeout);
    ERR_clear_error();
    if (SSL_shutdown(ssl_.get()) != 1) {
      (void)co_await tls_call([&] { return SSL_shutdown(ssl_.get()); });
    }
    disarm();  // the client may close first; either way the connection ends here
  }

  bool tls() const override { return ssl_ != nullptr; }
  std::string tls_version() const override {
    return ssl_ ? SSL_get_version(ssl_.get()) : std::string();
  }
  std::string tls_cipher() const override {
    return ssl_ ? SSL_get_cipher_name(ssl_.get()) : std::string();
  }

  std::string peer_address() const override {
    error_code ec;
    auto address = socket_.remote_endpoint(ec).address();
    if (ec) return "unknown";
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
  }

 protected:
  void cancel_io() override {
    error_code ignored;
    socket_.cancel(ignored);
  }

  void close_io() override {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  // Calls `op` (an SSL_* function: > 0 is success) until it succeeds or fails for good, waiting
  // for the socket whenever OpenSSL wants to read or write it. The error of a failure: eof for
  // the client's close_notify, stream_truncated for a connection closed without one, the
  // wait's error (operation_aborted after cancel_io()), or OpenSSL's.
  template <typename Op>
  asio::awaitable<std::tuple<error_code, std::size_t>> tls_call(Op op) {
    for (;;) {
      ERR_clear_error();
      const int n = op();
      if (n > 0) co_return std::tuple{error_code(), static_cast<std::size_t>(n)};
      asio::socket_base::wait_type wait = asio::socket_base::wait_read;
      switch (SSL_get_error(ssl_.get(), n)) {
        case SSL_ERROR_WANT_READ:
          break;
        case SSL_ERROR_WANT_WRITE:
          wait = asio::socket_base::wait_write;
          break;
        case SSL_ERROR_ZERO_RETURN:
          co_return std::tuple{error_code(asio::error::eof), std::size_t{0}};
        case SSL_ERROR_SYSCALL:
          co_return std::tuple{error_code(asio::ssl::error::stream_truncated), std::size_t{0}};
        default: {
          const auto reason = ERR_get_error();
          if (ERR_GET_REASON(reason) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            co_return std::tuple{error_code(asio::ssl::error::stream_truncated), std::size_t{0}};
          }
          co_return std::tuple{
              error_code(static_cast<int>(reason), asio::error::get_ssl_category()),
              std::size_t{0}};
        }
      }
      auto [ec] = co_await socket_.async_wait(wait, kNoThrow);
      if (ec) co_return std::tuple{ec, std::size_t{0}};
    }
  }

  asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;  // after STARTTLS
};

}  // namespace

std::shared_ptr<SessionIo> tcp_session_io(asio::ip::tcp::socket socket) {
  return std::make_shared<TcpSessionIo>(std::move(socket));
}

}  // namespace mxgate::server
