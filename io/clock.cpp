#include "io/clock.hpp"

namespace mxgate::io {
namespace {

thread_local const common::Clock* t_override = nullptr;

}  // namespace

Clock::time_point Clock::now() noexcept {
  if (t_override == nullptr) return std::chrono::steady_clock::now();
  return time_point(std::chrono::duration_cast<duration>(t_override->now().time_since_epoch()));
}

ClockOverride::ClockOverride(const common::Clock& clock) : previous_(t_override) {
  t_override = &clock;
}

ClockOverride::~ClockOverride() { t_override = previous_; }

}  // namespace mxgate::io
