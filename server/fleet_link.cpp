#include "server/fleet_link.hpp"

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "fleet/settings.hpp"
#include "storage/change.hpp"
#include "storage/counts.hpp"

namespace mxgate::server {

namespace {

std::string field_of(const storage::Change& change) {
  using Kind = storage::Change::Kind;
  if (change.kind == Kind::PutDoc || change.kind == Kind::EraseDoc) return "doc:" + change.key;
  return std::string(storage::family_name(change.family)) + ":" + change.key;
}

}  // namespace

std::unique_ptr<fleet::Changes> start_fleet(const conf::Config& config,
                                            storage::ReputationStore& store,
                                            throttle::Throttle& throttle,
                                            fleet::FleetMetrics& metrics) {
  metrics.enabled.Set(config.fleet.enabled ? 1 : 0);
  if (!config.fleet.enabled) return nullptr;
  auto changes = std::make_unique<fleet::Changes>(
      fleet::changes_settings(config),
      [&store](std::string_view bytes) {
        const auto change = storage::decode_change(bytes);
        if (!change) {
          spdlog::warn("fleet_change_unreadable bytes={}", bytes.size());
          return;
        }
        if (const auto ec = store.apply(*change)) {
          spdlog::warn("fleet_change_failed key={} error=\"{}\"", common::escape(change->key),
                       ec.message());
        }
      },
      &metrics);
  auto* publisher = changes.get();
  store.set_change_observer([publisher](const storage::Change& change) {
    publisher->publish(field_of(change), storage::encode_change(change));
  });
  throttle.set_charge_sink([publisher](const std::string& key) { publisher->charge(key); });
  changes->on_charges([&throttle](std::string_view key, std::uint32_t events) {
    throttle.charge_remote(key, events, common::unix_micros());
  });
  // History counters: the patches each flush wrote, folded per key until the fleet takes them.
  auto counts = std::make_shared<storage::CountsAggregator>(config.fleet.max_queued,
                                                            store.options().history_days);
  store.set_counts_observer([counts, &metrics](storage::Family family, std::string_view key,
                                               std::string_view patch) {
    if (!counts->add(family, key, patch)) metrics.dropped.Increment();
  });
  changes->share_counts([counts] { return counts->take(); },
                        [&store](std::string_view batch) -> std::size_t {
                          const auto merged = store.apply_counts(batch);
                          if (merged) return *merged;
                          spdlog::warn("fleet_counts_failed bytes={} error=\"{}\"",
                                       batch.size(), merged.error().message());
                          return 0;
                        });
  changes->start();
  spdlog::info("fleet_started node={} redis={} sentinels={}", config.fleet.node_name,
               config.fleet.sentinels.empty() ? config.fleet.redis : "-",
               config.fleet.sentinels.size());
  return changes;
}

}  // namespace mxgate::server
