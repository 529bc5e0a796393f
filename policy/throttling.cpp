#include "policy/throttling.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>

#include "common/clock.hpp"
#include "common/log.hpp"

namespace mxgate::policy {

std::int64_t unix_now_us() { return common::unix_micros(); }

Throttling::Throttling(const conf::ThrottleConfig& config, prometheus::Registry& registry)
    : throttle_(config),
      deferrals_(prometheus::BuildCounter()
                     .Name("mxgate_throttle_deferrals_total")
                     .Help("Clients deferred by throttling, by limit")
                     .Register(registry)),
      keys_(prometheus::BuildGauge()
                .Name("mxgate_throttle_keys")
                .Help("Throttling state entries in memory")
                .Register(registry)
                .Add({})),
      evictions_(prometheus::BuildCounter()
                     .Name("mxgate_throttle_evictions_total")
                     .Help("Throttling state entries dropped to stay within throttle.max_keys")
                     .Register(registry)
                     .Add({})) {}

void Throttling::deferred(const std::string& ip_key, const throttle::Deferral& deferral,
                          std::int64_t now_us) {
  throttle_.note_deferral(ip_key, deferral, now_us);
  std::lock_guard lock(mutex_);
  auto found = by_limit_.find(deferral.limit);
  if (found == by_limit_.end()) {
    found = by_limit_.emplace(deferral.limit, &deferrals_.Add({{"limit", deferral.limit}})).first;
  }
  found->second->Increment();
}

void Throttling::load(storage::ReputationStore& store, std::int64_t now_us,
                      throttle::Greylist* greylist) {
  std::size_t kept = 0, skipped = 0, greylisted = 0;
  const auto ec = store.load_state([&](std::string_view key, std::string_view value) {
    if (key.starts_with(throttle::Greylist::kKeyPrefix)) {
      greylisted += greylist && greylist->load(key, value, now_us);
      return;
    }
    (throttle_.load(key, value, now_us) ? kept : skipped) += 1;
  });
  if (ec) {
    spdlog::error("throttle_load_failed error={}", common::escape(ec.message()));
    return;
  }
  spdlog::info("throttle_loaded entries={} expired={} greylist={}", kept, skipped, greylisted);
  update_gauges();
}

void Throttling::save(storage::ReputationStore& store, std::int64_t now_us,
                      const throttle::Greylist* greylist) {
  auto entries = throttle_.save(now_us);
  if (greylist) {
    auto more = greylist->save(now_us);
    entries.insert(entries.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
  }
  if (auto ec = store.save_state(entries)) {
    spdlog::error("throttle_save_failed entries={} error={}", entries.size(),
                  common::escape(ec.message()));
  }
}

void Throttling::update_gauges() {
  keys_.Set(static_cast<double>(throttle_.table().size()));
  const auto evictions = throttle_.table().evictions();
  std::lock_guard lock(mutex_);
  if (evictions > evictions_seen_) {
    evictions_.Increment(static_cast<double>(evictions - evictions_seen_));
    evictions_seen_ = evictions;
  }
}

}  // namespace mxgate::policy
