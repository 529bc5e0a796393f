#include "server/worker.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <system_error>

#include "postmaster/feedback_intake.hpp"
#include "relay/inline_relay.hpp"
#include "relay/queue_intake.hpp"
#include "server/session.hpp"
#include "smtp/replies.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The kernel's send buffer of a session (Linux doubles it). A session only sends replies (the
// longest, EHLO's, is a few hundred bytes) and a TLS handshake's certificates, so a small fixed
// buffer costs nothing; without it the kernel grows the buffer to megabytes for a client that
// pipelines commands and never reads, and the session answers that many commands before its
// write blocks and times out.
constexpr int kSessionSendBuffer = 16 * 1024;

asio::awaitable<void> say_and_close(tcp::socket socket, std::string reply) {
  // A refused client gets its 421 without waiting for anything else; the write is bounded by
  // the socket buffer, which a fresh connection always has room for.
  auto [ec, n] =
      co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
  (void)ec;
  (void)n;
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

tcp::endpoint resolve_listen(const conf::HostPort& address) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    throw std::system_error(
        ec, fmt::format("server.listen: '{}' is not an IP address", address.text()));
  }
  return {ip, address.port};
}

constexpr auto kProbeInterval = std::chrono::seconds(60);

dns::CacheSettings cache_settings(const conf::DnsConfig& dns) {
  dns::CacheSettings settings;
  settings.max_entries = dns.cache_entries;
  settings.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(dns.max_ttl);
  settings.max_negative_ttl =
      std::chrono::duration_cast<std::chrono::seconds>(dns.max_negative_ttl);
  return settings;
}

}  // namespace

dns::AresSettings ares_settings(const conf::DnsConfig& dns) {
  dns::AresSettings settings;
  for (const auto& server : dns.servers) settings.servers.push_back(server.text());
  settings.timeout = dns.timeout;
  settings.tries = static_cast<int>(dns.tries);
  return settings;
}

namespace {

std::shared_ptr<const relay::Router> router_of(const std::shared_ptr<const Snapshot>& snapshot) {
  return {snapshot, &snapshot->router};  // shares the snapshot's ownership
}

}  // namespace

Worker::Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, WorkerShared shared)
    : index_(index),
      snapshot_(std::move(snapshot)),
      shared_(std::move(shared)),
      ares_(std::make_unique<dns::AresResolver>(
          io_->get_executor(), ares_settings(snapshot_->config->dns), &shared_.dns_metrics)),
      resolver_(std::make_unique<dns::CachingResolver>(
          *ares_, clock_, cache_settings(snapshot_->config->dns), &shared_.dns_metrics)),
      dkim_keys_(std::make_unique<auth::DkimKeyCache>(snapshot_->config->auth.key_cache_entries)),
      pool_(std::make_unique<relay::Pool>(io_->get_executor(), snapshot_->config->relay,
                                          snapshot_->config->relay.helo_name, shared_.relay_metrics,
                                          shared_.gates)) {
  if (shared_.verify_cache != nullptr) {
    verifier_ =
        std::make_unique<relay::Verifier>(*pool_, *shared_.verify_cache, shared_.relay_metrics);
  }
  shared_.policy.resolver = resolver_.get();
  shared_.policy.dkim_keys = dkim_keys_.get();
  if (shared_.queue != nullptr) {
    runner_ = std::make_unique<relay::QueueRunner>(
        io_->get_executor(), *shared_.queue,
        [this](const relay::Router& router) {
          return std::make_unique<relay::InlineRelay>(*pool_, router);
        },
        *resolver_, shared_.relay_metrics);
    runner_->configure(snapshot_->config, router_of(snapshot_));
  }
}

std::unique_ptr<relay::Transaction> Worker::make_transaction(const Snapshot& snapshot,
                                                             const std::string& client_ip) {
  const auto& config = *snapshot.config;
  std::unique_ptr<relay::Transaction> chain;
  // In inline mode the runner delivers only mxgate's own mail (DMARC reports).
  if (runner_ && config.relay.mode == conf::RelayConfig::Mode::Queue) {
    chain = std::make_unique<relay::QueueIntake>(
        shared_.queue->spool, shared_.queue->writers, snapshot.router, client_ip,
        shared_.relay_metrics, [this](storage::Envelope envelope, std::optional<std::string> body) {
          runner_->deliver_now(std::move(envelope), std::move(body));
        });
  } else {
    chain = std::make_unique<relay::InlineRelay>(*pool_, snapshot.router);
  }
  // Inside the feedback intake: the feedback address is mxgate's own, never verified.
  if (verifier_ && config.relay.recipient_verification != conf::RelayConfig::Verification::Off) {
    chain = std::make_unique<relay::VerifyingTransaction>(
        std::move(chain), *verifier_, config.relay, snapshot.router, snapshot.recipients.get());
  }
  if (!config.feedback.address.empty()) {
    chain = std::make_unique<postmaster::FeedbackIntake>(std::move(chain), config.feedback.address,
                                                         shared_.policy.store,
                                                         shared_.postmaster_metrics);
  }
  return chain;
}

Worker::~Worker() {
  join();
  acceptors_.clear();
  // Sessions still suspended (after halt()) are destroyed with the io_context; their relays
  // give connections back to the pool, which closes them while it is shut down. So the pool
  // must outlive the io_context's handlers, and the io_context must go before the pool.
  pool_->shutdown();
  milter_pool_.shutdown();  // its sockets and timers belong to the io_context
  // c-ares sockets and the cache's waiters belong to the io_context: go first.
  resolver_.reset();
  ares_.reset();
  // The queue runner's timer belongs to the io_context too (its deliveries still suspended are
  // destroyed with the io_context, without being resumed).
  runner_.reset();
  io_.reset();
  dkim_keys_.reset();
}

std::vector<conf::HostPort> Worker::listen(const std::vector<conf::HostPort>& addresses,
                                           bool proxy) {
  std::vector<conf::HostPort> bound;
  for (const auto& address : addresses) {
    const auto endpoint = resolve_listen(address);
    auto acceptor = std::make_unique<tcp::acceptor>(*io_);
    boost::system::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
          0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec && endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::system_error(ec,
                              fmt::format("server.listen: cannot listen on {}", address.text()));
    }
    bound.push_back({address.host, acceptor->local_endpoint().port()});
    acceptors_.push_back({std::move(acceptor), proxy});
  }
  return bound;
}

void Worker::start() {
  for (auto& listener : acceptors_) {
    asio::co_spawn(*io_, accept_loop(*listener.acceptor, listener.proxy), asio::detached);
  }
  if (index_ == 0) asio::co_spawn(*io_, probe_dnsbls(), asio::detached);
  if (runner_) runner_->start();
  thread_ = std::thread([this] {
    // Sessions keep the context busy; this guard keeps it alive between them until stop().
    auto guard = asio::make_work_guard(*io_);
    work_guard_ = &guard;
    io_->run();
    finished_ = true;
  });
}

// Tests every [[dnsbl]] zone with its test entries once a minute; a zone that fails is
// skipped by the checks until it passes again (RFC 5782 §5).
asio::awaitable<void> Worker::probe_dnsbls() {
  asio::steady_timer timer(*io_);
  probe_timer_ = &timer;
  while (!draining_) {
    const auto snapshot = snapshot_;
    for (const auto& zone : snapshot->rules.dnsbls) {
      if (!zone->config.probe) continue;
      const bool up = co_await policy::probe_dnsbl_zone(*resolver_, *zone);
      if (up != zone->state->up.exchange(up)) {
        spdlog::warn("dnsbl_zone zone={} state={}", zone->config.zone, up ? "up" : "down");
      }
      zone->state->up_gauge->Set(up ? 1 : 0);
    }
    timer.expires_after(kProbeInterval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
  probe_timer_ = nullptr;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, bool proxy) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: keep serving the sessions we have.
      spdlog::warn("accept_failed worker={} error={}", index_, ec.message());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.set_option(asio::socket_base::send_buffer_size(kSessionSendBuffer), ignored);
    // Behind a load balancer the per-IP cap applies to the address in the PROXY header, so
    // the session takes its ticket once it has read it.
    ConnectionLimiter::Ticket ticket;
    if (!proxy) {
      auto peer = socket.remote_endpoint(ignored).address();
      ConnectionLimiter::Refusal refusal;
      ticket = shared_.limiter.acquire(peer, refusal);
      if (!ticket) {
        refuse(std::move(socket), refusal);
        continue;
      }
    }
    shared_.metrics.sessions_accepted.Increment();
    asio::co_spawn(*io_, run_session(std::move(socket), std::move(ticket), proxy),
                   [this](std::exception_ptr error) { on_session_exception(error); });
  }
}

void Worker::refuse(tcp::socket socket, ConnectionLimiter::Refusal refusal) {
  shared_.metrics.replies_4xx.Increment();
  boost::system::error_code ignored;
  const auto client = socket.remote_endpoint(ignored).address().to_string();
  const auto reply =
      refusal_reply(refusal, client, snapshot_->config->server.hostname, shared_.metrics);
  asio::co_spawn(*io_, say_and_close(std::move(socket), reply.wire()), asio::detached);
}

void Worker::on_session_exception(std::exception_ptr error) {
  if (!error) return;
  shared_.metrics.session_exceptions.Increment();
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("session_exception worker={} what={}", index_, e.what());
  } catch (...) {
    spdlog::error("session_exception worker={} what=unknown", index_);
  }
}

// Keeps the worker's list of sessions exact however the session ends.
class Worker::Registration {
 public:
  Registration(Worker& worker, Session& session) : worker_(worker), session_(session) {
    worker_.sessions_.insert(&session_);
    worker_.session_count_.fetch_add(1, std::memory_order_relaxed);
    worker_.shared_.metrics.sessions_active.Increment();
    if (worker_.draining_) session_.drain();
  }
  ~Registration() {
    worker_.sessions_.erase(&session_);
    worker_.session_count_.fetch_sub(1, std::memory_order_relaxed);
    worker_.shared_.metrics.sessions_active.Decrement();
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Worker& worker_;
  Session& session_;
};

// No try/catch around co_await here: GCC 12 mishandles temporaries of a co_await inside a try
// block. Exceptions reach the co_spawn completion handler in accept_loop instead.
asio::awaitable<void> Worker::run_session(tcp::socket socket, ConnectionLimiter::Ticket ticket,
                                          bool proxied) {
  auto session = std::make_unique<Session>(*this, tcp_session_io(std::move(socket)),
                                           std::move(ticket), proxied);
  Registration registration(*this, *session);
  co_await session->run();
}

void Worker::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  asio::post(*io_, [this, snapshot = std::move(snapshot)]() mutable {
    const auto& config = *snapshot->config;
    pool_->update(config.relay, config.relay.helo_name);  // conf resolved it from hostname
    resolver_->update(cache_settings(config.dns));
    if (runner_) runner_->configure(snapshot->config, router_of(snapshot));
    snapshot_ = std::move(snapshot);
  });
}

void Worker::drain() {
  asio::post(*io_, [this] {
    draining_ = true;
    boost::system::error_code ignored;
    for (auto& listener : acceptors_) listener.acceptor->close(ignored);
    pool_->shutdown();
    milter_pool_.shutdown();
    if (runner_) runner_->drain();
    if (probe_timer_ != nullptr) probe_timer_->cancel();
    for (Session* session : sessions_) session->drain();
  });
}

void Worker::force_close() {
  asio::post(*io_, [this] {
    for (Session* session : sessions_) session->force_close();
  });
}

void Worker::stop() {
  asio::post(*io_, [this] {
    if (work_guard_) work_guard_->reset();
    work_guard_ = nullptr;
  });
}

void Worker::halt() { io_->stop(); }

}  // namespace mxgate::server
