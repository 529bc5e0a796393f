#include "server/runtime.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <memory>
#include <thread>

#include "admin/api.hpp"
#include "admin/token.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "conf/config.hpp"
#include "dns/ares_resolver.hpp"
#include "dns/metrics.hpp"
#include "http/server.hpp"
#include "policy/dmarc_recorder.hpp"
#include "policy/greylisting.hpp"
#include "policy/metrics.hpp"
#include "policy/rules.hpp"
#include "policy/throttling.hpp"
#include "policy/verdict_metrics.hpp"
#include "postmaster/dmarc_reporter.hpp"
#include "postmaster/metrics.hpp"
#include "postmaster/portal.hpp"
#include "relay/gates.hpp"
#include "relay/metrics.hpp"
#include "relay/queue_runner.hpp"
#include "server/fleet_link.hpp"
#include "server/metrics.hpp"
#include "server/process_metrics.hpp"
#include "server/snapshot.hpp"
#include "server/systemd_notify.hpp"
#include "server/tls.hpp"
#include "server/version.hpp"
#include "server/worker.hpp"
#include "storage/metrics.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::server {

namespace asio = boost::asio;

namespace {

constexpr auto kDrainPoll = std::chrono::milliseconds(50);
constexpr auto kForceGrace = std::chrono::seconds(3);
constexpr std::size_t kBlockingThreads = 2;
// Queue mode's synced commits wait for the disk here: each thread waits in one commit, and
// RocksDB syncs the commits of every waiting thread at once, so more threads, fewer fsyncs per
// message (up to the number of sessions that end their data at the same moment).
constexpr std::size_t kSpoolWriterThreads = 32;

// A store directory that cannot be made is a configuration error: it names the key, where it
// was set and the resolved path.
void make_directory(const conf::Config& config, std::string_view key, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw conf::value_error(config, key, "cannot create " + path + ": " + ec.message());
}

std::unique_ptr<storage::ReputationStore> open_store(const conf::Config& config) {
  make_directory(config, "storage.path", config.storage.path);
  return storage::ReputationStore::open(config.storage.path, policy::store_options(config));
}

class Runtime {
 public:
  explicit Runtime(const RuntimeOptions& options);
  int run();

 private:
  asio::awaitable<void> handle_signals(asio::signal_set& signals);
  asio::awaitable<void> drain();
  asio::awaitable<void> maintain_store();
  asio::awaitable<void> persist_throttle();
  void flush_store();
  static void notify(std::string_view state);  // to systemd, when it started us (Type=notify)
  // The series a configuration brings: its certificates' expiry, its downstreams' at 0.
  void publish_metrics_of(const Snapshot& snapshot);
  std::string reload();  // "" when the new configuration is in use, else why not
  std::size_t sessions() const;

  RuntimeOptions options_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  // Every module's metrics, registered whatever the configuration (queue mode, portal), so that
  // the exposition always has the same series.
  ServerMetrics metrics_{*registry_};
  ProcessMetrics process_metrics_{*registry_};
  policy::PolicyMetrics policy_metrics_{*registry_};
  storage::StoreMetrics store_metrics_{*registry_};
  storage::SpoolMetrics spool_metrics_{*registry_};
  relay::RelayMetrics relay_metrics_{*registry_};
  postmaster::PostmasterMetrics postmaster_metrics_{*registry_};
  postmaster::DmarcReportMetrics dmarc_report_metrics_{*registry_};
  dns::DnsMetrics dns_metrics_{*registry_};
  policy::DnsblMonitor dnsbl_monitor_{*registry_};
  milter::MilterMonitor milter_monitor_{*registry_};
  fleet::FleetMetrics fleet_metrics_{*registry_};
  policy::PassMemory passes_;
  std::shared_ptr<const Snapshot> snapshot_;
  ConnectionLimiter limiter_;
  // Reads of reputation records that miss the block cache run here, off the workers.
  asio::thread_pool blocking_{kBlockingThreads};
  std::unique_ptr<storage::ReputationStore> store_;
  std::unique_ptr<policy::Throttling> throttling_;
  std::unique_ptr<policy::Greylisting> greylisting_;  // saved and loaded with the throttle
  std::unique_ptr<fleet::Changes> fleet_;  // [fleet]; goes before the store and the throttle
  std::unique_ptr<policy::DmarcRecorder> dmarc_recorder_;  // the aggregate reports' rows
  // Queue mode, or mxgate's own mail (DMARC aggregate reports) in inline mode.
  std::unique_ptr<storage::Spool> spool_;
  std::optional<asio::thread_pool> spool_writers_;  // with spool_; stopped before spool_ goes
  relay::QueueClaims claims_;
  // Held content in memory over all sessions ([content] memory_budget; a reload changes it).
  content::ContentBudget content_budget_{snapshot_->config->content.memory_budget};
  std::optional<relay::QueueShared> queue_;  // with spool_
  common::SteadyClock clock_;
  relay::DownstreamGates gates_{relay::DownstreamGates::settings_of(snapshot_->config->relay),
                                clock_};
  // Recipient callout answers, all workers (relay.verify_cache_size; a reload changes it).
  relay::VerifyCache verify_cache_{snapshot_->config->relay.verify_cache_size,
                                   &relay_metrics_.verification.cache_entries};
  policy::VerdictMetrics verdict_metrics_{*registry_};
  std::vector<std::unique_ptr<Worker>> workers_;
  asio::io_context control_{1};
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<dns::AresResolver> portal_resolver_;  // the portal's live checks
  std::unique_ptr<http::Server> portal_;
  std::unique_ptr<dns::AresResolver> report_resolver_;  // the DMARC reporter's (§7.1 checks)
  std::unique_ptr<postmaster::DmarcReporter> dmarc_reporter_;  // [dmarc_reports] enabled
  std::atomic<bool> draining_{false};
};

bool json_logs(const conf::Config& config) {
  return config.log.format == conf::LogConfig::Format::Json;
}

http::Limits http_limits(const conf::HttpLimits& limits) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  http::Limits out;
  out.max_connections = limits.max_connections;
  out.max_connections_per_client = limits.max_connections_per_client;
  out.header_timeout = duration_cast<milliseconds>(limits.header_timeout);
  out.request_timeout = duration_cast<milliseconds>(limits.request_timeout);
  return out;
}

http::SheddingCounters shedding_counters(const ServerMetrics::Shedding& shedding) {
  return {&shedding.evicted, &shedding.refused, &shedding.header_timeout};
}

Runtime::Runtime(const RuntimeOptions& options)
    : options_(options),
      snapshot_(make_snapshot(conf::load_config(options.config_path, options.overrides),
                              dnsbl_monitor_, &milter_monitor_)) {
  const auto& config = *snapshot_->config;
  common::init_logging(config.log.level, json_logs(config));
  publish_metrics_of(*snapshot_);
  limiter_.set_limits(config.server.max_sessions, config.server.max_sessions_per_ip,
                      config.throttle.enabled ? config.throttle.max_sessions_per_network : 0,
                      snapshot_->rules.trusted_clients);
  store_ = open_store(config);
  // Judged messages spill here (files without names: nothing to clean up after a crash).
  make_directory(config, "storage.path", config.storage.path + "/tmp");
  throttling_ = std::make_unique<policy::Throttling>(config.throttle, *registry_);
  greylisting_ = std::make_unique<policy::Greylisting>(config.greylist, *registry_);
  // A restart neither resets a ramp nor a limit, nor makes a greylisted sender wait again.
  throttling_->load(*store_, common::unix_micros(), &greylisting_->greylist());
  // Before anything else writes to the store or asks the throttle.
  fleet_ = start_fleet(config, *store_, throttling_->rules(), fleet_metrics_);
  dmarc_recorder_ = std::make_unique<policy::DmarcRecorder>(*store_, *registry_);
  dmarc_recorder_->configure(config.dmarc_reports);
  if (config.relay.mode == conf::RelayConfig::Mode::Queue || config.dmarc_reports.enabled) {
    make_directory(config, "queue.path", config.queue.path);
    spool_ = storage::Spool::open(config.queue.path);
    spool_writers_.emplace(kSpoolWriterThreads);
    queue_.emplace(relay::QueueShared{*spool_, claims_, blocking_.get_executor(),
                                      spool_writers_->get_executor()});
    const auto stats = spool_->stats();
    spdlog::info("queue_opened path={} depth={} dead={}", common::escape(config.queue.path),
                 stats.depth, stats.dead);
  }
  unsigned count = config.server.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  std::vector<conf::HostPort> listen = config.server.listen;
  std::vector<conf::HostPort> proxy_listen = config.server.proxy_listen;
  policy::Services services{*store_, blocking_.get_executor(), policy_metrics_, verdict_metrics_,
                            passes_, throttling_.get()};
  services.greylisting = greylisting_.get();
  services.dmarc_reports = dmarc_recorder_.get();
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, snapshot_,
        WorkerShared{limiter_, metrics_, dns_metrics_, relay_metrics_, postmaster_metrics_,
                     services, &gates_, queue_ ? &*queue_ : nullptr, &content_budget_,
                     &verify_cache_}));
    listen = workers_.back()->listen(listen);
    proxy_listen = workers_.back()->listen(proxy_listen, true);
  }
  std::string addresses;
  for (const auto& address : listen) {
    if (!addresses.empty()) addresses += ',';
    addresses += address.text();
  }
  for (const auto& address : proxy_listen) {
    addresses += ",proxy:";
    addresses += address.text();
  }
  if (config.http.listen.port != 0) {
    http_ = std::make_unique<http::Server>(
        control_, config.http.listen, registry_, [this] { return !draining_.load(); },
        http_limits(config.http.limits));
    http_->count_shedding(shedding_counters(metrics_.http_shedding));
    if (fleet_) {
      http_->set_ready_detail([this] {
        const auto status = fleet_->status();
        return status.connected ? std::string() : "fleet: " + status.redis + "\n";
      });
    }
    auto admin = std::make_shared<admin::Api>(*store_, blocking_.get_executor());
    admin->set_throttling(throttling_.get());
    admin->set_metrics(&postmaster_metrics_);
    admin->set_token(admin::load_admin_token(config));
    admin->set_queue(spool_.get(), &claims_);
    admin->set_control({[this] { return reload(); },
                        [this] {
                          if (draining_) return;
                          spdlog::info("draining reason=admin_api sessions={}", sessions());
                          asio::co_spawn(control_, drain(), asio::detached);
                        }});
    http_->add(std::move(admin));
  }
  if (config.portal.listen.port != 0) {
    portal_resolver_ =
        std::make_unique<dns::AresResolver>(control_.get_executor(), ares_settings(config.dns));
    portal_ = std::make_unique<http::Server>(
        control_, config.portal.listen, nullptr, [] { return true; },
        http_limits(config.portal.limits));
    portal_->count_shedding(shedding_counters(metrics_.portal_shedding));
    portal_->add(std::make_shared<postmaster::Portal>(
        *store_, blocking_.get_executor(), portal_resolver_.get(),
        [this] { return std::shared_ptr<const policy::Rules>(snapshot_, &snapshot_->rules); },
        throttling_.get(), postmaster_metrics_));
  }
  if (config.dmarc_reports.enabled) {
    report_resolver_ =
        std::make_unique<dns::AresResolver>(control_.get_executor(), ares_settings(config.dns));
    dmarc_reporter_ = std::make_unique<postmaster::DmarcReporter>(
        control_.get_executor(), blocking_.get_executor(), *store_, *spool_, *report_resolver_,
        [this] {
          return postmaster::DmarcReporterSettings{snapshot_->config, snapshot_->report_signer};
        },
        dmarc_report_metrics_);
  }
  spdlog::info("started version={} config={} listen={} http={} portal={} workers={}", kVersion,
               common::escape(config.source.string()), addresses,
               http_ ? fmt::format("{}:{}", config.http.listen.host, http_->port()) : "off",
               portal_ ? fmt::format("{}:{}", config.portal.listen.host, portal_->port()) : "off",
               count);
}

int Runtime::run() {
  for (auto& worker : workers_) worker->start();
  if (http_) http_->start();
  if (portal_) portal_->start();
  if (dmarc_reporter_) dmarc_reporter_->start();
  // Caught from here on, before READY=1: systemd may reload (SIGHUP) as soon as it reads it,
  // and a SIGHUP that came before the control thread ran would take the default action.
  asio::signal_set signals(control_, SIGHUP, SIGTERM, SIGINT);
  asio::co_spawn(control_, handle_signals(signals), asio::detached);
  asio::co_spawn(control_, maintain_store(), asio::detached);
  asio::co_spawn(control_, persist_throttle(), asio::detached);
  // The listeners were bound in the constructor and accept now: systemd may start what waits
  // for us.
  notify("READY=1");
  control_.run();
  for (auto& worker : workers_) worker->join();
  blocking_.join();
  if (spool_writers_) spool_writers_->join();
  flush_store();  // the outcomes of the last sessions
  throttling_->save(*store_, common::unix_micros(), &greylisting_->greylist());
  if (fleet_) fleet_->stop();  // after the last decisions went out (or its deadline)
  spdlog::info("stopped");
  return 0;
}

asio::awaitable<void> Runtime::handle_signals(asio::signal_set& signals) {
  for (;;) {
    auto [ec, signal] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (signal == SIGHUP) {
      notify(reloading_state());
      (void)reload();  // a failed reload keeps the running configuration: ready either way
      notify("READY=1");
      continue;
    }
    spdlog::info("draining signal={} sessions={}", signal, sessions());
    co_await drain();
    co_return;
  }
}

std::string Runtime::reload() {
  std::shared_ptr<const Snapshot> next;
  try {
    next = make_snapshot(conf::load_config(options_.config_path, options_.overrides),
                         dnsbl_monitor_, &milter_monitor_);
  } catch (const std::exception& e) {
    metrics_.config_reloads_failed.Increment();
    spdlog::error("reload_failed keeping=previous error={}", common::escape(e.what()));
    return e.what();
  }
  const auto& config = *next->config;
  const auto& old = *snapshot_->config;
  std::vector<std::string> old_listen, new_listen;
  for (const auto& a : old.server.listen) old_listen.push_back(a.text());
  for (const auto& a : config.server.listen) new_listen.push_back(a.text());
  if (old_listen != new_listen || old.server.workers != config.server.workers ||
      old.http != config.http || old.portal.listen != config.portal.listen ||
      old.portal.limits != config.portal.limits || old.dns.servers != config.dns.servers ||
      old.dns.timeout != config.dns.timeout || old.dns.tries != config.dns.tries ||
      old.storage != config.storage || old.fleet != config.fleet ||
      old.dmarc_reports.enabled != config.dmarc_reports.enabled ||
      policy::store_options(old).v4_network_prefixes !=
          policy::store_options(config).v4_network_prefixes ||
      policy::store_options(old).v6_network_prefixes !=
          policy::store_options(config).v6_network_prefixes) {
    spdlog::warn(
        "reload_partial reason=\"listen addresses, workers, [http], the portal's listener "
        "and connection limits, dns servers, storage, network prefixes, [fleet] and "
        "dmarc_reports.enabled change at restart\"");
  }
  try {
    common::init_logging(config.log.level, json_logs(config));
  } catch (const std::exception&) {
    // load_config validated the level; nothing to do.
  }
  limiter_.set_limits(config.server.max_sessions, config.server.max_sessions_per_ip,
                      config.throttle.enabled ? config.throttle.max_sessions_per_network : 0,
                      next->rules.trusted_clients);
  throttling_->configure(config.throttle);
  greylisting_->configure(config.greylist);
  dmarc_recorder_->configure(config.dmarc_reports);
  content_budget_.set_limit(config.content.memory_budget);
  gates_.update(relay::DownstreamGates::settings_of(config.relay));
  verify_cache_.set_capacity(config.relay.verify_cache_size);
  for (auto& worker : workers_) worker->set_snapshot(next);
  snapshot_ = std::move(next);
  publish_metrics_of(*snapshot_);
  metrics_.config_reloads_ok.Increment();
  spdlog::info("reloaded config={}", common::escape(config.source.string()));
  return {};
}

void Runtime::notify(std::string_view state) {
  if (auto ec = notify_service_manager(state)) {
    spdlog::warn("notify_failed state={} error={}", common::escape(state),
                 common::escape(ec.message()));
  }
}

void Runtime::publish_metrics_of(const Snapshot& snapshot) {
  metrics_.certificate_expiry(certificate_expiries(snapshot.config->tls));
  relay_metrics_.name_downstreams(*snapshot.config);
}

void Runtime::flush_store() {
  if (auto ec = store_->flush()) {
    store_metrics_.reputation_flush_errors.Increment();
    spdlog::error("store_flush_failed error={}", common::escape(ec.message()));
  }
}

// Writes the batched outcome counters every reputation.flush_interval (on the blocking pool:
// a write may wait for RocksDB) and has the store, the spool and the gates refresh their
// metrics.
asio::awaitable<void> Runtime::maintain_store() {
  asio::steady_timer timer(control_);
  for (;;) {
    timer.expires_after(snapshot_->config->reputation.flush_interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || draining_) co_return;
    asio::post(blocking_, [this] { flush_store(); });
    throttling_->update_gauges();
    greylisting_->update_gauges();
    relay_metrics_.refresh(gates_);
    if (spool_) spool_metrics_.refresh(*spool_, common::unix_micros() / 1000);
    store_metrics_.refresh(*store_);
    process_metrics_.refresh();
  }
}

// Saves the throttling and greylisting state every throttle.persist_interval (on the blocking
// pool).
asio::awaitable<void> Runtime::persist_throttle() {
  asio::steady_timer timer(control_);
  for (;;) {
    timer.expires_after(snapshot_->config->throttle.persist_interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || draining_) co_return;
    throttling_->update_gauges();
    asio::post(blocking_, [this] {
      throttling_->rules().table().sweep(common::unix_micros());
      greylisting_->greylist().sweep(common::unix_micros());
      throttling_->save(*store_, common::unix_micros(), &greylisting_->greylist());
    });
  }
}

// Sessions and queue deliveries in progress: a drain waits for both, so that a delivery is
// not cut off (and made again after the restart) when it could finish.
std::size_t Runtime::sessions() const {
  std::size_t total = 0;
  for (const auto& worker : workers_) total += worker->sessions() + worker->deliveries();
  return total;
}

asio::awaitable<void> Runtime::drain() {
  draining_ = true;
  notify("STOPPING=1");
  metrics_.draining.Set(1);
  for (auto& worker : workers_) worker->drain();
  if (dmarc_reporter_) dmarc_reporter_->stop();
  asio::steady_timer timer(control_);
  const auto deadline = std::chrono::steady_clock::now() + snapshot_->config->server.drain_timeout;
  while (sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(kDrainPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (sessions() > 0) {
    spdlog::warn("drain_timeout closing={}", sessions());
    for (auto& worker : workers_) worker->force_close();
    const auto grace = std::chrono::steady_clock::now() + kForceGrace;
    while (sessions() > 0 && std::chrono::steady_clock::now() < grace) {
      timer.expires_after(kDrainPoll);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  for (auto& worker : workers_) worker->stop();
  // Idle downstream connections and timers end with the pool; anything left is abandoned.
  const auto grace = std::chrono::steady_clock::now() + kForceGrace;
  auto running = [this] {
    return std::any_of(workers_.begin(), workers_.end(), [](auto& w) { return !w->finished(); });
  };
  while (running() && std::chrono::steady_clock::now() < grace) {
    timer.expires_after(kDrainPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  for (auto& worker : workers_) worker->halt();
  if (http_) http_->stop();
  if (portal_) portal_->stop();
  control_.stop();
}

}  // namespace

int run_server(const RuntimeOptions& options) {
  Runtime runtime(options);
  return runtime.run();
}

}  // namespace mxgate::server
