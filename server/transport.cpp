#include "server/transport.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<ReadResult> read_some(asio::mutable_buffer space) override {
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(space, kNoThrow)
                        : co_await socket_.async_read_some(space, kNoThrow);
    co_return ReadResult{ec, n};
  }

  asio::awaitable<error_code> write(asio::const_buffer data) override {
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, data, kNoThrow)
                        : co_await asio::async_write(socket_, data, kNoThrow);
    (void)n;
    co_return ec;
  }

  asio::awaitable<error_code> handshake(asio::ssl::context& context) override {
    tls_.emplace(socket_, context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
    co_return ec;
  }

  asio::awaitable<void> shutdown_tls() override {
    if (!tls_) co_return;
    auto [ec] = co_await tls_->async_shutdown(kNoThrow);
    (void)ec;  // the client may close first; either way the connection ends here
  }

  void cancel() override {
    error_code ignored;
    socket_.cancel(ignored);
  }

  void close() override {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
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

 private:
  SSL* native() const {
    return const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  }

  asio::ip::tcp::socket socket_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

}  // namespace

std::unique_ptr<Transport> tcp_transport(asio::ip::tcp::socket socket) {
  return std::make_unique<TcpTransport>(std::move(socket));
}

}  // namespace mxgate::server
