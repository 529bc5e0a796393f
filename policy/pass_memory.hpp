// Clients that passed the pregreet test, remembered for pregreet.pass_ttl so that they skip the
// greet pause (postscreen's "temporary whitelist"). Shared by all workers; bounded: when full,
// expired entries go first, then arbitrary ones; an entry expires on its own.
// Threading: safe from any thread; the map is split into stripes, each behind its own mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "io/clock.hpp"

namespace mxgate::policy {

class PassMemory {
 public:
  using Clock = io::Clock;  // a test's manual clock drives it

  explicit PassMemory(std::size_t capacity = 1'000'000) : per_stripe_(capacity / kStripes + 1) {}

  // `key`: the client's canonical address text.
  void remember(const std::string& key, Clock::time_point until);
  bool passed(const std::string& key, Clock::time_point now) const;
  std::size_t size() const;

 private:
  static constexpr std::size_t kStripes = 16;
  struct Stripe {
    mutable std::mutex mutex;  // guards `until`
    std::unordered_map<std::string, Clock::time_point> until;
  };
  Stripe& stripe(const std::string& key) const;
  void make_room(Stripe& s, Clock::time_point now);

  std::size_t per_stripe_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace mxgate::policy
