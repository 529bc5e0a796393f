// fleet::RedisLink: the fleet service's way to Redis (issue 19). It keeps one connection up to
// the current master and gets it back when it drops:
//   - direct: settings.server is the master; reconnects with backoff (backoff_min doubling to
//     backoff_max) for as long as it runs.
//   - Sentinel: asks each of settings.sentinels in turn SENTINEL get-master-addr-by-name, connects
//     to the address named and checks that ROLE says master (after a fail-over the old master can
//     come back as a replica). On a disconnect or a -READONLY reply it asks again. While it waits
//     to retry it asks the Sentinels every sentinel_poll and tries at once when they name another
//     master, so a fail-over is followed within about sentinel_poll after the Sentinel switched.
// command() never waits for a connection: while the link is down it fails at once with
// Error::not_connected (callers keep their own work and try later; the SMTP path never waits on
// Redis). status() is one line for /readyz and logs: "redis 127.0.0.1:6379: connection refused".
// Threading: every call on the executor it was made with; on_change runs there too.
// Failure: error_codes of fleet::error_category(); state changes are logged once each.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet/redis.hpp"

namespace mxgate::fleet {

struct RedisLinkSettings {
  std::optional<RedisEndpoint> server;  // direct; or the two below
  std::vector<RedisEndpoint> sentinels;
  std::string master_name;
  std::string password;           // AUTH to the master (empty: none)
  std::string sentinel_password;  // AUTH to the Sentinels (empty: none)
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds probe_timeout{1000};  // ROLE and the Sentinel question
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds sentinel_poll{500};
};

struct LinkCore;  // what the keeper coroutine shares with the link (redis_link.cpp)

class RedisLink {
 public:
  using OnChange = std::function<void(bool connected, const std::string& status)>;

  RedisLink(boost::asio::any_io_executor executor, RedisLinkSettings settings);
  ~RedisLink();  // stop()
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start();  // once; the keeper runs until stop()
  void stop();   // closes the connection; the keeper ends on its next turn of the event loop

  bool connected() const;
  std::string status() const;
  // The master connected to (or last tried), when there is one.
  std::optional<RedisEndpoint> master() const;
  void on_change(OnChange callback);

  // Error::not_connected at once while down. A -READONLY reply (the master was demoted) is
  // returned to the caller, and the link drops the connection and looks for the master again.
  boost::asio::awaitable<boost::system::result<RedisReply>> command(
      std::vector<std::string> args, std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<LinkCore> core_;
};

}  // namespace mxgate::fleet
