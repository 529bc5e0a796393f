// One SMTP client connection to a mailbox server (RFC 5321 client side, RFC 3207 STARTTLS,
// RFC 2920 pipelining): open() connects (each resolved address in turn), reads the 220 greeting,
// says EHLO (HELO when EHLO gets a 5xx), upgrades with STARTTLS when offered and says EHLO again.
// Afterwards the owner queues command lines or content, flushes them and reads replies.
// Deadlines: every operation takes a timeout; one watchdog coroutine per connection closes the
// socket when the current deadline passes (the classic Asio deadline pattern: arming a deadline
// is a store, the timer is re-armed only when a deadline moves earlier). Between operations the
// connection has no deadline; park() gives it one (the pool's idle timeout). connect_timeout
// bounds name resolution and each address tried; command_timeout bounds the greeting, each EHLO
// or HELO, STARTTLS and the TLS handshake.
// Failures are return values (relay::Error through error_code); a connection that failed is
// closed and must be discarded. Nothing here counts metrics (see count_failure(),
// metrics.hpp).
// Threading: one worker; every operation is awaited by one coroutine at a time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/metric.hpp"
#include "conf/config.hpp"
#include "io/clock.hpp"
#include "relay/gates.hpp"
#include "smtp/client_protocol.hpp"
#include "smtp/reply.hpp"

namespace boost::asio::ssl {
class context;
}

namespace mxgate::relay {

enum class Error {
  connect = 1,   // no address, refused, unreachable, or connect_timeout
  timeout,       // no (complete) reply or write within the operation's deadline
  protocol,      // not SMTP, an unexpected greeting/EHLO reply, or the peer closed
  tls,           // STARTTLS required but not offered, refused, or the handshake failed
  shutdown,      // the pool is draining
  busy,          // every downstream of the route at relay.max_connections (gates.hpp)
  circuit_open,  // every downstream of the route failing: its circuit breaker is open
};

}  // namespace mxgate::relay

template <>
struct boost::system::is_error_code_enum<mxgate::relay::Error> : std::true_type {};

namespace mxgate::relay {

struct DownstreamMetrics;

const boost::system::error_category& error_category();
boost::system::error_code make_error_code(Error e);

struct DownstreamSettings {
  std::string helo_name;
  conf::Duration connect_timeout{};
  conf::Duration command_timeout{};
  conf::Route::Tls tls = conf::Route::Tls::May;  // the route's level (conf::Route::tls_level)
  // With Tls::Verify: the certificate's SHA-256 (lowercase hex) must be one of these; empty:
  // the connection's TLS context verified the chain and the name instead.
  std::vector<std::string> fingerprints;
  std::string ca_file;  // what that context trusts ("": the system's CAs)
};

struct DownstreamLink;  // socket, timer and deadline, shared with the watchdog (downstream.cpp)

class Downstream {
 public:
  using Clock = io::Clock;  // a test's manual clock drives the deadlines

  // `tls` (the worker's client context) outlives the connection. No I/O yet.
  Downstream(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls,
             conf::HostPort target);
  ~Downstream();  // closes the socket without QUIT
  Downstream(const Downstream&) = delete;
  Downstream& operator=(const Downstream&) = delete;

  // Connects and greets as described above. On failure the connection is closed.
  boost::asio::awaitable<boost::system::error_code> open(DownstreamSettings settings);
  // EHLO (or HELO) again with `name`: after XCLIENT reset the server's session, the client's
  // own HELO name (the server records the HELO of this command, not XCLIENT's attribute).
  boost::asio::awaitable<boost::system::error_code> hello_again(std::string name);

  // Appends "line\r\n" to the output buffer (sent by the next flush()).
  void queue(std::string_view line);
  // The output buffer itself, for content and for composing commands without a copy.
  std::string& output() { return out_; }
  // Writes the whole output buffer, then empties it (keeping its capacity).
  boost::asio::awaitable<boost::system::error_code> flush(conf::Duration timeout);
  // Reads the next reply (deadline → Error::timeout; malformed, EOF, reset → Error::protocol).
  boost::asio::awaitable<boost::system::result<smtp::Reply>> read_reply(conf::Duration timeout);
  // flush() then read_reply(), both within one `timeout`.
  boost::asio::awaitable<boost::system::result<smtp::Reply>> exchange(conf::Duration timeout);
  // queue(line) then exchange().
  boost::asio::awaitable<boost::system::result<smtp::Reply>> command(std::string_view line,
                                                                     conf::Duration timeout);

  // Closes the socket now (pending operations end with an error). Idempotent.
  void close();
  // False once closed, after any failed operation, or when a parked deadline passed.
  bool usable() const;
  // Gives the idle connection a deadline after which it closes itself (while pooled).
  void park(conf::Duration idle_timeout);
  void unpark();

  const conf::HostPort& target() const { return target_; }
  // "host[address]:port" as Postfix logs a relay ("host:port" before the connection is made).
  std::string relay_name() const;
  const smtp::EhloCapabilities& capabilities() const { return caps_; }
  bool tls_active() const { return tls_active_; }
  // After STARTTLS at the Verify level: the certificate passed (its chain and name, or a
  // fingerprint).
  bool verified() const { return verified_; }
  const DownstreamSettings& settings() const { return settings_; }
  bool esmtp() const { return esmtp_; }

  // Set when a transaction may have been started on the connection: RSET before the next MAIL.
  bool needs_rset = false;
  // Set by the pool on a connection taken from the idle list.
  bool reused = false;
  // The server refused our XCLIENT or XFORWARD: not asked again on this connection.
  bool forward_refused = false;
  // An XCLIENT went through: the server takes us for that client until the next XCLIENT.
  bool speaks_for_client = false;
  // Its place under the downstream's concurrency limit while in use (empty while pooled).
  GateSlot slot;
  // Its count in its downstream's connections in use (metrics.hpp) while a pool has it handed
  // out; empty while pooled.
  common::GaugeToken in_use;
  // Its downstream's series (metrics.hpp), set by the pool that opened it; null in tests that
  // open connections themselves.
  DownstreamMetrics* metrics = nullptr;

 private:
  boost::asio::awaitable<boost::system::error_code> connect(conf::Duration timeout);
  boost::asio::awaitable<boost::system::error_code> hello(const DownstreamSettings& settings);
  boost::asio::awaitable<boost::system::error_code> starttls(const DownstreamSettings& settings);
  // Unarmed halves of flush() and read_reply(): the caller armed the deadline.
  boost::asio::awaitable<boost::system::error_code> write_out();
  boost::asio::awaitable<boost::system::result<smtp::Reply>> read_in();
  boost::system::error_code fail(Error error);
  boost::system::error_code io_failure();

  std::shared_ptr<DownstreamLink> link_;
  conf::HostPort target_;
  std::string peer_address_;  // the address connected to
  std::string in_;  // received bytes; [in_begin_, in_end_) not parsed yet
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string out_;
  smtp::ReplyParser parser_;
  smtp::EhloCapabilities caps_;
  DownstreamSettings settings_;  // as open() was given them
  bool tls_active_ = false;
  bool verified_ = false;
  bool esmtp_ = false;
  bool failed_ = false;
};

}  // namespace mxgate::relay
