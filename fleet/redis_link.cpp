#include "fleet/redis_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "common/log.hpp"
#include "io/clock.hpp"

namespace mxgate::fleet {

namespace asio = boost::asio;
using boost::system::error_code;
using boost::system::result;
using Milliseconds = std::chrono::milliseconds;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// The link's state, shared with the keeper coroutine so that either may end first.
struct LinkCore {
  LinkCore(asio::any_io_executor ex, RedisLinkSettings s)
      : executor(std::move(ex)), settings(std::move(s)), wake(executor) {}

  bool sentinel_mode() const { return !settings.server.has_value(); }
  bool up() const { return connection != nullptr && connected && connection->connected(); }
  void set_state(bool now_connected, std::string text);

  asio::any_io_executor executor;
  RedisLinkSettings settings;
  // The connection in use, or the one being opened (so that stop() can close it).
  std::shared_ptr<RedisConnection> connection;
  io::Timer wake;  // the keeper's rest between attempts
  std::optional<RedisEndpoint> master;
  bool connected = false;
  bool started = false;
  bool stopping = false;
  std::string status = "redis: not started";
  RedisLink::OnChange on_change;
};

void LinkCore::set_state(bool now_connected, std::string text) {
  // After stop() the owner may be gone, and what its close caused is no news.
  if (stopping || (now_connected == connected && text == status)) return;
  connected = now_connected;
  status = std::move(text);
  if (connected) {
    spdlog::info("redis_link state=up status={}", common::escape(status));
  } else {
    spdlog::warn("redis_link state=down status={}", common::escape(status));
  }
  if (on_change) on_change(connected, status);
}

namespace {

// A short-lived connection for one question (to a Sentinel, or ROLE), registered as the core's
// connection so that stop() can cut it short.
asio::awaitable<result<RedisReply>> ask(std::shared_ptr<LinkCore> core, RedisEndpoint endpoint,
                                        std::string password, std::vector<std::string> args,
                                        std::string& why) {
  auto connection = std::make_shared<RedisConnection>(core->executor);
  core->connection = connection;
  const auto& s = core->settings;
  if (const auto ec = co_await connection->open(endpoint, s.connect_timeout, std::move(password))) {
    why = fmt::format("{}: {}", endpoint.text(), connection->failure());
    co_return ec;
  }
  auto reply = co_await connection->command(std::move(args), s.probe_timeout);
  if (!reply) why = fmt::format("{}: {}", endpoint.text(), connection->failure());
  connection->close();
  co_return reply;
}

std::optional<RedisEndpoint> parse_master_address(const RedisReply& reply) {
  if (!reply.is_array() || reply.elements.size() != 2) return std::nullopt;
  const auto& port_text = reply.elements[1].text;
  std::uint16_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0) {
    return std::nullopt;
  }
  // hiredis would resolve a host name with a blocking getaddrinfo() on the worker's thread.
  error_code not_ip;
  asio::ip::make_address(reply.elements[0].text, not_ip);
  if (not_ip) return std::nullopt;
  return RedisEndpoint::tcp(reply.elements[0].text, port);
}

// The master the first Sentinel that knows it names; `why` collects each one's failure.
asio::awaitable<std::optional<RedisEndpoint>> discover(std::shared_ptr<LinkCore> core,
                                                       std::string& why) {
  std::vector<std::string> failures;
  for (const auto& sentinel : core->settings.sentinels) {
    std::string failure;
    std::vector<std::string> args{"SENTINEL", "get-master-addr-by-name",
                                  core->settings.master_name};
    auto reply =
        co_await ask(core, sentinel, core->settings.sentinel_password, std::move(args), failure);
    if (core->stopping) co_return std::nullopt;
    if (!reply) {
      failures.push_back("sentinel " + failure);
      continue;
    }
    if (auto master = parse_master_address(*reply)) co_return master;
    failures.push_back(fmt::format("sentinel {}: no usable address for master {} ({})",
                                   sentinel.text(), core->settings.master_name,
                                   reply->debug_text()));
  }
  why = fmt::format("{}", fmt::join(failures, "; "));
  co_return std::nullopt;
}

// Opens a connection to `address` and, with Sentinel, checks that it is a master. On success
// the core's connection is the master's.
asio::awaitable<bool> connect_master(std::shared_ptr<LinkCore> core, RedisEndpoint address) {
  const auto& s = core->settings;
  core->master = address;
  auto connection = std::make_shared<RedisConnection>(core->executor);
  core->connection = connection;
  const auto where = "redis " + address.text();
  if (co_await connection->open(address, s.connect_timeout, s.password)) {
    core->set_state(false, fmt::format("{}: {}", where, connection->failure()));
    co_return false;
  }
  if (core->sentinel_mode()) {
    std::vector<std::string> role_args{"ROLE"};
    auto role = co_await connection->command(std::move(role_args), s.probe_timeout);
    if (!role) {
      core->set_state(false, fmt::format("{}: {}", where, connection->failure()));
      co_return false;
    }
    if (!role->is_array() || role->elements.empty() || role->elements[0].text != "master") {
      connection->close();
      core->set_state(false, fmt::format("{}: not a master (ROLE {})", where, role->debug_text()));
      co_return false;
    }
  }
  if (core->stopping) co_return false;
  core->set_state(true, where + ": connected");
  co_return true;
}

// Sleeps for `backoff`; with Sentinel it asks them every sentinel_poll meanwhile and returns
// early, with the address, when they name a master other than the one that just failed.
asio::awaitable<std::optional<RedisEndpoint>> rest(std::shared_ptr<LinkCore> core,
                                                   Milliseconds backoff) {
  const auto until = io::Clock::now() + backoff;
  const auto failed = core->master;
  while (!core->stopping) {
    const auto now = io::Clock::now();
    if (now >= until) break;
    auto step = until - now;
    if (core->sentinel_mode() && failed)
      step = std::min<io::Clock::duration>(step, core->settings.sentinel_poll);
    core->wake.expires_after(step);
    co_await core->wake.async_wait(kTuple);
    if (core->stopping || !core->sentinel_mode() || !failed) continue;
    std::string ignored;
    auto named = co_await discover(core, ignored);
    if (named && named != failed) co_return named;
  }
  co_return std::nullopt;
}

// The keeper: connects, waits for the connection to close, and again, until stop().
asio::awaitable<void> keep(std::shared_ptr<LinkCore> core) {
  const auto& s = core->settings;
  auto backoff = s.backoff_min;
  std::optional<RedisEndpoint> next;  // the master the Sentinels named while resting
  while (!core->stopping) {
    std::optional<RedisEndpoint> address = s.server;
    if (next) {
      address = std::exchange(next, std::nullopt);
    } else if (core->sentinel_mode()) {
      std::string why;
      address = co_await discover(core, why);
      if (!address && !core->stopping) {
        core->set_state(false, fmt::format("redis master {}: {}", s.master_name, why));
      }
    }
    if (core->stopping) break;
    if (address && co_await connect_master(core, *address)) {
      const auto since = io::Clock::now();
      const auto connection = core->connection;
      co_await connection->wait_closed();
      if (core->stopping) break;
      core->set_state(false, fmt::format("redis {}: {}", address->text(), connection->failure()));
      // A connection that lived a while starts the backoff again; one that a server takes and
      // drops at once keeps doubling it, so a flapping server is not hammered.
      if (io::Clock::now() - since >= s.backoff_max) backoff = s.backoff_min;
    }
    if (core->stopping) break;
    next = co_await rest(core, backoff);
    backoff = std::min(backoff * 2, s.backoff_max);
  }
  core->connection.reset();
}

}  // namespace

RedisLink::RedisLink(asio::any_io_executor executor, RedisLinkSettings settings)
    : core_(std::make_shared<LinkCore>(std::move(executor), std::move(settings))) {}

RedisLink::~RedisLink() { stop(); }

void RedisLink::start() {
  if (core_->started) return;
  core_->started = true;
  if (!core_->settings.server && core_->settings.sentinels.empty()) {
    core_->status = "redis: neither a server nor Sentinels are configured";
    return;
  }
  core_->status = "redis: connecting";
  asio::co_spawn(core_->executor, keep(core_), asio::detached);
}

void RedisLink::stop() {
  if (core_->stopping) return;
  core_->stopping = true;
  core_->on_change = nullptr;
  core_->wake.cancel();
  if (core_->connection) core_->connection->close();
  core_->connected = false;
  core_->status = "redis: stopped";
}

bool RedisLink::connected() const { return core_->up(); }

std::string RedisLink::status() const { return core_->status; }

std::optional<RedisEndpoint> RedisLink::master() const { return core_->master; }

void RedisLink::on_change(OnChange callback) { core_->on_change = std::move(callback); }

asio::awaitable<result<RedisReply>> RedisLink::command(std::vector<std::string> args,
                                                       Milliseconds timeout) {
  const auto core = core_;
  if (!core->up()) co_return make_error_code(Error::not_connected);
  const auto connection = core->connection;
  auto reply = co_await connection->command(std::move(args), timeout);
  // The master was demoted under us: the keeper sees the close and asks the Sentinels again.
  if (reply && reply->is_error() && reply->text.starts_with("READONLY")) {
    connection->close("demoted to a replica (READONLY)");
  }
  co_return reply;
}

}  // namespace mxgate::fleet
