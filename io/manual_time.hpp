// For tests: advances a manual clock (io/clock.hpp) and lets an io_context run what became due.
// Asio's reactor learns that a timer is due from a timerfd armed in real time; after the manual
// clock jumps, a timer that is due at once makes the reactor look at every timer queue again
// (with io::Clock::now()), so every timer now due completes.
// Threading: the thread that runs `io` and installed the manual clock (ClockOverride).
#pragma once

#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"
#include "io/clock.hpp"

namespace mxgate::io {

// Runs the handlers that are ready now, timers due at the manual clock's time included.
inline void run_due(boost::asio::io_context& io) {
  Timer kick(io);
  kick.expires_at(Clock::time_point::min());
  bool kicked = false;
  kick.async_wait([&kicked](boost::system::error_code) { kicked = true; });
  while (!kicked && io.run_one() > 0) {
  }
  io.restart();
  io.poll();
  io.restart();
}

inline void advance(boost::asio::io_context& io, common::ManualClock& clock,
                    common::Clock::duration step) {
  clock.advance(step);
  run_due(io);
}

}  // namespace mxgate::io
