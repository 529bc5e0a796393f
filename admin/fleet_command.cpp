#include "admin/fleet_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleet/redis_link.hpp"
#include "fleet/settings.hpp"

namespace mxgate::admin {

namespace asio = boost::asio;
using Milliseconds = std::chrono::milliseconds;

namespace {

constexpr Milliseconds kTimeout{3000};
constexpr std::int64_t kSilentMs = 10'000;

struct NodeLine {
  std::string name;
  std::map<std::string, std::string> fields;
  std::int64_t seen_ms = 0;
};

std::int64_t number(const std::string& text) {
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The questions, on a link of their own; nullopt with `why` when Redis cannot be reached.
asio::awaitable<std::optional<std::vector<std::string>>> ask_redis(
    fleet::RedisLinkSettings settings, std::string prefix, std::string& why) {
  const auto executor = co_await asio::this_coro::executor;
  fleet::RedisLink link(executor, settings);
  link.start();
  asio::steady_timer timer(executor);
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (!link.connected() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(Milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (!link.connected()) {
    why = link.status();
    link.stop();
    co_return std::nullopt;
  }
  std::vector<std::string> lines;
  // Named, not braced in the co_await (GCC 12 mislays such temporaries in the frame).
  std::vector<std::string> xlen{"XLEN", prefix + ":changes"};
  std::vector<std::string> hlen{"HLEN", prefix + ":state"};
  std::vector<std::string> smembers{"SMEMBERS", prefix + ":nodes"};
  const auto length = co_await link.command(std::move(xlen), kTimeout);
  const auto kept = co_await link.command(std::move(hlen), kTimeout);
  lines.push_back(fmt::format("redis {} connected changes={} state={}",
                              link.master() ? link.master()->text() : "?",
                              length ? length->integer : -1, kept ? kept->integer : -1));
  const auto names = co_await link.command(std::move(smembers), kTimeout);
  std::vector<NodeLine> nodes;
  for (const auto& name : names ? names->elements : std::vector<fleet::RedisReply>{}) {
    std::vector<std::string> hgetall{"HGETALL", prefix + ":node:" + name.text};
    const auto all = co_await link.command(std::move(hgetall), kTimeout);
    if (!all || all->elements.empty()) continue;
    NodeLine node{name.text, {}, 0};
    for (std::size_t i = 0; i + 1 < all->elements.size(); i += 2) {
      node.fields[all->elements[i].text] = all->elements[i + 1].text;
    }
    node.seen_ms = number(node.fields["seen_ms"]);
    nodes.push_back(std::move(node));
  }
  link.stop();
  std::sort(nodes.begin(), nodes.end(),
            [](const auto& a, const auto& b) { return a.seen_ms > b.seen_ms; });
  const auto now = std::chrono::duration_cast<Milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (auto& node : nodes) {
    const auto ago = now - node.seen_ms;
    lines.push_back(fmt::format(
        "node {} seen={:.1f}s lag={}s queued={} published={} applied={} position={} "
        "connected={}{}",
        node.name, static_cast<double>(ago) / 1000.0, node.fields["lag_seconds"],
        node.fields["queued"], node.fields["published"], node.fields["applied"],
        node.fields["position"], node.fields["connected"] == "1" ? "yes" : "no",
        ago > kSilentMs ? " (silent)" : ""));
  }
  co_return lines;
}

}  // namespace

int run_fleet_status(const conf::Config& config) {
  if (!config.fleet.enabled) {
    fmt::print(stderr, "mxgate fleet: fleet mode is off ([fleet] enabled = false in {})\n",
               config.source.string());
    return kExitConfig;
  }
  spdlog::set_level(spdlog::level::off);  // the link's state lines: the output says it all
  asio::io_context io;
  std::string why;
  auto answer = asio::co_spawn(io, ask_redis(fleet::redis_settings(config), config.fleet.key_prefix, why),
                               asio::use_future);
  io.run();
  const auto lines = answer.get();
  if (!lines) {
    fmt::print(stderr, "mxgate fleet: cannot reach Redis: {}\n", why);
    return kExitFailure;
  }
  for (const auto& line : *lines) fmt::print("{}\n", line);
  return kExitOk;
}

void add_fleet_commands(Cli& cli) {
  auto& fleet = *cli.app().add_subcommand("fleet", "Fleet mode: nodes sharing state through Redis");
  fleet.require_subcommand(1);
  auto& status = *fleet.add_subcommand(
      "status", "Show the fleet's Redis and the nodes that reported to it recently");
  cli.add_config_options(status);
  cli.on(status, [&cli] { return run_fleet_status(cli.load_config()); });
}

}  // namespace mxgate::admin
