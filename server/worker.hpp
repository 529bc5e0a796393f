// A worker: one thread running one io_context that owns its acceptors (SO_REUSEPORT, one per
// listen address and worker), its sessions and its downstream connection pool. A session never
// leaves its worker, so session code takes no locks (ARCHITECTURE.md "Threading").
// The control thread talks to a worker only through post(): set_snapshot(), drain(),
// force_close(), stop().
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <memory>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/clock.hpp"
#include "dns/ares_resolver.hpp"
#include "dns/caching_resolver.hpp"
#include "dns/metrics.hpp"
#include "policy/history_checks.hpp"
#include "postmaster/metrics.hpp"
#include "relay/metrics.hpp"
#include "milter/pool.hpp"
#include "relay/pool.hpp"
#include "relay/queue_runner.hpp"
#include "relay/transaction.hpp"
#include "relay/verify.hpp"
#include "server/connection_limiter.hpp"
#include "server/metrics.hpp"
#include "server/session.hpp"
#include "server/snapshot.hpp"

namespace mxgate::server {

// The c-ares settings of [dns] (workers' resolvers and the portal's).
dns::AresSettings ares_settings(const conf::DnsConfig& dns);

// What the runtime gives every worker; all of it outlives the workers.
struct WorkerShared {
  ConnectionLimiter& limiter;
  ServerMetrics& metrics;
  dns::DnsMetrics& dns_metrics;
  relay::RelayMetrics& relay_metrics;
  postmaster::PostmasterMetrics& postmaster_metrics;  // complaints by mail
  policy::Services policy;                  // the worker fills in its resolver and DKIM key cache
  relay::DownstreamGates* gates = nullptr;  // per-downstream limits and circuit breakers
  relay::QueueShared* queue = nullptr;      // queue mode's spool and claims (null: inline)
  content::ContentBudget* content_budget = nullptr;  // held content in memory, all workers
  relay::VerifyCache* verify_cache = nullptr;        // recipient callout answers, all workers
};

class Worker final : public SessionServices {
 public:
  Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, WorkerShared shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds every listen address with SO_REUSEPORT and returns the bound addresses (a port 0
  // becomes the port the kernel chose; the other workers then bind that same port).
  // Throws std::system_error naming the address.
  // `proxy`: connections start with a PROXY protocol header (server.proxy_listen).
  std::vector<conf::HostPort> listen(const std::vector<conf::HostPort>& addresses,
                                     bool proxy = false);
  void start();  // starts the thread
  void join();

  // Thread-safe requests, carried out on the worker's thread.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  void drain();        // stop accepting; sessions finish their transaction, then 421 4.3.2
  void force_close();  // the drain deadline passed: close every session now
  void stop();         // drained and closed: let the thread end
  void halt();         // stop() did not end the thread in time: abandon the remaining work

  bool finished() const { return finished_.load(); }  // the thread's io_context ran out of work
  std::size_t sessions() const { return session_count_.load(std::memory_order_relaxed); }

  // Used by sessions, on this worker's thread only.
  boost::asio::io_context& io() { return *io_; }
  std::shared_ptr<const Snapshot> snapshot() const override { return snapshot_; }
  relay::Pool& pool() { return *pool_; }
  ServerMetrics& metrics() override { return shared_.metrics; }
  const policy::Services& policy() const override { return shared_.policy; }
  // The delivery chain of a session's transactions: relayed inline or queued (queue mode), with
  // complaint reports to feedback.address taken out first. `client_ip` must outlive it.
  std::unique_ptr<relay::Transaction> make_transaction(const Snapshot& snapshot,
                                                       const std::string& client_ip) override;
  ConnectionLimiter::Ticket admit(const boost::asio::ip::address& client,
                                  ConnectionLimiter::Refusal& refusal) override {
    return shared_.limiter.acquire(client, refusal);
  }
  std::uint32_t active_sessions() const override { return shared_.limiter.active(); }
  content::ContentBudget& content_budget() override { return *shared_.content_budget; }
  milter::Pool* milter_pool() override { return &milter_pool_; }
  // Queue deliveries in progress on this worker (read from any thread).
  std::size_t deliveries() const { return runner_ ? runner_->deliveries() : 0; }

 private:
  class Registration;
  boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket,
                                           ConnectionLimiter::Ticket ticket, bool proxied);
  boost::asio::awaitable<void> probe_dnsbls();  // worker 0 only
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, bool proxy);
  void refuse(boost::asio::ip::tcp::socket socket, ConnectionLimiter::Refusal refusal);
  void on_session_exception(std::exception_ptr error);  // a bug: log once, count

  unsigned index_;
  std::unique_ptr<boost::asio::io_context> io_ = std::make_unique<boost::asio::io_context>(1);
  std::shared_ptr<const Snapshot> snapshot_;
  WorkerShared shared_;
  common::SteadyClock clock_;
  std::unique_ptr<dns::AresResolver> ares_;         // destroyed before io_ (see ~Worker)
  std::unique_ptr<dns::CachingResolver> resolver_;  // in front of ares_
  std::unique_ptr<auth::DkimKeyCache> dkim_keys_;
  std::unique_ptr<relay::Pool> pool_;
  std::unique_ptr<relay::Verifier> verifier_;  // with a verify_cache; uses pool_
  milter::Pool milter_pool_;  // shut down before io_ goes (see ~Worker)
  std::unique_ptr<relay::QueueRunner> runner_;        // queue mode; destroyed after io_
  boost::asio::steady_timer* probe_timer_ = nullptr;  // probe_dnsbls()'s; cancelled by drain()
  struct Listener {
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    bool proxy = false;
  };
  std::vector<Listener> acceptors_;
  std::unordered_set<Session*> sessions_;  // owned by their coroutines; touched on io_ only
  std::atomic<std::size_t> session_count_{0};
  std::atomic<bool> finished_{false};
  bool draining_ = false;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>* work_guard_ = nullptr;
  std::thread thread_;
};

}  // namespace mxgate::server
