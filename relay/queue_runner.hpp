// The queue runner of queue mode (issue 7), one per worker. A new message is handed over by the
// session that queued it (deliver_now()). Every queue.poll_interval (at once again while it
// finds more than it has room for), the runner claims the messages that are due (retries, and
// what found no room) and delivers each through a Transaction per route (recipients of another
// route go in the next one). Per recipient: a 2xx is done; a 4xx or a lost connection is
// retried after the next wait of queue.retry (with jitter); a 5xx has failed. A message whose
// recipients are all done leaves the spool, with a DSN (dsn.hpp) to the sender for the failed
// ones; one older than queue.max_age is bounced the same way. Nothing marks a message in flight
// on disk: after a crash it is due again and delivered again. A DSN for a sender whose domain
// no route serves goes to that domain's mail exchangers, or the bounce relay (outbound.hpp);
// one for a domain with a null MX is dropped.
// Threading: a runner and its deliveries live on one worker's executor; spool calls hop to the
// blocking pool. QueueClaims is shared by every runner so that two never deliver the same
// message at once. deliveries() may be read from any thread.
// Failure: a spool error parks the message for its retry wait (it is due again afterwards).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.hpp"
#include "conf/config.hpp"
#include "dns/resolver.hpp"
#include "io/clock.hpp"
#include "relay/router.hpp"
#include "relay/transaction.hpp"
#include "storage/spool.hpp"

namespace mxgate::relay {

struct RelayMetrics;

// The messages being delivered (or held by an admin operation) in this process.
class QueueClaims {
 public:
  explicit QueueClaims(const common::Clock& clock = common::system_clock()) : clock_(clock) {}

  // false while another holds `id`, or while it is parked.
  bool claim(const std::string& id);
  void release(const std::string& id);
  // Released but not to be claimed again before `until_ms` (Unix ms): the attempt's new due
  // time could not be written (disk full), so the schedule still says "due now".
  void park(const std::string& id, std::int64_t until_ms);
  // Claimed, or parked until later: the runners leave it alone.
  bool held(std::string_view id) const;
  std::size_t size() const;

 private:
  std::int64_t now_ms() const;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const common::Clock& clock_;
  mutable std::mutex mutex_;  // guards ids_, parked_
  std::unordered_set<std::string, Hash, std::equal_to<>> ids_;
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> parked_;
};

// What every worker's runner shares: the spool, the claims, and where spool calls run.
struct QueueShared {
  storage::Spool& spool;
  QueueClaims& claims;
  boost::asio::any_io_executor blocking;  // spool reads and outcome writes
  boost::asio::any_io_executor writers;   // the synced commits of new messages (QueueIntake)
};

class QueueRunner {
 public:
  // A transaction to the downstreams of `router` (an InlineRelay over the worker's pool).
  using Relay = std::function<std::unique_ptr<Transaction>(const Router& router)>;

  // `resolver` (the worker's) finds the mail exchangers of DSNs to outside domains.
  QueueRunner(boost::asio::any_io_executor executor, QueueShared shared, Relay relay,
              dns::Resolver& resolver, RelayMetrics& metrics,
              const common::Clock& clock = common::system_clock());
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  // The configuration and routes to deliver with; at start and after every reload, on the
  // runner's executor. Deliveries in progress keep the ones they started with.
  void configure(std::shared_ptr<const conf::Config> config, std::shared_ptr<const Router> router);
  void start();  // the polling loop
  void drain();  // no more polls nor new deliveries; those in progress finish
  // A message just committed by a session of this worker: delivered at once (with its content
  // when it is in memory) when there is room for another delivery; otherwise a later poll takes
  // it from the spool.
  void deliver_now(storage::Envelope envelope, std::optional<std::string> body);
  std::size_t deliveries() const { return deliveries_.load(std::memory_order_relaxed); }
  const QueueShared& shared() const { return shared_; }

 private:
  struct Attempt;
  boost::asio::awaitable<void> poll();
  boost::asio::awaitable<void> deliver(storage::Spool::Due due,
                                       std::optional<storage::Envelope> envelope,
                                       std::optional<std::string> body);
  boost::asio::awaitable<void> attempt(Attempt& attempt);
  boost::asio::awaitable<bool> route_outbound(Attempt& attempt);
  boost::asio::awaitable<bool> send_body(Transaction& relay, Attempt& attempt);
  boost::asio::awaitable<void> settle(Attempt& attempt);
  void spawn(storage::Spool::Due due, std::optional<storage::Envelope> envelope,
             std::optional<std::string> body);
  void count(const Attempt& attempt) const;
  void log_recipients(const Attempt& attempt) const;  // recipient_log.hpp

  boost::asio::any_io_executor executor_;
  QueueShared shared_;
  Relay relay_;
  dns::Resolver& resolver_;
  RelayMetrics& metrics_;
  const common::Clock& clock_;
  std::shared_ptr<const conf::Config> config_;
  std::shared_ptr<const Router> router_;
  io::Timer timer_;  // the next poll
  bool draining_ = false;
  std::atomic<std::size_t> deliveries_{0};
};

}  // namespace mxgate::relay
