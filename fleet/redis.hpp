// fleet::RedisConnection: one connection to a Redis server on the worker's event loop (issue 19),
// hiredis's asynchronous context driven by an Asio adapter of our own (redis.cpp): hiredis
// encodes commands and parses replies (RESP2), Asio waits for the socket.
//   - open(): connects (TCP to an IP literal, or a unix socket; a host name is refused because
//     hiredis would resolve it with a blocking call), sends AUTH when a password is set, else
//     PING, and waits for its answer within connect_timeout.
//   - command(): sends one command (binary-safe arguments) and awaits its reply. Any number may
//     be in flight (pipelined; Redis answers in order). Each has a deadline: when one passes, the
//     connection is closed and every command in flight fails with Error::timeout, because a
//     connection that lost track of one reply cannot tell which reply belongs to which command.
//   - An error reply ("-WRONGTYPE ...") is a RedisReply value, not a failure of the connection.
// A connection that failed once (timeout, the server closed it, close()) stays closed: open a new
// one (fleet::RedisLink does this, with backoff and Sentinel).
// Threading: every call on the executor it was made with (one worker's thread).
// Failure: an error_code of fleet::error_category(), never an exception; failure() says why.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::fleet {

enum class Error {
  connect = 1,    // the server could not be reached
  timeout,        // it did not answer in time (the connection is closed)
  closed,         // the connection was closed (by the server, by close(), after a timeout)
  protocol,       // hiredis could not parse what the server sent
  auth,           // AUTH (or the first PING) was refused
  not_connected,  // RedisLink: no connection to the master right now
  no_master,      // RedisLink: no Sentinel named a master that says it is one
};
const boost::system::error_category& error_category();
boost::system::error_code make_error_code(Error e);

// One reply, copied out of hiredis's (which frees its own after the callback).
struct RedisReply {
  enum class Type { nil, integer, status, error, string, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;  // a status, an error ("WRONGTYPE Operation against ..."), a bulk string
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_integer() const { return type == Type::integer; }
  bool is_string() const { return type == Type::string; }
  bool is_status() const { return type == Type::status; }
  bool is_array() const { return type == Type::array; }
  // For tests and logs: "OK", "(nil)", "(integer) 3", "(error) ERR ...", "[a, b]".
  std::string debug_text() const;
};

// Where a Redis server or Sentinel listens: an IP literal and port, or a unix socket path.
struct RedisEndpoint {
  bool unix_socket = false;
  std::string host;
  std::uint16_t port = 0;
  std::string path;

  static RedisEndpoint tcp(std::string host, std::uint16_t port);
  static RedisEndpoint unix_path(std::string path);
  std::string text() const;  // "127.0.0.1:6379", "[::1]:6379", "/run/redis/redis.sock"
  bool operator==(const RedisEndpoint&) const = default;
};

struct RedisState;  // the hiredis context and the Asio side of the adapter (redis.cpp)

class RedisConnection {
 public:
  explicit RedisConnection(boost::asio::any_io_executor executor);
  ~RedisConnection();  // closes: commands in flight fail with Error::closed
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Once per object. An empty password sends PING instead of AUTH.
  boost::asio::awaitable<boost::system::error_code> open(RedisEndpoint endpoint,
                                                         std::chrono::milliseconds connect_timeout,
                                                         std::string password = {});
  boost::asio::awaitable<boost::system::result<RedisReply>> command(
      std::vector<std::string> args, std::chrono::milliseconds timeout);
  // Completes when the connection is closed, whoever closed it (or at once if it is).
  boost::asio::awaitable<void> wait_closed();

  bool connected() const;
  // Commands in flight fail with Error::closed; `why` becomes failure() unless it has one.
  void close(const std::string& why = "closed by mxgate");
  // Why it failed or closed, for logs and /readyz: "connection refused", "no reply in 200 ms".
  const std::string& failure() const;
  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  std::shared_ptr<RedisState> state_;
  RedisEndpoint endpoint_;
};

}  // namespace mxgate::fleet

namespace boost::system {
template <>
struct is_error_code_enum<mxgate::fleet::Error> : std::true_type {};
}  // namespace boost::system
