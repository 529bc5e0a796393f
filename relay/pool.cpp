#include "relay/pool.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <utility>

#include "common/log.hpp"
#include "io/clock.hpp"
#include "relay/metrics.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using boost::system::error_code;
using boost::system::result;

namespace {

// Our own mailbox servers: TLS 1.2 or later for privacy on the wire, no certificate
// verification (they commonly have self-signed or internal-CA certificates).
std::unique_ptr<asio::ssl::context> client_context() {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(asio::ssl::context::default_workarounds |
                       asio::ssl::context::no_compression);
  context->set_verify_mode(asio::ssl::verify_none);
  return context;
}

// tls = "verify": the chain must lead to `ca_file`'s CAs ("": the system's).
std::unique_ptr<asio::ssl::context> verifying_context(const std::string& ca_file) {
  auto context = client_context();
  context->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(ca_file, ec);
  }
  // Nothing trusted then: every handshake fails, and says so (relay downstream=... error=tls).
  if (ec)
    spdlog::error("relay_tls_ca_failed file={} error={}", common::escape(ca_file), ec.message());
  return context;
}

// An idle connection serves a route when it is at least as protected as the route asks.
bool meets_tls(const Downstream& connection, const conf::Route& route) {
  using Tls = conf::Route::Tls;
  const Tls level = route.tls_level();
  if (level >= Tls::Encrypt && !connection.tls_active()) return false;
  if (level < Tls::Verify) return true;
  const auto& settings = connection.settings();
  return connection.verified() && settings.fingerprints == route.tls_fingerprints &&
         settings.ca_file == route.tls_ca_file;
}

// Buckets (downstreams with idle connections) above which a new one first sweeps the empty ones.
constexpr std::size_t kSweepBuckets = 64;

// Waiting for a slot: short first (transactions on a LAN take milliseconds), then less often.
constexpr auto kSlotPollFirst = std::chrono::milliseconds(2);
constexpr auto kSlotPollMax = std::chrono::milliseconds(50);

std::string describe(const conf::HostPort& target) {
  const bool v6 = target.host.find(':') != std::string::npos;
  return (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
}

}  // namespace

Pool::Pool(asio::any_io_executor executor, const conf::RelayConfig& config, std::string helo_name,
           RelayMetrics& metrics, DownstreamGates* gates)
    : executor_(std::move(executor)),
      tls_(client_context()),
      config_(config),
      helo_name_(std::move(helo_name)),
      metrics_(metrics),
      gates_(gates) {}

Pool::~Pool() = default;

void Pool::update(const conf::RelayConfig& config, std::string helo_name) {
  const bool renamed = helo_name != helo_name_;
  config_ = config;
  helo_name_ = std::move(helo_name);
  verifying_.clear();  // CA files are read again, as certificates are on SIGHUP
  for (auto& b : buckets_) {
    if (renamed) b.idle.clear();
    while (b.idle.size() > config_.pool_size) b.idle.erase(b.idle.begin());
  }
}

void Pool::shutdown() {
  draining_ = true;
  buckets_.clear();
}

std::size_t Pool::idle_count() const {
  std::size_t n = 0;
  for (const auto& b : buckets_) {
    n += static_cast<std::size_t>(
        std::count_if(b.idle.begin(), b.idle.end(), [](const auto& c) { return c->usable(); }));
  }
  return n;
}

Pool::Bucket* Pool::bucket(const conf::HostPort& target) {
  for (auto& b : buckets_) {
    if (b.target.port == target.port && b.target.host == target.host) return &b;
  }
  return nullptr;
}

void Pool::release(std::unique_ptr<Downstream> connection) {
  if (!connection) return;
  connection->slot.reset();  // pooled connections do not count against the limit
  connection->in_use.reset();
  if (draining_ || !connection->usable() || config_.pool_size == 0) return;
  Bucket* b = bucket(connection->target());
  if (b == nullptr) {
    // DSNs reach mail exchangers all over the Internet: before the buckets pile up, those
    // whose connections all closed while idle go (not on every release: it is the hot path).
    if (buckets_.size() >= kSweepBuckets) {
      std::erase_if(buckets_, [](Bucket& old) {
        std::erase_if(old.idle, [](const auto& c) { return !c->usable(); });
        return old.idle.empty();
      });
    }
    b = &buckets_.emplace_back(Bucket{connection->target(), {}});
  }
  std::erase_if(b->idle, [](const auto& c) { return !c->usable(); });
  if (b->idle.size() >= config_.pool_size) b->idle.erase(b->idle.begin());
  connection->needs_rset = true;
  connection->park(config_.pool_idle_timeout);
  b->idle.push_back(std::move(connection));
}

// The most recently used idle connection to `target`.
std::unique_ptr<Downstream> Pool::take_idle(const conf::HostPort& target, const conf::Route& route,
                                            bool as_ourselves) {
  Bucket* b = bucket(target);
  if (b == nullptr) return nullptr;
  std::erase_if(b->idle, [](const auto& c) { return !c->usable(); });
  for (auto it = b->idle.rbegin(); it != b->idle.rend(); ++it) {
    if (!meets_tls(**it, route)) continue;
    if (as_ourselves && (*it)->speaks_for_client) continue;
    auto connection = std::move(*it);
    b->idle.erase(std::next(it).base());
    connection->unpark();
    connection->reused = true;
    connection->needs_rset = true;
    return connection;
  }
  return nullptr;
}

asio::awaitable<result<std::unique_ptr<Downstream>>> Pool::try_route(
    const conf::Route& route, bool allow_idle, bool as_ourselves,
    std::vector<DownstreamGates::Refusal>& refusals) {
  using Refusal = DownstreamGates::Refusal;
  // A slot per downstream first (or why not), in route order.
  std::vector<DownstreamGates::Entry> entries(route.downstream.size());
  refusals.assign(route.downstream.size(), Refusal::None);
  for (std::size_t i = 0; i < route.downstream.size(); ++i) {
    if (gates_ != nullptr) entries[i] = gates_->enter(route.downstream[i]);
    refusals[i] = entries[i].refusal;
  }
  auto refused = [&](Refusal why) { return std::ranges::count(refusals, why) > 0; };
  if (!refused(Refusal::None)) {
    co_return make_error_code(refused(Refusal::Full)          ? Error::busy
                              : refused(Refusal::CircuitOpen) ? Error::circuit_open
                                                              : Error::connect);
  }
  if (allow_idle) {
    for (std::size_t i = 0; i < route.downstream.size(); ++i) {
      if (entries[i].refusal != Refusal::None || entries[i].slot.probe()) continue;
      if (auto connection = take_idle(route.downstream[i], route, as_ourselves)) {
        if (connection->metrics != nullptr) connection->metrics->reused.Increment();
        connection->slot = std::move(entries[i].slot);
        co_return std::move(connection);
      }
    }
  }
  error_code last = make_error_code(Error::connect);
  for (std::size_t i = 0; i < route.downstream.size(); ++i) {
    if (entries[i].refusal != Refusal::None) continue;
    auto opened = co_await open(route.downstream[i], route);
    if (opened) {
      (*opened)->slot = std::move(entries[i].slot);
      co_return std::move(*opened);
    }
    last = opened.error();
    if (draining_) break;
  }
  co_return last;
}

asio::awaitable<result<std::unique_ptr<Downstream>>> Pool::acquire(const conf::Route& route,
                                                                   bool allow_idle,
                                                                   bool as_ourselves) {
  if (draining_) co_return make_error_code(Error::shutdown);
  const auto deadline = io::Clock::now() + config_.connect_timeout;
  io::Timer timer(executor_);
  auto wait = kSlotPollFirst;
  std::vector<DownstreamGates::Refusal> refusals;
  for (;;) {
    auto got = co_await try_route(route, allow_idle, as_ourselves, refusals);
    // Every downstream at its limit: slots free up as other transactions end, on any worker.
    const bool waiting = !got && got.error() == Error::busy;
    if (!waiting || draining_ || io::Clock::now() >= deadline) {
      if (!got) count_refusals(route, got.error(), refusals);
      if (got && (*got)->metrics != nullptr) (*got)->in_use.hold((*got)->metrics->in_use);
      co_return got;
    }
    timer.expires_after(wait);
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    wait = std::min(wait * 2, kSlotPollMax);
  }
}

// A route refused as a whole (busy, circuit_open) counts against each downstream that refused
// for that reason; failures to connect were counted by open().
void Pool::count_refusals(const conf::Route& route, const error_code& ec,
                          const std::vector<DownstreamGates::Refusal>& refusals) {
  using Refusal = DownstreamGates::Refusal;
  const auto counted = ec == Error::busy           ? Refusal::Full
                       : ec == Error::circuit_open ? Refusal::CircuitOpen
                                                   : Refusal::None;
  if (counted == Refusal::None) return;
  for (std::size_t i = 0; i < refusals.size() && i < route.downstream.size(); ++i) {
    if (refusals[i] != counted) continue;
    count_failure(metrics_.downstream(RelayMetrics::label_of(route, route.downstream[i])), ec);
  }
}

asio::ssl::context& Pool::context_for(const conf::Route& route) {
  if (route.tls_level() != conf::Route::Tls::Verify || !route.tls_fingerprints.empty()) {
    return *tls_;
  }
  auto& context = verifying_[route.tls_ca_file];
  if (!context) context = verifying_context(route.tls_ca_file);
  return *context;
}

asio::awaitable<result<std::unique_ptr<Downstream>>> Pool::open(const conf::HostPort& target,
                                                                const conf::Route& route) {
  auto& series = metrics_.downstream(RelayMetrics::label_of(route, target));
  auto connection = std::make_unique<Downstream>(executor_, context_for(route), target);
  connection->metrics = &series;
  DownstreamSettings settings{helo_name_,        config_.connect_timeout, config_.command_timeout,
                              route.tls_level(), route.tls_fingerprints,  route.tls_ca_file};
  if (auto ec = co_await connection->open(std::move(settings))) {
    count_failure(series, ec);
    if (gates_ != nullptr && ec != Error::shutdown) gates_->failed(target);
    spdlog::warn("relay downstream={} error={}", common::escape(describe(target)), ec.message());
    co_return ec;
  }
  if (draining_) co_return make_error_code(Error::shutdown);
  if (gates_ != nullptr) gates_->opened(target);
  series.opened.Increment();
  co_return std::move(connection);
}

}  // namespace mxgate::relay
