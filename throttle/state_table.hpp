// StateTable: the throttling state of every key, shared by all workers. A key is a short string
// (what is limited and for whom, e.g. "L3|ip|192.0.2.7"); its Value is three numbers whose
// meaning belongs to the caller (a GCRA TAT; a day and its count; an hour, its count and an
// EWMA), with an expiry time after which the entry is as good as absent and is dropped.
// Bounded: at most max_keys entries. A full stripe first drops its expired entries, then the
// least recently used of a random sample of 8 (Redis's approximation of LRU: no list to keep
// in order, no per-entry pointers).
// Layout: 64 stripes, each a vector of entries plus a flat hash set of indexes into it (keys are
// stored once); removal swaps the last entry into the hole. About 100 bytes per key.
// Threading: every member is thread-safe; update() runs the caller's function under the
// stripe's mutex, so it must be short and must not call back into the table.
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::throttle {

struct Value {
  std::int64_t a = 0;
  std::int64_t b = 0;
  double c = 0;
  bool operator==(const Value&) const = default;
};

struct Entry {
  std::string key;
  Value value;
  std::int64_t expires_us = 0;  // the entry is dropped once now >= expires_us
  std::int64_t used_us = 0;     // last update, for eviction
};

class StateTable {
 public:
  explicit StateTable(std::size_t max_keys);

  // Runs fn(value, fresh) -> std::pair{expires_us, result} on the key's value (a zero Value
  // and fresh = true for a key that is absent or expired) and keeps what fn left there until
  // expires_us; an expiry at or before `now_us` erases the key. Returns fn's result.
  template <typename Fn>
  auto update(std::string_view key, std::int64_t now_us, Fn&& fn) {
    using Result = decltype(fn(std::declval<Value&>(), true).second);
    Result result{};
    auto step = [&](Value& value, bool fresh) {
      auto [expires, r] = fn(value, fresh);
      result = std::move(r);
      return expires;
    };
    apply(key, now_us, &step, [](void* f, Value& value, bool fresh) -> std::int64_t {
      return (*static_cast<decltype(step)*>(f))(value, fresh);
    });
    return result;
  }

  // The value, or nullopt when absent or expired.
  std::optional<Value> get(std::string_view key, std::int64_t now_us) const;

  std::size_t size() const;
  std::size_t max_keys() const { return max_keys_; }
  std::uint64_t evictions() const;
  void sweep(std::int64_t now_us);  // drops every expired entry

  // Every live entry, stripe by stripe (each stripe copied under its lock): for persistence.
  std::vector<Entry> snapshot(std::int64_t now_us) const;
  // Puts entries back (after a restart); expired ones are skipped, existing keys overwritten.
  void restore(const std::vector<Entry>& entries, std::int64_t now_us);

 private:
  static constexpr std::size_t kStripes = 64;
  static constexpr std::size_t kSample = 8;

  struct Stripe;
  // Hash and equality of indexes into a stripe's entries, by the key they hold; transparent,
  // so a string_view finds an index.
  struct IndexHash {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    std::size_t operator()(std::uint32_t i) const;
    std::size_t operator()(std::string_view key) const;
  };
  struct IndexEqual {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
    bool operator()(std::string_view key, std::uint32_t i) const;
    bool operator()(std::uint32_t i, std::string_view key) const;
  };
  struct Stripe {
    Stripe();
    mutable std::mutex mutex;
    std::vector<Entry> entries;
    boost::unordered_flat_set<std::uint32_t, IndexHash, IndexEqual> index;
    std::uint64_t random = 0x9e3779b97f4a7c15ull;  // xorshift state for eviction samples
    std::uint64_t evictions = 0;
    void remove(std::uint32_t i);
    void make_room(std::size_t cap, std::int64_t now_us);
  };

  using Step = std::int64_t (*)(void* context, Value& value, bool fresh);
  void apply(std::string_view key, std::int64_t now_us, void* context, Step step);
  Stripe& stripe_for(std::string_view key) const;

  std::size_t max_keys_;
  std::size_t stripe_cap_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace mxgate::throttle
