#include "fleet/redis.hpp"

#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <memory>
#include <optional>

#include "io/clock.hpp"

namespace mxgate::fleet {

namespace asio = boost::asio;
using boost::system::error_code;
using boost::system::result;
using Milliseconds = std::chrono::milliseconds;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// boost::system::error_category's destructor is protected and non-virtual by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mxgate.fleet"; }
  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::connect:
        return "cannot connect to Redis";
      case Error::timeout:
        return "Redis did not answer in time";
      case Error::closed:
        return "the Redis connection is closed";
      case Error::protocol:
        return "Redis sent something that is not RESP";
      case Error::auth:
        return "Redis refused the connection's first command (AUTH or PING)";
      case Error::not_connected:
        return "not connected to the Redis master";
      case Error::no_master:
        return "no Sentinel named a reachable Redis master";
    }
    return "fleet error";
  }
};
#pragma GCC diagnostic pop

RedisReply copy_reply(const redisReply& in) {
  RedisReply out;
  switch (in.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = in.integer;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(in.elements);
      for (std::size_t i = 0; i < in.elements; ++i)
        out.elements.push_back(copy_reply(*in.element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
      break;
  }
  if (in.str != nullptr) out.text.assign(in.str, in.len);
  return out;
}

// hiredis's messages start with a capital ("Connection refused"); ours are continued sentences.
std::string sentence(const char* text) {
  std::string out = text != nullptr && *text != '\0' ? text : "unknown error";
  out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

error_code make_error_code(Error e) { return {static_cast<int>(e), error_category()}; }

std::string RedisReply::debug_text() const {
  switch (type) {
    case Type::nil:
      return "(nil)";
    case Type::integer:
      return fmt::format("(integer) {}", integer);
    case Type::error:
      return "(error) " + text;
    case Type::status:
    case Type::string:
      return text;
    case Type::array: {
      std::string out = "[";
      for (const auto& element : elements) {
        if (out.size() > 1) out += ", ";
        out += element.debug_text();
      }
      return out + "]";
    }
  }
  return {};
}

RedisEndpoint RedisEndpoint::tcp(std::string host, std::uint16_t port) {
  RedisEndpoint out;
  out.host = std::move(host);
  out.port = port;
  return out;
}

RedisEndpoint RedisEndpoint::unix_path(std::string path) {
  RedisEndpoint out;
  out.unix_socket = true;
  out.path = std::move(path);
  return out;
}

std::string RedisEndpoint::text() const {
  if (unix_socket) return path;
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// The adapter: hiredis says through its ev hooks whether it wants to read or write; the
// descriptor waits for that and calls hiredis back. hiredis owns the socket: the descriptor is
// released (never closed) in the cleanup hook, which hiredis calls before it closes the fd.
// hiredis may free the context inside any of its calls (an EOF, an error, a failed connect):
// `context` is null from then on, and every wait's handler holds the state alive and checks it.
struct RedisState : std::enable_shared_from_this<RedisState> {
  explicit RedisState(const asio::any_io_executor& executor)
      : descriptor(executor), closed_signal(executor, io::Clock::time_point::max()) {}

  void attach(redisAsyncContext* ac);
  void arm_read();
  void arm_write();
  void on_readable(const error_code& ec);
  void on_writable(const error_code& ec);
  void detach();
  // Frees the context: every command in flight fails with `reason` (unless it already has one).
  void shut(Error reason, const std::string& why);
  void note_failure(std::string why) {
    if (failure.empty()) failure = std::move(why);
  }

  redisAsyncContext* context = nullptr;
  asio::posix::stream_descriptor descriptor;
  io::Timer closed_signal;  // never expires; cancelled when the connection closes
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
  bool ever_connected = false;
  bool closed = false;
  std::optional<Error> close_reason;  // set when we close it, before hiredis runs the callbacks
  std::string failure;
};

namespace {

RedisState& state_of(void* data) { return *static_cast<RedisState*>(data); }

void hook_add_read(void* data) {
  state_of(data).want_read = true;
  state_of(data).arm_read();
}
void hook_del_read(void* data) { state_of(data).want_read = false; }
void hook_add_write(void* data) {
  state_of(data).want_write = true;
  state_of(data).arm_write();
}
void hook_del_write(void* data) { state_of(data).want_write = false; }
void hook_cleanup(void* data) { state_of(data).detach(); }

void on_connect(const redisAsyncContext* ac, int status) {
  auto& state = state_of(ac->data);
  if (status == REDIS_OK) {
    state.ever_connected = true;
  } else {
    state.note_failure(sentence(ac->c.errstr));
  }
}

void on_disconnect(const redisAsyncContext* ac, int status) {
  if (status != REDIS_OK) state_of(ac->data).note_failure(sentence(ac->c.errstr));
}

// A command in flight. Its timer expires at the command's deadline; the reply cancels it.
struct Pending {
  Pending(const asio::any_io_executor& executor, io::Clock::time_point deadline)
      : timer(executor, deadline) {}
  io::Timer timer;
  bool done = false;
  result<RedisReply> outcome = make_error_code(Error::closed);
};

// hiredis calls it once per command: with the reply, or with null when the context is freed
// (then the error says why). It never resumes the caller here: the timer's cancel posts that,
// so no code of ours runs inside hiredis (which would be free to free the context under it).
void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  const std::unique_ptr<std::shared_ptr<Pending>> holder(
      static_cast<std::shared_ptr<Pending>*>(privdata));
  auto& pending = **holder;
  auto& state = state_of(ac->data);
  if (reply != nullptr) {
    pending.outcome = copy_reply(*static_cast<redisReply*>(reply));
  } else {
    if (ac->c.err != 0) state.note_failure(sentence(ac->c.errstr));
    Error why = Error::closed;
    if (state.close_reason) {
      why = *state.close_reason;
    } else if (!state.ever_connected) {
      why = Error::connect;
    } else if (ac->c.err == REDIS_ERR_PROTOCOL) {
      why = Error::protocol;
    }
    pending.outcome = make_error_code(why);
  }
  pending.done = true;
  pending.timer.cancel();
}

}  // namespace

void RedisState::attach(redisAsyncContext* ac) {
  context = ac;
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = hook_add_read;
  ac->ev.delRead = hook_del_read;
  ac->ev.addWrite = hook_add_write;
  ac->ev.delWrite = hook_del_write;
  ac->ev.cleanup = hook_cleanup;
  // Before the callbacks: setting the connect callback already asks for a write wait.
  descriptor.assign(ac->c.fd);
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

void RedisState::arm_read() {
  if (read_armed || context == nullptr) return;
  read_armed = true;
  descriptor.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
}

void RedisState::arm_write() {
  if (write_armed || context == nullptr) return;
  write_armed = true;
  descriptor.async_wait(
      asio::posix::stream_descriptor::wait_write,
      [self = shared_from_this()](const error_code& ec) { self->on_writable(ec); });
}

void RedisState::on_readable(const error_code& ec) {
  read_armed = false;
  if (ec || context == nullptr || !want_read) return;
  redisAsyncHandleRead(context);
  if (want_read) arm_read();
}

void RedisState::on_writable(const error_code& ec) {
  write_armed = false;
  if (ec || context == nullptr || !want_write) return;
  redisAsyncHandleWrite(context);
  if (want_write) arm_write();
}

void RedisState::detach() {
  context = nullptr;
  want_read = false;
  want_write = false;
  if (descriptor.is_open()) descriptor.release();  // cancels the waits; hiredis closes the fd
  closed = true;
  closed_signal.cancel();
}

void RedisState::shut(Error reason, const std::string& why) {
  if (context == nullptr) return;
  close_reason = reason;
  note_failure(why);
  redisAsyncFree(context);  // runs every callback with null, then the cleanup hook
}

RedisConnection::RedisConnection(asio::any_io_executor executor)
    : state_(std::make_shared<RedisState>(executor)) {}

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::close(const std::string& why) {
  state_->shut(Error::closed, why);
  state_->closed = true;  // also before open(): it then fails
}

bool RedisConnection::connected() const {
  return state_->context != nullptr && state_->ever_connected;
}

const std::string& RedisConnection::failure() const { return state_->failure; }

asio::awaitable<error_code> RedisConnection::open(RedisEndpoint endpoint,
                                                  Milliseconds connect_timeout,
                                                  std::string password) {
  const auto state = state_;
  if (state->context != nullptr || state->closed) co_return make_error_code(Error::closed);
  endpoint_ = endpoint;
  // hiredis would resolve a host name with a blocking getaddrinfo() on the worker's thread.
  error_code not_ip;
  if (!endpoint.unix_socket) asio::ip::make_address(endpoint.host, not_ip);
  if (not_ip) {
    state->note_failure("not an IP address: " + endpoint.host);
    state->closed = true;
    co_return make_error_code(Error::connect);
  }
  redisAsyncContext* ac = endpoint.unix_socket
                              ? redisAsyncConnectUnix(endpoint.path.c_str())
                              : redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
  if (ac == nullptr || ac->c.err != 0) {
    state->note_failure(ac != nullptr ? sentence(ac->c.errstr) : "out of memory");
    if (ac != nullptr) redisAsyncFree(ac);  // no hooks yet: nothing of ours runs
    state->closed = true;
    co_return make_error_code(Error::connect);
  }
  state->attach(ac);
  // Notices a peer that vanished (a host down, a cable) on a connection that is idle.
  if (!endpoint.unix_socket) redisEnableKeepAlive(&ac->c);

  std::vector<std::string> hello{"PING"};
  if (!password.empty()) hello = {"AUTH", std::move(password)};
  auto reply = co_await command(std::move(hello), connect_timeout);
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    state->shut(Error::auth, reply->text);
    co_return make_error_code(Error::auth);
  }
  co_return error_code{};
}

asio::awaitable<result<RedisReply>> RedisConnection::command(std::vector<std::string> args,
                                                             Milliseconds timeout) {
  const auto state = state_;
  if (state->context == nullptr) co_return make_error_code(Error::closed);
  auto pending =
      std::make_shared<Pending>(state->descriptor.get_executor(), io::Clock::now() + timeout);
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto holder = std::make_unique<std::shared_ptr<Pending>>(pending);
  if (redisAsyncCommandArgv(state->context, on_reply, holder.get(), static_cast<int>(args.size()),
                            argv.data(), lengths.data()) != REDIS_OK) {
    co_return make_error_code(Error::closed);
  }
  holder.release();  // hiredis hands it back to on_reply

  co_await pending->timer.async_wait(kTuple);
  if (!pending->done) {
    state->shut(Error::timeout, state->ever_connected
                                    ? fmt::format("no reply within {} ms", timeout.count())
                                    : fmt::format("not connected within {} ms", timeout.count()));
  }
  if (!pending->done) co_return make_error_code(Error::timeout);
  co_return std::move(pending->outcome);
}

asio::awaitable<void> RedisConnection::wait_closed() {
  const auto state = state_;
  if (state->context == nullptr) co_return;
  co_await state->closed_signal.async_wait(kTuple);
}

}  // namespace mxgate::fleet
