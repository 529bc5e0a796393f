// io::Clock: the steady clock of every timer and deadline in mxgate's asynchronous code
// (io::Timer), so that tests can drive time. By default it is std::chrono::steady_clock; a test
// installs a common::ManualClock for its thread (ClockOverride), and every io::Timer and every
// deadline computed from io::Clock::now() on that thread follows the manual clock: the test
// advances it and polls its io_context, with no sleeps and no wall-clock assertions.
// Threading: the override is per thread (a worker's thread never has one). Nothing blocks.
#pragma once

#include <boost/asio/basic_waitable_timer.hpp>

#include <chrono>

#include "common/clock.hpp"

namespace mxgate::io {

struct Clock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr bool is_steady = true;

  static time_point now() noexcept;
};

using Timer = boost::asio::basic_waitable_timer<Clock>;

// While it lives, io::Clock::now() on this thread reads `clock`. For tests.
class ClockOverride {
 public:
  explicit ClockOverride(const common::Clock& clock);
  ~ClockOverride();
  ClockOverride(const ClockOverride&) = delete;
  ClockOverride& operator=(const ClockOverride&) = delete;

 private:
  const common::Clock* previous_;
};

}  // namespace mxgate::io
