#include "server/screening.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace mxgate::server {

namespace asio = boost::asio;
using reputation::CheckOutcome;
using reputation::CheckSettings;

namespace {

const CheckSettings& history_check() {
  static const CheckSettings settings{"reputation_history", 1, CheckSettings::Mode::Enforce,
                                      reputation::kDefaultCheckTimeout,
                                      CheckSettings::OnError::Ignore};
  return settings;
}

// The records to judge: the IP's own, and the most specific network record found.
std::vector<CheckOutcome> assess(const storage::ConnectLookup& lookup,
                                 const reputation::ModelSettings& model) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  bool failed = lookup.ip.state == storage::Lookup::Error;
  const reputation::Record* network = nullptr;
  for (auto it = lookup.networks.rbegin(); it != lookup.networks.rend(); ++it) {
    failed = failed || it->state == storage::Lookup::Error;
    if (network == nullptr && it->state == storage::Lookup::Found) network = &it->record;
  }
  static const reputation::Record kNeverSeen;
  const auto& ip = lookup.ip.state == storage::Lookup::Found ? lookup.ip.record : kNeverSeen;
  std::vector<CheckOutcome> outcomes;
  for (auto& verdict : reputation::assess(ip, network, now, model)) {
    outcomes.push_back(CheckOutcome{history_check(), std::move(verdict), false, false});
  }
  if (failed) outcomes.push_back(CheckOutcome{history_check(), {}, true, false});
  return outcomes;
}

}  // namespace

asio::awaitable<reputation::StageAnswer> screen_connect(ScreeningContext context,
                                                        asio::ip::address address,
                                                        reputation::SessionVerdict& verdict) {
  auto lookup = context.store.try_get_connect(address);
  if (!lookup.complete()) {
    // Not cached: read on the blocking pool, then come back to the session's worker.
    context.metrics.reputation_lookups_blocking.Increment();
    auto worker = co_await asio::this_coro::executor;
    co_await asio::post(context.blocking, asio::use_awaitable);
    lookup = context.store.get_connect(address);
    co_await asio::post(worker, asio::use_awaitable);
  } else {
    context.metrics.reputation_lookups_cached.Increment();
  }
  auto outcomes = assess(lookup, context.model);
  for (const auto& outcome : outcomes) {
    if (outcome.error) context.metrics.reputation_lookup_errors.Increment();
  }
  co_return verdict.on_stage(reputation::Stage::Connect, outcomes);
}

}  // namespace mxgate::server
