// milter::Client: one connection to one filter, on the worker's event loop (issue 18).
//   - open(): connects (inet or unix socket, connect_timeout), negotiates (command_timeout) and
//     keeps the Agreement.
//   - step(): sends a step's packets (the caller builds them with protocol.hpp's encoders,
//     macros first) and, when the filter answers that step, reads the responses up to the one
//     that ends it. Each step has a deadline; a progress response starts it again.
//   - send(): packets no answer is awaited for (abort, quit, a step the filter does not answer).
//   - park() / resume(): a connection kept between SMTP sessions (milter::Pool) closes itself
//     when unused for its idle time; resume() tells whether it is still sound.
// A connection that failed once (timeout, a protocol error, the filter closed it) is closed and
// stays unusable: the caller opens a new Client.
// Threading: one coroutine at a time, on the executor it was made with.
// Failure: every error is an error_code of milter::error_category(), never an exception.
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

#include "common/socket_endpoint.hpp"
#include "milter/conversation.hpp"

namespace mxgate::milter {

enum class Error {
  connect = 1,  // the filter could not be reached
  timeout,      // it did not answer in time
  protocol,     // it answered something the protocol does not allow
  negotiation,  // its negotiation asked for more than was offered
  closed,       // it closed the connection
};
const boost::system::error_category& error_category();
boost::system::error_code make_error_code(Error e);

using Endpoint = common::SocketEndpoint;

struct ClientSettings {
  bool operator==(const ClientSettings&) const = default;
  Endpoint endpoint;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds command_timeout{10000};
  Offer offer;
  std::uint64_t max_body = 50u << 20;  // the largest replaced body taken
};

struct ClientLink;  // the socket, its deadline and the watchdog's timer (client.cpp)

class Client {
 public:
  Client(boost::asio::any_io_executor executor, ClientSettings settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  boost::asio::awaitable<boost::system::error_code> open();
  const Agreement& agreement() const { return agreement_; }

  boost::asio::awaitable<boost::system::result<Answer>> step(Step step, std::string packets,
                                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<boost::system::error_code> send(std::string packets);
  bool usable() const;
  void close();
  const ClientSettings& settings() const { return settings_; }

  void park(std::chrono::milliseconds idle_timeout);
  // Back from the pool: false when it expired, the filter closed it or sent something unasked.
  bool resume();
  // Why the last failure happened, for the log ("reply code 250 in 'y'", "no answer in 10s").
  const std::string& failure() const { return failure_; }

 private:
  boost::asio::awaitable<boost::system::error_code> write(const std::string& packets,
                                                          std::chrono::milliseconds timeout);
  boost::asio::awaitable<boost::system::result<Packet>> read(std::chrono::milliseconds timeout);
  boost::system::error_code fail(Error error, std::string why);

  std::shared_ptr<ClientLink> link_;
  ClientSettings settings_;
  Agreement agreement_;
  PacketReader reader_;
  std::string failure_;
  bool failed_ = false;
};

}  // namespace mxgate::milter

namespace boost::system {
template <>
struct is_error_code_enum<mxgate::milter::Error> : std::true_type {};
}  // namespace boost::system
