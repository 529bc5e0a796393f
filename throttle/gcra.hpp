// The Generic Cell Rate Algorithm (GCRA, ITU-T I.371; the "virtual scheduling" form): a rate
// limit of `count` events per `period` with `burst` more allowed back to back, kept as one
// number per key, the theoretical arrival time (TAT) of the next event at the steady rate.
//   emission interval T = period / count, tolerance tau = burst * T
//   an event at `now` is admitted when max(TAT, now) - now <= tau; then TAT = max(TAT, now) + T
// So a key at rest admits burst + 1 events at once and then one per T: at most count + burst
// in any window of one period, and count per period sustained. A TAT at or before `now` means
// the key is at rest: its state can be forgotten (that is how keys expire).
// Pure: no clock, no locks. Times are microseconds on any one clock.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mxgate::throttle {

struct Rate {
  std::uint32_t count = 1;   // events per period (> 0)
  std::int64_t period_us = 1'000'000;  // > 0
  std::uint32_t burst = 0;   // events beyond the steady rate, back to back

  std::int64_t interval_us() const { return std::max<std::int64_t>(1, period_us / count); }
  std::int64_t tolerance_us() const { return interval_us() * burst; }
  bool operator==(const Rate&) const = default;
};

struct GcraDecision {
  bool admitted = false;
  std::int64_t tat_us = 0;          // the key's new TAT (unchanged when refused)
  std::int64_t retry_after_us = 0;  // refused: when the next event would be admitted
};

// `tat_us` 0 means a key never seen (at rest).
inline GcraDecision gcra(std::int64_t tat_us, std::int64_t now_us, const Rate& rate) {
  const std::int64_t start = std::max(tat_us, now_us);
  const std::int64_t ahead = start - now_us;
  if (ahead > rate.tolerance_us()) {
    return {false, tat_us, ahead - rate.tolerance_us()};
  }
  return {true, start + rate.interval_us(), 0};
}

}  // namespace mxgate::throttle
