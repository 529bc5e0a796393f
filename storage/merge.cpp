#include "storage/merge.hpp"

#include <rocksdb/merge_operator.h>

#include <algorithm>

#include "storage/record_codec.hpp"

namespace mxgate::storage {
namespace {

using reputation::DayCounters;
using reputation::Record;

constexpr std::uint8_t kSetsListing = 1;
constexpr std::uint8_t kSetsScore = 2;
constexpr std::uint8_t kKnownFlags = kSetsListing | kSetsScore;

// Adds `extra` (ascending) into `days` (ascending), keeping the order.
void add_days(std::vector<DayCounters>& days, const std::vector<DayCounters>& extra) {
  for (const DayCounters& day : extra) {
    auto it = std::lower_bound(days.begin(), days.end(), day.day,
                               [](const DayCounters& d, std::uint32_t n) { return d.day < n; });
    if (it != days.end() && it->day == day.day) {
      it->counters += day.counters;
    } else {
      days.insert(it, day);
    }
  }
}

void widen_seen(Record& into, const Record& from) {
  if (from.first_seen != 0 && (into.first_seen == 0 || from.first_seen < into.first_seen)) {
    into.first_seen = from.first_seen;
  }
  into.last_seen = std::max(into.last_seen, from.last_seen);
}

class ReputationMergeOperator final : public rocksdb::MergeOperator {
 public:
  explicit ReputationMergeOperator(unsigned history_days) : history_days_(history_days) {}

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    Record record;
    if (in.existing_value != nullptr) {
      if (auto existing = decode_record(to_view(*in.existing_value))) record = std::move(*existing);
    }
    for (const rocksdb::Slice& operand : in.operand_list) {
      if (auto patch = decode_patch(to_view(operand))) apply_patch(record, *patch, history_days_);
    }
    out->new_value.clear();
    append_record(out->new_value, record);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    std::optional<Patch> merged;
    for (const rocksdb::Slice& operand : operands) {
      auto patch = decode_patch(to_view(operand));
      if (!patch) return false;  // keep the operands as they are; FullMerge skips the bad one
      if (merged) {
        combine_patches(*merged, *patch, history_days_);
      } else {
        merged = std::move(patch);
      }
    }
    if (!merged) return false;
    *new_value = encode_patch(*merged);
    return true;
  }

  bool PartialMerge(const rocksdb::Slice& key, const rocksdb::Slice& left,
                    const rocksdb::Slice& right, std::string* new_value,
                    rocksdb::Logger* logger) const override {
    return PartialMergeMulti(key, std::deque<rocksdb::Slice>{left, right}, new_value, logger);
  }

  const char* Name() const override { return "mxgate.reputation.v1"; }

 private:
  static std::string_view to_view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

  unsigned history_days_;
};

}  // namespace

Patch counter_patch(std::uint32_t day, const reputation::Counters& delta, std::int64_t seen_at) {
  Patch patch;
  patch.delta.days.push_back(DayCounters{day, delta});
  patch.delta.first_seen = seen_at;
  patch.delta.last_seen = seen_at;
  return patch;
}

Patch listing_patch(const reputation::Listing& listing) {
  Patch patch;
  patch.delta.listing = listing;
  patch.sets_listing = true;
  return patch;
}

Patch score_patch(double score, std::int64_t score_at) {
  Patch patch;
  patch.delta.score = score;
  patch.delta.score_at = score_at;
  patch.sets_score = true;
  return patch;
}

void append_patch(std::string& out, const Patch& patch) {
  out.push_back(static_cast<char>((patch.sets_listing ? kSetsListing : 0) |
                                  (patch.sets_score ? kSetsScore : 0)));
  append_record(out, patch.delta);
}

std::string encode_patch(const Patch& patch) {
  std::string out;
  append_patch(out, patch);
  return out;
}

std::optional<Patch> decode_patch(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto flags = static_cast<std::uint8_t>(bytes[0]);
  if ((flags & ~kKnownFlags) != 0) return std::nullopt;
  auto delta = decode_record(bytes.substr(1));
  if (!delta) return std::nullopt;
  return Patch{std::move(*delta), (flags & kSetsListing) != 0, (flags & kSetsScore) != 0};
}

void trim_days(std::vector<DayCounters>& days, unsigned history_days) {
  if (days.empty()) return;
  if (history_days == 0) {
    days.clear();
    return;
  }
  const std::uint32_t newest = days.back().day;
  const std::uint32_t oldest_kept = newest < history_days ? 0 : newest - history_days + 1;
  auto first_kept = std::find_if(days.begin(), days.end(),
                                 [&](const DayCounters& d) { return d.day >= oldest_kept; });
  days.erase(days.begin(), first_kept);
}

void apply_patch(Record& record, const Patch& patch, unsigned history_days) {
  add_days(record.days, patch.delta.days);
  trim_days(record.days, history_days);
  widen_seen(record, patch.delta);
  if (patch.sets_listing) record.listing = patch.delta.listing;
  if (patch.sets_score) {
    record.score = patch.delta.score;
    record.score_at = patch.delta.score_at;
  }
}

void combine_patches(Patch& earlier, const Patch& later, unsigned history_days) {
  apply_patch(earlier.delta, later, history_days);
  earlier.sets_listing = earlier.sets_listing || later.sets_listing;
  earlier.sets_score = earlier.sets_score || later.sets_score;
}

std::shared_ptr<rocksdb::MergeOperator> make_merge_operator(unsigned history_days) {
  return std::make_shared<ReputationMergeOperator>(history_days);
}

}  // namespace mxgate::storage
