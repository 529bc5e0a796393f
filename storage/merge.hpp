// The reputation merge operator: every write to a record is a RocksDB Merge of a small "patch"
// operand, so counters, listings and scores are updated without read-modify-write and a listing
// change never loses a concurrent counter update.
//   operand = u8 flags (bit 0: sets the listing, bit 1: sets the score) | record encoding
//             (record_codec.hpp) of the patch's delta
//   applying a patch: adds its per-day counters into the record's days (creating days), keeps
//   only the last `history_days` days relative to the newest day, first_seen = min (ignoring 0),
//   last_seen = max, and replaces the listing / score if the patch sets them.
// Patches combine associatively (PartialMerge): counters add, seen bounds widen, and the later
// patch's listing/score wins. Bytes that do not decode (disk garbage) are skipped, never fatal:
// a bad existing value counts as an empty record, a bad operand as no change.
// Pure and thread-safe; the RocksDB adapter (make_merge_operator) is stateless after creation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "reputation/record.hpp"

namespace rocksdb {
class MergeOperator;
}

namespace mxgate::storage {

inline constexpr unsigned kDefaultHistoryDays = 30;

struct Patch {
  reputation::Record delta;  // days: counter deltas; first/last_seen: 0 means "no sighting"
  bool sets_listing = false;
  bool sets_score = false;
};

Patch counter_patch(std::uint32_t day, const reputation::Counters& delta, std::int64_t seen_at);
Patch listing_patch(const reputation::Listing& listing);  // action None clears the listing
Patch score_patch(double score, std::int64_t score_at);

std::string encode_patch(const Patch& patch);
void append_patch(std::string& out, const Patch& patch);  // appends encode_patch(patch)
std::optional<Patch> decode_patch(std::string_view bytes);

// Applies `patch` to `record` (see the header comment).
void apply_patch(reputation::Record& record, const Patch& patch, unsigned history_days);

// Folds `later` into `earlier` so that applying the result equals applying both in order.
void combine_patches(Patch& earlier, const Patch& later, unsigned history_days);

// Drops days older than the last `history_days` days before the newest one.
void trim_days(std::vector<reputation::DayCounters>& days, unsigned history_days);

std::shared_ptr<rocksdb::MergeOperator> make_merge_operator(unsigned history_days);

}  // namespace mxgate::storage
