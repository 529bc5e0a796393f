// Transport: the byte stream under one SMTP session. In production a TCP connection that turns
// into TLS after STARTTLS (tcp_transport()); in tests an in-memory pipe
// (tests/server/memory_transport.hpp), so that the session, its policy and its relay run without
// sockets. SessionIo adds the input buffer and the deadlines on top.
// Threading: the session's worker. Failure: operations return an error_code, never throw;
// cancel() makes the pending operation complete with operation_aborted.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace mxgate::server {

class Transport {
 public:
  using ReadResult = std::pair<boost::system::error_code, std::size_t>;

  virtual ~Transport() = default;
  virtual boost::asio::awaitable<ReadResult> read_some(boost::asio::mutable_buffer space) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> write(
      boost::asio::const_buffer data) = 0;
  // The server side of a TLS handshake (RFC 3207); afterwards reads and writes go over TLS.
  virtual boost::asio::awaitable<boost::system::error_code> handshake(
      boost::asio::ssl::context& context) = 0;
  // Sends TLS close_notify and waits for the client's (RFC 8446 §6.1); nothing without TLS.
  virtual boost::asio::awaitable<void> shutdown_tls() = 0;
  virtual void cancel() = 0;
  virtual void close() = 0;

  virtual bool tls() const = 0;
  virtual std::string tls_version() const = 0;  // "TLSv1.3"; "" without TLS
  virtual std::string tls_cipher() const = 0;
  // The peer's address as text ("192.0.2.7", an IPv4-mapped IPv6 address unmapped), or
  // "unknown" when the connection has none.
  virtual std::string peer_address() const = 0;
};

std::unique_ptr<Transport> tcp_transport(boost::asio::ip::tcp::socket socket);

}  // namespace mxgate::server
