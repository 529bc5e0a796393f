#include "common/clock.hpp"

namespace mxgate::common {

namespace {
template <typename Unit>
std::int64_t since_epoch() {
  return std::chrono::duration_cast<Unit>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::int64_t unix_seconds() { return since_epoch<std::chrono::seconds>(); }
std::int64_t unix_millis() { return since_epoch<std::chrono::milliseconds>(); }
std::int64_t unix_micros() { return since_epoch<std::chrono::microseconds>(); }

Clock& system_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace mxgate::common
