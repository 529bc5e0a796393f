// Clock: the one source of "now" for code that decides things by time.
// Protocol and policy code takes a Clock& so tests can use ManualClock; nothing here blocks.
// Threading: SteadyClock is stateless; ManualClock is for single-threaded tests.
#pragma once

#include <chrono>
#include <cstdint>

namespace mxgate::common {

class Clock {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Wall-clock time, for log lines, Received headers and day boundaries.
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
};

class ManualClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  std::chrono::system_clock::time_point wall_now() const override { return wall_; }
  void advance(duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  void set_wall(std::chrono::system_clock::time_point t) { wall_ = t; }

 private:
  time_point now_{};
  std::chrono::system_clock::time_point wall_{};
};

// A process-wide SteadyClock for the composition root.
Clock& system_clock();

// Wall-clock time since the Unix epoch, for records and timestamps that outlive the process.
std::int64_t unix_seconds();
std::int64_t unix_millis();
std::int64_t unix_micros();

}  // namespace mxgate::common
