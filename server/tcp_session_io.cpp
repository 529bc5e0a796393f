// SessionIo over an accepted TCP connection, TLS after STARTTLS (server/session_io.hpp).
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "server/session_io.hpp"

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

class TcpSessionIo final : public SessionIo {
 public:
  explicit TcpSessionIo(asio::ip::tcp::socket socket)
      : SessionIo(socket.get_executor()), socket_(std::move(socket)) {}

  asio::awaitable<IoStatus> read_more(Duration timeout) override {
    const auto into = space();
    if (into.size() == 0) co_return IoStatus::Error;  // callers consume; cannot happen
    arm(timeout);
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(into, kNoThrow)
                        : co_await socket_.async_read_some(into, kNoThrow);
    disarm();
    co_return landed(ec, n);
  }

  asio::awaitable<IoStatus> write(std::string_view data, Duration timeout) override {
    arm(timeout);
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(data), kNoThrow)
                        : co_await asio::async_write(socket_, asio::buffer(data), kNoThrow);
    disarm();
    (void)n;
    co_return status_of(ec);
  }

  asio::awaitable<IoStatus> handshake(asio::ssl::context& ctx, Duration timeout) override {
    clear_buffer();
    tls_.emplace(socket_, ctx);
    arm(timeout);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
    disarm();
    co_return status_of(ec);
  }

  asio::awaitable<void> shutdown_tls(Duration timeout) override {
    if (!tls_) co_return;
    arm(timeout);
    auto [ec] = co_await tls_->async_shutdown(kNoThrow);
    disarm();
    (void)ec;  // the client may close first; either way the connection ends here
  }

  bool tls() const override { return tls_.has_value(); }
  std::string tls_version() const override {
    return tls_ ? SSL_get_version(native()) : std::string();
  }
  std::string tls_cipher() const override {
    return tls_ ? SSL_get_cipher_name(native()) : std::string();
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
  SSL* native() const {
    return const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  }

  asio::ip::tcp::socket socket_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

}  // namespace

std::shared_ptr<SessionIo> tcp_session_io(asio::ip::tcp::socket socket) {
  return std::make_shared<TcpSessionIo>(std::move(socket));
}

}  // namespace mxgate::server
