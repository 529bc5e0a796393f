// Greylist: greylisting's memory (issue 20), shared by all workers. A triplet (the client's /24
// or /64, the envelope sender, the recipient) seen for the first time is greylisted; a retry
// after min_delay and before max_delay passes, and the passed triplet is remembered for
// pass_ttl (each use renews it). A client IP with auto_allow passed triplets skips
// greylisting for pass_ttl after its last message. A retry later than max_delay starts over.
// Keys in the StateTable: "G|t|<network>|<hash of sender and recipient>" (a = first attempt,
// b = 1 once passed) and "G|i|<ip>" (a = passed triplets). Sender and recipient are compared
// without case and kept only as a 64-bit FNV-1a hash: entries stay small whatever the
// addresses, and a collision only lets one sender skip a wait it would have passed anyway.
// Bounded: at most max_entries entries; a new triplet beyond it is answered Full (the caller
// refuses it for now) and nothing is added. The table's own bound (twice that) only guards
// against an unlucky stripe.
// Pure: the caller passes the time (Unix microseconds). Threading: thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "throttle/state_table.hpp"

namespace mxgate::throttle {

struct GreylistSettings {
  std::int64_t min_delay_us = 300'000'000;
  std::int64_t max_delay_us = 43'200'000'000;
  std::int64_t pass_ttl_us = 3'024'000'000'000;
  std::uint32_t auto_allow = 5;  // 0: never
  std::uint64_t max_entries = 1'000'000;
};

// What check() found; the metrics' result label is its name.
enum class GreylistResult : std::uint8_t {
  Greylisted,    // a first attempt, or one after max_delay: refused, the wait starts
  RetriedEarly,  // a retry before min_delay: refused, the wait goes on
  Passed,        // a retry in the window: let through, the triplet is remembered
  Known,         // a triplet that passed before: let through
  AutoAllowed,   // the client IP passed auto_allow triplets: let through
  Full,          // a new triplet while max_entries are kept: refused, not remembered
};
inline constexpr std::size_t kGreylistResults = 6;

// "greylisted", "retried_early", "passed", "known", "auto_allowed", "full".
std::string_view greylist_result_name(GreylistResult result);
// Passed, Known and AutoAllowed let the recipient through.
bool lets_through(GreylistResult result);

struct Triplet {
  std::string ip;       // canonical text
  std::string network;  // "192.0.2.0/24", "2001:db8::/64"
  std::string sender;   // the envelope sender, "" for the null sender
  std::string recipient;
};

// nullopt when `ip_text` is not an address.
std::optional<Triplet> make_triplet(std::string_view ip_text, std::string_view sender,
                                    std::string_view recipient);

class Greylist {
 public:
  static constexpr std::string_view kKeyPrefix = "G|";

  explicit Greylist(const GreylistSettings& settings);

  // New delays, auto_allow and pass_ttl (reload); max_entries stays what it was at start.
  void configure(const GreylistSettings& settings);
  GreylistResult check(const Triplet& triplet, std::int64_t now_us);

  std::size_t size() const { return table_.size(); }
  void sweep(std::int64_t now_us) { table_.sweep(now_us); }
  // Persistence, next to the throttle's state: every live entry, and one taken back (expired
  // or undecodable ones are skipped; returns whether kept).
  std::vector<std::pair<std::string, std::string>> save(std::int64_t now_us) const;
  bool load(std::string_view key, std::string_view value, std::int64_t now_us);

 private:
  GreylistSettings settings() const;
  bool full(std::int64_t now_us);
  bool auto_allowed(const std::string& ip_key, const GreylistSettings& s, std::int64_t now_us);
  void count_pass(const std::string& ip_key, const GreylistSettings& s, std::int64_t now_us);

  const std::uint64_t max_entries_;
  mutable std::mutex mutex_;  // guards settings_
  GreylistSettings settings_;
  StateTable table_;
  std::atomic<std::int64_t> last_sweep_us_{0};  // full()'s last sweep
};

}  // namespace mxgate::throttle
