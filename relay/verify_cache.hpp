// VerifyCache: the answers of recipient callouts (relay/verify.hpp), with Postfix verify(8)'s
// semantics: a mailbox that exists is remembered for the positive TTL, one the mailbox server
// refused for the negative TTL, and a temporary failure is never stored. Bounded: over
// `capacity` entries the oldest stored one goes first (a dictionary attack's thousands of
// made-up addresses evict each other, not the whole cache at once).
// Time is a parameter (`now`), so tests drive it with a manual clock. Keys are normalized
// addresses (normalize_address, recipient_list.hpp).
// Threading: one per process, shared by the workers; every call takes the mutex, which guards
// the map and the age list. No I/O, no failure.
#pragma once

#include <prometheus/gauge.h>

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mxgate::relay {

class VerifyCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  // `entries` (may be null) follows size().
  explicit VerifyCache(std::size_t capacity, prometheus::Gauge* entries = nullptr);

  // Postfix's answer for `address`: true (exists), false (unknown), nullopt (not cached or
  // expired; an expired entry is dropped).
  std::optional<bool> find(const std::string& address, TimePoint now);
  // Stores an answer until now + ttl, replacing any previous one.
  void store(const std::string& address, bool exists, TimePoint now, Duration ttl);
  // A smaller bound applies at once (the oldest entries go); a reload may change it.
  void set_capacity(std::size_t capacity);
  std::size_t size() const;

 private:
  struct Entry {
    bool exists;
    TimePoint expires;
    std::list<std::string>::iterator age;
  };
  void erase(std::unordered_map<std::string, Entry>::iterator it);
  void trim();

  mutable std::mutex mutex_;  // guards everything below
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> ages_;  // keys, oldest stored first
  prometheus::Gauge* gauge_;
};

}  // namespace mxgate::relay
