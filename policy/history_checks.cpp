#include "policy/history_checks.hpp"

#include <chrono>

#include "common/clock.hpp"
#include "io/blocking.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using storage::Lookup;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The IP's own record and the listing of its most specific listed network, judged by the
// model. A more specific network that only has counters (a /64 that sent mail) does not hide
// the listing of a wider one (the /48 an operator blocked).
CheckResult judge_connect(const storage::ConnectLookup& lookup,
                          const reputation::ModelSettings& model, HistoryFacts* facts) {
  const auto now = unix_now();
  bool failed = lookup.ip.state == Lookup::Error;
  const reputation::Record* network = nullptr;
  for (auto it = lookup.networks.rbegin(); it != lookup.networks.rend(); ++it) {
    failed = failed || it->state == Lookup::Error;
    if (network == nullptr && it->state == Lookup::Found && it->record.listing.active(now)) {
      network = &it->record;
    }
  }
  if (failed) return CheckResult{{}, true, "reputation store read failed"};
  static const reputation::Record kNeverSeen;
  const auto& ip = lookup.ip.state == Lookup::Found ? lookup.ip.record : kNeverSeen;
  if (facts != nullptr) {
    facts->ip = throttle::history_of(ip, now, facts->hygiene_days);
    const auto& last = lookup.networks.empty() || lookup.networks.back().state != Lookup::Found
                           ? kNeverSeen
                           : lookup.networks.back().record;  // the /24 or /64
    facts->network = throttle::history_of(last, now, facts->hygiene_days);
  }
  return CheckResult{reputation::assess(ip, network, now, model)};
}

void count_cached_lookup(const Services& context, std::chrono::steady_clock::time_point started) {
  context.metrics.reputation_lookups_cached.Increment();
  context.metrics.reputation_lookup_seconds_cached.Observe(seconds_since(started));
}

CheckResult judge_and_count(const Services& context, const storage::ConnectLookup& lookup,
                            const reputation::ModelSettings& model, HistoryFacts* facts) {
  auto result = judge_connect(lookup, model, facts);
  if (result.error) context.metrics.reputation_lookup_errors.Increment();
  return result;
}

// From the caches (no I/O), or nullopt when a record must be read from disk.
std::optional<CheckResult> ip_history_now(const Services& context, const asio::ip::address& address,
                                          const reputation::ModelSettings& model,
                                          HistoryFacts* facts) {
  const auto started = std::chrono::steady_clock::now();
  const auto lookup = context.store.try_get_connect(address);
  if (!lookup.complete()) return std::nullopt;
  count_cached_lookup(context, started);
  return judge_and_count(context, lookup, model, facts);
}

asio::awaitable<CheckResult> ip_history(const Services& context, asio::ip::address address,
                                        reputation::ModelSettings model,
                                        std::shared_ptr<HistoryFacts> facts) {
  const auto started = std::chrono::steady_clock::now();
  auto lookup = context.store.try_get_connect(address);
  if (lookup.complete()) {
    count_cached_lookup(context, started);
  } else {
    // Not cached: read on the blocking pool, then come back to the session's worker.
    context.metrics.reputation_lookups_blocking.Increment();
    lookup = co_await io::run_blocking(context.blocking,
                                       [&] { return context.store.get_connect(address); });
    context.metrics.reputation_lookup_seconds_blocking.Observe(seconds_since(started));
  }
  co_return judge_and_count(context, lookup, model, facts.get());
}

CheckResult judge_sender_domain(const Services& context, Lookup state,
                                const reputation::Record& record,
                                const reputation::ModelSettings& model, HistoryFacts* facts) {
  if (state == Lookup::Error) {
    context.metrics.reputation_lookup_errors.Increment();
    return CheckResult{{}, true, "reputation store read failed"};
  }
  if (state != Lookup::Found) return CheckResult{};
  if (facts != nullptr) {
    facts->sender_domain = throttle::history_of(record, unix_now(), facts->hygiene_days);
  }
  auto verdicts = reputation::assess(record, nullptr, unix_now(), model, "sender domain");
  // A domain is not an IP: "first seen recently" is the throttling issue's business for IPs.
  std::erase_if(verdicts, [](const reputation::Verdict& v) {
    return v.signal == reputation::Signal::FirstSeenRecently;
  });
  return CheckResult{std::move(verdicts)};
}

std::optional<CheckResult> sender_domain_history_now(const Services& context,
                                                     const std::string& key,
                                                     const reputation::ModelSettings& model,
                                                     HistoryFacts* facts) {
  reputation::Record record;
  const auto state = context.store.try_get(storage::Family::SenderDomain, key, record);
  if (state == Lookup::NotCached) return std::nullopt;
  return judge_sender_domain(context, state, record, model, facts);
}

asio::awaitable<CheckResult> sender_domain_history(const Services& context, std::string key,
                                                   reputation::ModelSettings model,
                                                   std::shared_ptr<HistoryFacts> facts) {
  reputation::Record record;
  auto state = context.store.try_get(storage::Family::SenderDomain, key, record);
  if (state == Lookup::NotCached) {
    state = co_await io::run_blocking(context.blocking, [&] {
      return context.store.read(storage::Family::SenderDomain, key, record);
    });
  }
  co_return judge_sender_domain(context, state, record, model, facts.get());
}

}  // namespace

std::int64_t unix_now() { return common::unix_seconds(); }

PendingCheck ip_history_check(const Services& context, reputation::CheckSettings settings,
                              asio::ip::address address, reputation::ModelSettings model,
                              std::shared_ptr<HistoryFacts> facts) {
  return PendingCheck{
      std::move(settings),
      [&context, address, model, facts] { return ip_history(context, address, model, facts); },
      [&context, address, model, facts] {
        return ip_history_now(context, address, model, facts.get());
      }};
}

PendingCheck sender_domain_check(const Services& context, reputation::CheckSettings settings,
                                 std::string domain, reputation::ModelSettings model,
                                 std::shared_ptr<HistoryFacts> facts) {
  std::string key = storage::domain_key(domain);
  return PendingCheck{
      std::move(settings),
      [&context, key, model, facts] { return sender_domain_history(context, key, model, facts); },
      [&context, key, model, facts] {
        return sender_domain_history_now(context, key, model, facts.get());
      }};
}

void add_ip_history(const CheckContext& context, const reputation::CheckSettings& settings,
                    std::vector<PendingCheck>& out) {
  if (!context.client.address) return;
  out.push_back(ip_history_check(context.services, settings, *context.client.address,
                                 context.config.reputation.model,
                                 context.share(&SessionFacts::history)));
}

void add_sender_domain_history(const CheckContext& context,
                               const reputation::CheckSettings& settings,
                               std::vector<PendingCheck>& out) {
  if (context.sender_domain.empty()) return;
  out.push_back(sender_domain_check(context.services, settings, std::string(context.sender_domain),
                                    context.config.reputation.model,
                                    context.share(&SessionFacts::history)));
}

}  // namespace mxgate::policy
