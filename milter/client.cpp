#include "milter/client.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "io/clock.hpp"

namespace mxgate::milter {

namespace asio = boost::asio;
using boost::system::error_code;
using Milliseconds = std::chrono::milliseconds;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadSize = 64 * 1024;

// boost::system::error_category's destructor is protected and non-virtual by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mxgate.milter"; }
  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::connect:
        return "cannot connect to the filter";
      case Error::timeout:
        return "the filter did not answer in time";
      case Error::protocol:
        return "the filter broke the milter protocol";
      case Error::negotiation:
        return "the filter's negotiation asked for more than was offered";
      case Error::closed:
        return "the filter closed the connection";
    }
    return "milter error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

error_code make_error_code(Error e) { return {static_cast<int>(e), error_category()}; }

// The socket and its deadline. The watchdog coroutine holds a shared_ptr to it, so it stays
// valid until the watchdog has seen `closing`.
struct ClientLink {
  using Clock = io::Clock;
  explicit ClientLink(const asio::any_io_executor& executor)
      : socket(executor), timer(executor, Clock::time_point::max()) {}

  void arm(Milliseconds timeout) {
    deadline = Clock::now() + timeout;
    if (deadline < timer.expiry()) timer.expires_at(deadline);
  }
  void disarm() { deadline = Clock::time_point::max(); }
  void shut() {
    error_code ignored;
    socket.close(ignored);
  }

  asio::generic::stream_protocol::socket socket;
  io::Timer timer;
  Clock::time_point deadline = Clock::time_point::max();
  bool expired = false;
  bool closing = false;
};

namespace {

asio::awaitable<void> watchdog(std::shared_ptr<ClientLink> link) {
  for (;;) {
    co_await link->timer.async_wait(kTuple);
    if (link->closing) co_return;
    if (link->deadline <= ClientLink::Clock::now()) {
      link->expired = true;
      link->shut();
      link->disarm();
      link->timer.expires_at(link->deadline);
    } else if (link->timer.expiry() != link->deadline) {
      link->timer.expires_at(link->deadline);
    }
  }
}

}  // namespace

Client::Client(asio::any_io_executor executor, ClientSettings settings)
    : link_(std::make_shared<ClientLink>(executor)),
      settings_(std::move(settings)),
      reader_(std::max<std::size_t>(kMaxBodyChunk, 1 << 16)) {
  asio::co_spawn(executor, watchdog(link_), asio::detached);
}

Client::~Client() { close(); }

void Client::close() {
  if (link_->closing) return;
  link_->closing = true;
  link_->timer.cancel();
  link_->shut();
}

bool Client::usable() const { return !failed_ && !link_->closing && link_->socket.is_open(); }

void Client::park(Milliseconds idle_timeout) { link_->arm(idle_timeout); }

bool Client::resume() {
  link_->disarm();
  if (!usable() || reader_.buffered() != 0) return false;
  // Nothing may be waiting: a filter that closed the idle connection shows as the end of the
  // stream, and it has nothing to say between sessions.
  char byte = 0;
  const auto n = ::recv(link_->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

error_code Client::fail(Error error, std::string why) {
  failed_ = true;
  failure_ = std::move(why);
  close();
  return make_error_code(error);
}

asio::awaitable<error_code> Client::open() {
  const auto& target = settings_.endpoint;
  asio::generic::stream_protocol::endpoint endpoint;
  if (target.unix_socket) {
    endpoint = asio::local::stream_protocol::endpoint(target.path);
  } else {
    endpoint = asio::ip::tcp::endpoint(asio::ip::make_address(target.host), target.port);
  }
  link_->arm(settings_.connect_timeout);
  auto [ec] = co_await link_->socket.async_connect(endpoint, kTuple);
  link_->disarm();
  if (ec) {
    co_return fail(link_->expired ? Error::timeout : Error::connect,
                   "connect to " + target.text() + ": " + ec.message());
  }
  if (!target.unix_socket) link_->socket.set_option(asio::ip::tcp::no_delay(true), ec);

  std::string out;
  encode_negotiation(out, kProtocolVersion, settings_.offer.actions, settings_.offer.protocol);
  if (auto write_ec = co_await write(out, settings_.command_timeout)) co_return write_ec;
  auto packet = co_await read(settings_.command_timeout);
  if (!packet) co_return packet.error();
  const auto negotiation = parse_negotiation(*packet);
  if (!negotiation) {
    co_return fail(Error::protocol,
                   std::string("negotiation answered with '") + packet->code + "'");
  }
  std::string why;
  auto agreement = agree(settings_.offer, *negotiation, why);
  if (!agreement) co_return fail(Error::negotiation, why);
  agreement_ = std::move(*agreement);
  co_return error_code{};
}

asio::awaitable<error_code> Client::write(const std::string& packets, Milliseconds timeout) {
  if (!usable()) co_return make_error_code(Error::closed);
  link_->arm(timeout);
  auto [ec, written] = co_await asio::async_write(link_->socket, asio::buffer(packets), kTuple);
  link_->disarm();
  (void)written;
  if (ec) {
    co_return fail(link_->expired ? Error::timeout : Error::closed, "write: " + ec.message());
  }
  co_return error_code{};
}

asio::awaitable<boost::system::result<Packet>> Client::read(Milliseconds timeout) {
  std::string buffer(kReadSize, '\0');
  for (;;) {
    if (auto packet = reader_.next()) co_return std::move(*packet);
    if (reader_.failed()) co_return fail(Error::protocol, "a packet of length 0 or over 64 KiB");
    if (!usable()) co_return make_error_code(Error::closed);
    link_->arm(timeout);
    auto [ec, n] = co_await link_->socket.async_read_some(asio::buffer(buffer), kTuple);
    link_->disarm();
    if (ec) {
      if (link_->expired) {
        co_return fail(Error::timeout, "no answer in " + std::to_string(timeout.count()) + " ms");
      }
      co_return fail(Error::closed, "read: " + ec.message());
    }
    reader_.feed(std::string_view(buffer.data(), n));
  }
}

asio::awaitable<error_code> Client::send(std::string packets) {
  co_return co_await write(packets, settings_.command_timeout);
}

asio::awaitable<boost::system::result<Answer>> Client::step(Step step, std::string packets,
                                                            Milliseconds timeout) {
  if (auto ec = co_await write(packets, timeout)) co_return ec;
  if (!agreement_.replies(step)) co_return Answer{};
  AnswerReader answers(step, agreement_, settings_.max_body);
  for (;;) {
    auto packet = co_await read(timeout);
    if (!packet) co_return packet.error();
    auto response = parse_response(*packet);
    if (!response) {
      co_return fail(Error::protocol, std::string("a malformed or unknown response '") +
                                          packet->code + "' at " + step_name(step));
    }
    switch (answers.take(std::move(*response))) {
      case AnswerReader::Status::Done:
        co_return answers.answer();
      case AnswerReader::Status::Error:
        co_return fail(Error::protocol, answers.error());
      case AnswerReader::Status::More:
      case AnswerReader::Status::Progress:  // the next read's deadline starts now
        break;
    }
  }
}

}  // namespace mxgate::milter
