#include "relay/gates.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mxgate::relay {
namespace {

std::string key_of(const conf::HostPort& target) { return target.text(); }

}  // namespace

GateSlot& GateSlot::operator=(GateSlot&& other) noexcept {
  if (this != &other) {
    reset();
    gates_ = std::exchange(other.gates_, nullptr);
    key_ = std::move(other.key_);
    probe_ = std::exchange(other.probe_, false);
  }
  return *this;
}

void GateSlot::reset() {
  if (gates_ != nullptr) std::exchange(gates_, nullptr)->leave(key_, probe_);
  probe_ = false;
}

DownstreamGates::Settings DownstreamGates::settings_of(const conf::RelayConfig& relay) {
  return Settings{relay.max_connections, relay.breaker_failures,
                  std::chrono::duration_cast<common::Clock::duration>(relay.breaker_cooldown),
                  std::chrono::duration_cast<common::Clock::duration>(relay.breaker_max_cooldown)};
}

DownstreamGates::DownstreamGates(const Settings& settings, const common::Clock& clock)
    : clock_(clock), settings_(settings) {}

DownstreamGates::~DownstreamGates() = default;

void DownstreamGates::update(const Settings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
}

// The map holds only the downstreams in use or failing: DSNs reach the whole Internet's mail
// exchangers, not only the configured ones. Past kMaxGates, failing ones without a connection
// in use go too, unless their circuit is open.
DownstreamGates::Gate& DownstreamGates::gate(const std::string& key) {
  if (gates_.size() >= kMaxGates && gates_.find(key) == gates_.end()) {
    const auto now = clock_.now();
    std::erase_if(gates_, [&](const auto& entry) {
      const Gate& g = entry.second;
      return g.in_use == 0 && !g.probing && (!g.open || now >= g.open_until);
    });
  }
  auto [it, added] = gates_.try_emplace(key);
  if (added) it->second.cooldown = settings_.cooldown;
  return it->second;
}

// A gate with nothing in use, no failure and a closed circuit says nothing a new one would not.
void DownstreamGates::forget_idle(const std::string& key) {
  const auto it = gates_.find(key);
  const Gate& g = it->second;
  if (g.in_use == 0 && g.failures == 0 && !g.open && !g.probing) gates_.erase(it);
}

DownstreamGates::Entry DownstreamGates::enter(const conf::HostPort& target) {
  const std::string key = key_of(target);
  std::lock_guard lock(mutex_);
  Gate& g = gate(key);
  Entry entry;
  bool probe = false;
  if (g.open) {
    if (g.probing || clock_.now() < g.open_until) {
      entry.refusal = Refusal::CircuitOpen;
      return entry;
    }
    probe = true;  // half-open: this caller tries, the others keep failing fast
  }
  if (settings_.max_connections != 0 && g.in_use >= settings_.max_connections) {
    entry.refusal = Refusal::Full;
    return entry;
  }
  ++g.in_use;
  g.probing = g.probing || probe;
  entry.slot.gates_ = this;
  entry.slot.key_ = key;
  entry.slot.probe_ = probe;
  return entry;
}

void DownstreamGates::leave(const std::string& key, bool probe) {
  std::lock_guard lock(mutex_);
  Gate& g = gate(key);
  g.in_use -= std::min<std::uint32_t>(g.in_use, 1);
  if (probe) g.probing = false;  // a probe given up without an outcome: the next caller tries
  forget_idle(key);
}

void DownstreamGates::opened(const conf::HostPort& target) {
  const std::string key = key_of(target);
  std::lock_guard lock(mutex_);
  Gate& g = gate(key);
  if (g.open) spdlog::info("relay_circuit downstream={} state=closed", key);
  g.failures = 0;
  g.open = false;
  g.probing = false;
  g.cooldown = settings_.cooldown;
  forget_idle(key);
}

void DownstreamGates::failed(const conf::HostPort& target) {
  const std::string key = key_of(target);
  std::lock_guard lock(mutex_);
  Gate& g = gate(key);
  ++g.failures;
  if (settings_.breaker_failures == 0) return;
  if (g.open && g.probing) {
    g.cooldown = std::min(g.cooldown * 2, std::max(settings_.max_cooldown, settings_.cooldown));
  } else if (g.open || g.failures < settings_.breaker_failures) {
    return;  // a failure of a connection opened before the circuit did
  }
  g.open = true;
  g.probing = false;
  g.open_until = clock_.now() + g.cooldown;
  ++circuit_opens_;
  spdlog::warn("relay_circuit downstream={} state=open failures={} for_ms={}", key, g.failures,
               std::chrono::duration_cast<std::chrono::milliseconds>(g.cooldown).count());
}

DownstreamGates::Counts DownstreamGates::counts() const {
  std::lock_guard lock(mutex_);
  Counts c;
  c.circuit_opens = circuit_opens_;
  c.tracked = gates_.size();
  c.open_circuits = static_cast<std::size_t>(
      std::count_if(gates_.begin(), gates_.end(), [](const auto& g) { return g.second.open; }));
  return c;
}

std::vector<std::string> DownstreamGates::open_circuits() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> keys;
  for (const auto& [key, gate] : gates_) {
    if (gate.open) keys.push_back(key);
  }
  return keys;
}

}  // namespace mxgate::relay
