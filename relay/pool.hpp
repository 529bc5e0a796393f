// The worker's downstream connections: idle ones kept per downstream (host, port) between
// transactions, at most relay.pool_size each, closed after relay.pool_idle_timeout; new ones
// opened in route order (each downstream of the route in turn) when no idle one fits.
// A connection handed out is owned by its user until release(); a released connection is
// RSET lazily by its next user (Downstream::needs_rset). With DownstreamGates (gates.hpp), a
// connection in use holds a slot of its downstream, and a downstream whose circuit is open
// is skipped.
// A connection handed out counts in its downstream's mxgate_downstream_connections_in_use
// until it comes back or is destroyed (Downstream::in_use).
// Failures: acquire() returns relay::Error (connect/timeout/protocol/tls of the last downstream
// tried; busy or circuit_open when none could be tried; or shutdown) and has counted it in the
// downstream_* metrics.
// Threading: one Pool per worker, used only on that worker's thread. It must outlive every
// InlineRelay of the worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "relay/downstream.hpp"

namespace mxgate::relay {

struct RelayMetrics;

class Pool {
 public:
  // `gates` (shared by the workers; may be null: no limits) outlives the pool.
  Pool(boost::asio::any_io_executor executor, const conf::RelayConfig& config,
       std::string helo_name, RelayMetrics& metrics, DownstreamGates* gates = nullptr);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A new configuration (after a reload): timeouts and pool_size apply at once; idle
  // connections are closed when the HELO name changed, trimmed to pool_size otherwise.
  void update(const conf::RelayConfig& config, std::string helo_name);

  // Draining: closes the idle connections; acquire() fails with Error::shutdown afterwards and
  // released connections are closed.
  void shutdown();

  // A connection ready for a MAIL to one of `route`'s downstreams. With `allow_idle`, an idle
  // connection in route order is taken first (reused = true, needs_rset = true); otherwise, or
  // when there is none, a new one is opened, trying the downstreams in order. A route with
  // requiring TLS (conf::Route::tls_level) only gets connections that did STARTTLS, verified
  // the same way for tls = "verify". `as_ourselves`: no idle connection
  // that speaks for a client since an XCLIENT (a recipient callout must be judged as mxgate).
  // When every downstream is at its connection limit, waits for a slot up to
  // relay.connect_timeout. `route` outlives the call.
  boost::asio::awaitable<boost::system::result<std::unique_ptr<Downstream>>> acquire(
      const conf::Route& route, bool allow_idle = true, bool as_ourselves = false);

  // Gives back a connection between transactions; one that failed, or any while draining, or
  // beyond pool_size (the oldest idle one goes), is closed instead.
  void release(std::unique_ptr<Downstream> connection);

  const conf::RelayConfig& config() const { return config_; }
  RelayMetrics& metrics() { return metrics_; }

  const std::string& helo_name() const { return helo_name_; }
  std::size_t idle_count() const;  // for tests and the admin page
  bool draining() const { return draining_; }

 private:
  struct Bucket {
    conf::HostPort target;
    std::vector<std::unique_ptr<Downstream>> idle;  // oldest first
  };

  Bucket* bucket(const conf::HostPort& target);
  std::unique_ptr<Downstream> take_idle(const conf::HostPort& target, const conf::Route& route,
                                        bool as_ourselves);
  // One pass over the route; `refusals` gets the gates' answer for each downstream.
  boost::asio::awaitable<boost::system::result<std::unique_ptr<Downstream>>> try_route(
      const conf::Route& route, bool allow_idle, bool as_ourselves,
      std::vector<DownstreamGates::Refusal>& refusals);
  boost::asio::awaitable<boost::system::result<std::unique_ptr<Downstream>>> open(
      const conf::HostPort& target, const conf::Route& route);
  void count_refusals(const conf::Route& route, const boost::system::error_code& ec,
                      const std::vector<DownstreamGates::Refusal>& refusals);
  // The client context for `route`: the unverified one, or one verifying against its CAs.
  boost::asio::ssl::context& context_for(const conf::Route& route);

  boost::asio::any_io_executor executor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // no verification (tls may, encrypt)
  // tls = "verify" without fingerprints: by CA file ("": the system's); cleared by update().
  std::map<std::string, std::unique_ptr<boost::asio::ssl::context>> verifying_;
  conf::RelayConfig config_;
  std::string helo_name_;
  RelayMetrics& metrics_;
  DownstreamGates* gates_;
  std::vector<Bucket> buckets_;
  bool draining_ = false;
};

}  // namespace mxgate::relay
