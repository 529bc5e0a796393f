// ReadBudget: the time a client has to send one request: a command line, or the content of a
// DATA or BDAT request (Postfix's smtpd_per_request_deadline and smtpd_min_data_rate). A reset
// deadline per read would let a client that sends one byte every few minutes hold a session for
// days; here only the time spent waiting for the client counts against the request, and with a
// minimum data rate, each byte received earns 1/rate seconds more, never beyond the full limit.
// So a command line must arrive within server.command_timeout, and content must keep up
// server.min_data_rate on average with no pause longer than server.data_timeout. RFC 5321
// §4.5.3.2 asks for at least 5 minutes awaiting a command and 3 minutes per TCP send of data,
// which these defaults keep.
// Pure; owned by one session.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace mxgate::server {

class ReadBudget {
 public:
  using Duration = std::chrono::steady_clock::duration;

  // A command line: `limit` in all, however its bytes arrive.
  static ReadBudget command(Duration limit) { return ReadBudget(limit, kNoEarning); }
  // Content: `limit` at first, and 1/min_rate seconds more per byte received, never beyond
  // `limit`. min_rate 0: `limit` again after every read that brought bytes (RFC 5321's
  // per-send timeout alone).
  static ReadBudget content(Duration limit, std::uint64_t min_rate) {
    return ReadBudget(limit, min_rate == 0 ? kPerRead : min_rate);
  }

  // What the next read may wait; zero or less: the request is out of time.
  Duration left() const { return left_; }
  bool exhausted() const { return left_ <= Duration::zero(); }

  // A read waited `waited` and brought `bytes`.
  void spent(Duration waited, std::uint64_t bytes) {
    left_ -= waited;
    if (bytes == 0 || rate_ == kNoEarning) return;
    if (rate_ == kPerRead) {
      left_ = limit_;
      return;
    }
    const std::chrono::duration<double> earned(static_cast<double>(bytes) /
                                               static_cast<double>(rate_));
    left_ = std::min(limit_, left_ + std::chrono::duration_cast<Duration>(earned));
  }

 private:
  static constexpr std::uint64_t kNoEarning = 0;
  static constexpr std::uint64_t kPerRead = UINT64_MAX;

  ReadBudget(Duration limit, std::uint64_t rate) : limit_(limit), left_(limit), rate_(rate) {}

  Duration limit_;
  Duration left_;
  std::uint64_t rate_;  // bytes per second, or one of the two above
};

}  // namespace mxgate::server
