#include "server/session_io.hpp"

#include <boost/asio/ssl/error.hpp>
#include <cstring>

namespace mxgate::server {

namespace asio = boost::asio;
using boost::system::error_code;

SessionIo::SessionIo(asio::any_io_executor executor)
    : buffer_(new char[kBufferSize]), timer_(std::move(executor)) {}

void SessionIo::arm(Duration timeout) {
  timed_out_ = false;
  cancelled_ = false;
  deadline_ = io::Clock::now() + timeout;
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
  if (ec == asio::error::operation_aborted || deadline_ == io::Clock::time_point::max()) {
    return;
  }
  if (io::Clock::now() >= deadline_) {
    timed_out_ = true;
    cancel_io();
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

asio::mutable_buffer SessionIo::space() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == kBufferSize) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return asio::buffer(buffer_.get() + end_, kBufferSize - end_);
}

IoStatus SessionIo::landed(const error_code& ec, std::size_t n) {
  end_ += n;
  if (n > 0) return IoStatus::Ok;
  return ec ? status_of(ec) : IoStatus::Closed;
}

void SessionIo::cancel() {
  cancelled_ = true;
  cancel_io();
}

void SessionIo::close() {
  disarm();
  timer_.cancel();
  close_io();
}

}  // namespace mxgate::server
