// Counter deltas in the form fleet mode ships them (issue 19). A node's store tells its counts
// observer about every counter patch it flushed (ReputationStore::add()); a CountsAggregator
// folds them per key until the fleet takes them as one batch (every flush_interval, or when
// Redis is back); the other nodes merge the batch into their stores
// (ReputationStore::apply_counts), so that every node's records hold the fleet's sums.
//   batch = entry* ; entry = u8 family | v key length | key | v first_seen | v last_seen
//           | v day count | per day: v day, v accepted, v rejected, v deferred,
//             v invalid_recipients, v auth_failures, v complaints
//   (v: an unsigned LEB128 varint; about 35 bytes for an IP's day)
// Thread-safe (CountsAggregator: one mutex; the codec is pure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/key_codec.hpp"
#include "storage/merge.hpp"

namespace mxgate::storage {

// An entry holds at most this many days ([reputation] history_days is at most 366).
inline constexpr std::size_t kMaxCountsDays = 366;

class CountsAggregator {
 public:
  // At most `max_keys` keys are held; a delta for a further key is dropped (counted).
  CountsAggregator(std::size_t max_keys, unsigned history_days);

  // `operand`: a counter patch (encode_patch). False when it was dropped (full or undecodable).
  bool add(Family family, std::string_view key, std::string_view operand);
  std::string take();  // the batch of everything held ("" when nothing), and empties
  std::size_t size() const;
  std::uint64_t dropped() const;

 private:
  const std::size_t max_keys_;
  const unsigned history_days_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Patch> patches_;  // by family byte + key
  std::uint64_t dropped_ = 0;
};

// Visits each entry of `batch` in order, as a counter patch; false when the batch is malformed
// (a varint too long or too large, days not ascending or more than kMaxCountsDays, cut short): entries before the fault
// were visited.
using CountsVisitor =
    std::function<void(Family family, std::string_view key, const Patch& patch)>;
bool decode_counts(std::string_view batch, const CountsVisitor& visit);

}  // namespace mxgate::storage
