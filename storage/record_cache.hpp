// RecordCache: decoded records (and the knowledge that a key has none) in front of RocksDB, so
// that a client seen again skips RocksDB's filter, index and block searches, which grow with the
// store, and the record's decoding. It mirrors the store exactly: every write to a key
// invalidates the key once the write is in the DB (ReputationStore does this on flush(), listing
// and score writes, erase() and ingestion), and a read that raced with a write is not cached.
// Bounded in bytes, least recently used out first.
//
// Threading: thread-safe; one mutex per shard. A read takes a Ticket (the shard's generation)
// before it reads the DB, and put() keeps the result only when no invalidation of the shard
// happened since: a value read before a write can never outlive the write.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "reputation/record.hpp"
#include "storage/key_codec.hpp"

namespace mxgate::storage {

enum class Lookup;

class RecordCache {
 public:
  explicit RecordCache(std::size_t capacity_bytes);  // 0: caches nothing
  ~RecordCache();
  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  struct Ticket {
    std::size_t shard = 0;
    std::uint64_t generation = 0;
  };

  // Found (record copied to `out`) or Missing when cached; otherwise nullopt and the ticket to
  // pass to put() after reading the DB.
  std::optional<Lookup> get(Family family, std::string_view key, reputation::Record& out,
                            Ticket& ticket);
  // Keeps a Found or Missing result read after get() issued `ticket`; other states are ignored.
  void put(const Ticket& ticket, Family family, std::string_view key, Lookup state,
           const reputation::Record& record);
  void invalidate(Family family, std::string_view key);  // after a write of the key
  void clear();                                          // after a bulk write (ingestion)

  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::size_t bytes() const;

  struct Shard;

 private:
  Shard& shard_of(Family family, std::string_view key, std::size_t& index);
  std::size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace mxgate::storage
