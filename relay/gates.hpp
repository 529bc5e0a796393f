// DownstreamGates: what every worker's Pool asks before it hands out a downstream connection,
// per downstream (host:port), across the whole process:
// - Concurrency: at most relay.max_connections connections in use (a transaction on them) at
//   once; idle pooled connections do not count. A caller over the limit tries the route's next
//   downstream, then waits for a slot (Pool::acquire, bounded by relay.connect_timeout).
// - Circuit breaker: after relay.breaker_failures consecutive failures to open a connection
//   (refused, timeout, a bad greeting, TLS), the circuit opens: nobody connects for
//   relay.breaker_cooldown. Then one caller probes (half-open); its success closes the
//   circuit, its failure opens it again for twice as long, up to relay.breaker_max_cooldown.
//   An open circuit fails fast: inline mode answers 451 4.4.1 at once, queue mode reschedules.
// Threading: thread-safe (one mutex; calls are short and never block on I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "conf/config.hpp"

namespace mxgate::relay {

class DownstreamGates;

// One connection's place under a downstream's limit; given back when destroyed or reset.
class GateSlot {
 public:
  GateSlot() = default;
  GateSlot(GateSlot&& other) noexcept { *this = std::move(other); }
  GateSlot& operator=(GateSlot&& other) noexcept;
  ~GateSlot() { reset(); }
  void reset();
  explicit operator bool() const { return gates_ != nullptr; }
  bool probe() const { return probe_; }  // this connection is the half-open circuit's trial

 private:
  friend class DownstreamGates;
  DownstreamGates* gates_ = nullptr;
  std::string key_;
  bool probe_ = false;
};

class DownstreamGates {
 public:
  struct Settings {
    std::uint32_t max_connections = 0;   // 0: no limit
    std::uint32_t breaker_failures = 0;  // 0: no circuit breaker
    common::Clock::duration cooldown{};
    common::Clock::duration max_cooldown{};
  };
  static Settings settings_of(const conf::RelayConfig& relay);

  enum class Refusal { None, Full, CircuitOpen };
  struct Entry {
    GateSlot slot;  // set when admitted
    Refusal refusal = Refusal::None;
  };

  DownstreamGates(const Settings& settings, const common::Clock& clock);
  ~DownstreamGates();
  DownstreamGates(const DownstreamGates&) = delete;
  DownstreamGates& operator=(const DownstreamGates&) = delete;
  void update(const Settings& settings);

  // A slot for a connection to `target`, or why not.
  Entry enter(const conf::HostPort& target);
  // The outcome of opening a connection to `target` (with or without a probe slot).
  void opened(const conf::HostPort& target);
  void failed(const conf::HostPort& target);

  struct Counts {
    std::size_t open_circuits = 0;    // downstreams whose circuit is open or half-open now
    std::uint64_t circuit_opens = 0;  // times a circuit opened (or reopened after a probe)
    std::size_t tracked = 0;          // downstreams in use or failing (the others are forgotten)
  };
  Counts counts() const;
  // The downstreams ("host:port", conf::HostPort::text()) whose circuit is open or half-open.
  std::vector<std::string> open_circuits() const;

 private:
  friend class GateSlot;
  struct Gate {
    std::uint32_t in_use = 0;
    std::uint32_t failures = 0;  // consecutive
    bool open = false;
    bool probing = false;
    common::Clock::time_point open_until{};
    common::Clock::duration cooldown{};
  };
  static constexpr std::size_t kMaxGates = 4096;
  void leave(const std::string& key, bool probe);
  Gate& gate(const std::string& key);         // with mutex_ held
  void forget_idle(const std::string& key);  // with mutex_ held; `key` has a gate

  const common::Clock& clock_;
  mutable std::mutex mutex_;  // guards everything below
  Settings settings_;
  std::map<std::string, Gate, std::less<>> gates_;
  std::uint64_t circuit_opens_ = 0;
};

}  // namespace mxgate::relay
