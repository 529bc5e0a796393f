#include "storage/record_cache.hpp"

#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "storage/reputation_store.hpp"

namespace mxgate::storage {
namespace {

constexpr std::size_t kShards = 16;
// What an entry costs besides its key and record: list node, map node and bucket, Record.
constexpr std::size_t kEntryOverhead = 160;

struct Entry {
  std::string key;  // family byte + store key
  bool found = false;
  reputation::Record record;
  std::size_t bytes = 0;
};

std::size_t entry_bytes(const Entry& entry) {
  return kEntryOverhead + entry.key.size() +
         entry.record.days.size() * sizeof(reputation::DayCounters) +
         entry.record.listing.reason.size() + entry.record.listing.source.size();
}

void compose_key(std::string& out, Family family, std::string_view key) {
  out.clear();
  out.push_back(static_cast<char>(family));
  out.append(key);
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct RecordCache::Shard {
  std::mutex mutex;
  std::uint64_t generation = 0;  // bumped by every invalidation
  std::size_t bytes = 0;
  std::list<Entry> entries;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator, StringHash, std::equal_to<>>
      index;  // views into entries' keys
  std::string scratch;  // composed lookup key, reused under the mutex

  void erase(std::list<Entry>::iterator it) {
    bytes -= it->bytes;
    index.erase(it->key);
    entries.erase(it);
  }
};

RecordCache::RecordCache(std::size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards), shards_(std::make_unique<Shard[]>(kShards)) {}

RecordCache::~RecordCache() = default;

RecordCache::Shard& RecordCache::shard_of(Family family, std::string_view key,
                                          std::size_t& index) {
  index = (std::hash<std::string_view>{}(key) + static_cast<std::size_t>(family)) % kShards;
  return shards_[index];
}

std::optional<Lookup> RecordCache::get(Family family, std::string_view key,
                                       reputation::Record& out, Ticket& ticket) {
  Shard& shard = shard_of(family, key, ticket.shard);
  const std::lock_guard lock(shard.mutex);
  ticket.generation = shard.generation;
  compose_key(shard.scratch, family, key);
  const auto found = shard.index.find(std::string_view(shard.scratch));
  if (found == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  shard.entries.splice(shard.entries.begin(), shard.entries, found->second);
  if (!found->second->found) return Lookup::Missing;
  out = found->second->record;
  return Lookup::Found;
}

void RecordCache::put(const Ticket& ticket, Family family, std::string_view key, Lookup state,
                      const reputation::Record& record) {
  if (shard_capacity_ == 0 || (state != Lookup::Found && state != Lookup::Missing)) return;
  Entry entry;
  compose_key(entry.key, family, key);
  entry.found = state == Lookup::Found;
  if (entry.found) entry.record = record;
  entry.bytes = entry_bytes(entry);
  if (entry.bytes > shard_capacity_) return;

  Shard& shard = shards_[ticket.shard];
  const std::lock_guard lock(shard.mutex);
  if (shard.generation != ticket.generation) return;  // a write raced with the read
  if (auto old = shard.index.find(std::string_view(entry.key)); old != shard.index.end()) {
    shard.erase(old->second);
  }
  while (shard.bytes + entry.bytes > shard_capacity_) shard.erase(std::prev(shard.entries.end()));
  shard.bytes += entry.bytes;
  shard.entries.push_front(std::move(entry));
  shard.index.emplace(std::string_view(shard.entries.front().key), shard.entries.begin());
}

void RecordCache::invalidate(Family family, std::string_view key) {
  std::size_t index = 0;
  Shard& shard = shard_of(family, key, index);
  const std::lock_guard lock(shard.mutex);
  ++shard.generation;
  compose_key(shard.scratch, family, key);
  if (auto found = shard.index.find(std::string_view(shard.scratch)); found != shard.index.end()) {
    shard.erase(found->second);
  }
}

void RecordCache::clear() {
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    const std::lock_guard lock(shard.mutex);
    ++shard.generation;
    shard.index.clear();
    shard.entries.clear();
    shard.bytes = 0;
  }
}

std::size_t RecordCache::bytes() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].bytes;
  }
  return total;
}

}  // namespace mxgate::storage
