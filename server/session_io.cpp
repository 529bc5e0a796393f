#include "server/session_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <cstring>

namespace mxgate::server {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

SessionIo::SessionIo(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)),
      buffer_(new char[kBufferSize]),
      timer_(socket_.get_executor()) {}

void SessionIo::arm(Duration timeout) {
  timed_out_ = false;
  cancelled_ = false;
  deadline_ = std::chrono::steady_clock::now() + timeout;
  // A running wait that ends earlier re-checks when it fires; only a shorter deadline needs
  // the timer moved.
  if (!waiting_ || deadline_ < timer_.expiry()) wait_for_deadline();
}

void SessionIo::wait_for_deadline() {
  waiting_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this(), generation = ++generation_](error_code ec) {
    self->on_timer(ec, generation);
  });
}

void SessionIo::on_timer(error_code ec, unsigned generation) {
  if (generation != generation_) return;  // superseded by a shorter deadline
  waiting_ = false;
  if (ec == asio::error::operation_aborted ||
      deadline_ == std::chrono::steady_clock::time_point::max()) {
    return;
  }
  if (std::chrono::steady_clock::now() >= deadline_) {
    timed_out_ = true;
    error_code ignored;
    socket_.cancel(ignored);
  } else {
    wait_for_deadline();
  }
}

IoStatus SessionIo::status_of(const error_code& ec) const {
  if (!ec) return IoStatus::Ok;
  if (timed_out_) return IoStatus::Timeout;
  if (cancelled_) return IoStatus::Cancelled;
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated || ec == asio::error::broken_pipe) {
    return IoStatus::Closed;
  }
  return IoStatus::Error;
}

asio::awaitable<IoStatus> SessionIo::read_more(Duration timeout) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == kBufferSize) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == kBufferSize) co_return IoStatus::Error;  // callers consume; cannot happen
  arm(timeout);
  auto space = asio::buffer(buffer_.get() + end_, kBufferSize - end_);
  auto [ec, n] = tls_ ? co_await tls_->async_read_some(space, kNoThrow)
                      : co_await socket_.async_read_some(space, kNoThrow);
  disarm();
  end_ += n;
  if (n > 0) co_return IoStatus::Ok;
  co_return ec ? status_of(ec) : IoStatus::Closed;
}

asio::awaitable<IoStatus> SessionIo::write(std::string_view data, Duration timeout) {
  arm(timeout);
  auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(data), kNoThrow)
                      : co_await asio::async_write(socket_, asio::buffer(data), kNoThrow);
  disarm();
  (void)n;
  co_return status_of(ec);
}

asio::awaitable<IoStatus> SessionIo::handshake(asio::ssl::context& ctx, Duration timeout) {
  begin_ = end_ = 0;
  tls_.emplace(socket_, ctx);
  arm(timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
  disarm();
  co_return status_of(ec);
}

asio::awaitable<void> SessionIo::shutdown_tls(Duration timeout) {
  if (!tls_) co_return;
  arm(timeout);
  auto [ec] = co_await tls_->async_shutdown(kNoThrow);
  disarm();
  (void)ec;  // the client may close first; either way the connection ends here
}

void SessionIo::cancel() {
  cancelled_ = true;
  error_code ignored;
  socket_.cancel(ignored);
}

void SessionIo::close() {
  disarm();
  timer_.cancel();
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string SessionIo::tls_version() const {
  if (!tls_) return {};
  return SSL_get_version(const_cast<SessionIo*>(this)->tls_->native_handle());
}

std::string SessionIo::tls_cipher() const {
  if (!tls_) return {};
  return SSL_get_cipher_name(const_cast<SessionIo*>(this)->tls_->native_handle());
}

}  // namespace mxgate::server
