// ReputationStore: the RocksDB-backed reputation records, one column family per key family
// ("ip", "network", "sender_domain", "auth_domain", "linked_domain"; keys from key_codec.hpp,
// values from record_codec.hpp). Every update is a Merge of a patch (merge.hpp): counters, listings
// and scores never read-modify-write, so a listing change cannot lose a concurrent counter update.
// Decay is not applied here: the reputation model applies it when it reads score/score_at.
//
// Bulk loads (imports) write SST files of full records (SstBuilder::add) or of merge operands
// (SstBuilder::add_patch: a listing import keeps the counters a key already has) and ingest them.
// SST files can be written without opening the store (make_sst_builder(options, file)), so that
// a tool can prepare them while a running server holds the store and let the server ingest them.
//
// Reads go through a cache of decoded records (record_cache.hpp) that every write here keeps
// exact. Threading: every member is thread-safe. try_get()/try_get_connect() never block (they read
// memtables and the block cache only; filters and indexes stay in memory, max_open_files = -1)
// and may run on a worker. get()/read()/get_connect(), flush(), the listing/score/erase writes,
// for_each() and ingestion may block on disk and belong on the blocking pool.
// A store made by an older version lacks the newer column families ("linked_domain" and
// "linked_domain_notes", issue 17): a writable open creates them and keeps everything else; a
// read-only open goes without them (their reads find nothing, their counts are 0).
// add() and note_linked_domain() only append to ONE mutex-protected pending batch per store (no
// I/O, ~1 µs under the lock); flush() swaps it out and writes it (WAL on, not synced: a crash may
// lose the last unflushed second of counters). Listing changes and erase() are synced writes.
// Decisions (listings, erased or replaced records, documents) can be observed and replayed
// (change.hpp) so that fleet mode ships them to the other nodes.
//
// Failure: open() throws std::runtime_error (path + RocksDB status text). Everything else
// returns a Lookup state or an error_code (error.hpp) and logs RocksDB's status text once.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reputation/record.hpp"
#include "storage/change.hpp"
#include "storage/counts.hpp"
#include "storage/dmarc_rows.hpp"
#include "storage/error.hpp"
#include "storage/key_codec.hpp"
#include "storage/linked_note.hpp"
#include "storage/merge.hpp"

namespace mxgate::storage {

inline constexpr std::size_t kDefaultBlockCacheBytes = std::size_t{256} << 20;
inline constexpr std::size_t kDefaultRecordCacheBytes = std::size_t{64} << 20;
inline constexpr std::size_t kDefaultMaxPendingAdds = 65536;
inline constexpr std::size_t kMaxNetworkPrefixes = 4;  // per address family
inline constexpr std::string_view kStateFamilyName = "state";
inline constexpr std::string_view kDocsFamilyName = "docs";

struct StoreOptions {
  std::size_t block_cache_bytes = kDefaultBlockCacheBytes;  // one LRU cache for all families
  // Decoded records of recently looked-up keys (record_cache.hpp); 0: none.
  std::size_t record_cache_bytes = kDefaultRecordCacheBytes;
  unsigned history_days = kDefaultHistoryDays;              // days of counters kept per record
  bool read_only = false;                                   // the store must exist
  // false: open() throws when the store does not exist yet, instead of making an empty one
  // (the command-line tools, which must work on the server's store or not at all).
  bool create_if_missing = true;
  // Network keys looked up and counted per connection. At most kMaxNetworkPrefixes each.
  std::vector<int> v4_network_prefixes{kDefaultV4NetworkPrefix};
  std::vector<int> v6_network_prefixes{std::begin(kDefaultV6NetworkPrefixes),
                                       std::end(kDefaultV6NetworkPrefixes)};
  std::size_t max_pending_adds = kDefaultMaxPendingAdds;  // add() drops beyond this (Error::full)
  // RocksDB's optimize_filters_for_hits drops the bloom filters of the last level: fine when
  // most lookups hit, but most connecting IPs are unknown, and without a filter an absent key
  // needs a data block, which a cache-only read may not have. Off by default for that reason.
  bool optimize_filters_for_hits = false;
};

enum class Lookup { Found, Missing, NotCached, Error };

// How ingest_sst() takes the files: Move links them into the store (same file system; the
// originals are gone afterwards); Copy leaves them where they are (another process's files).
enum class IngestMode { Move, Copy };

struct KeyLookup {
  std::string key;
  Lookup state = Lookup::Missing;
  reputation::Record record;  // valid when state == Found
};

// The records that matter when a client connects: its IP and its networks.
struct ConnectLookup {
  KeyLookup ip;
  std::vector<KeyLookup> networks;  // one per configured prefix of the address family, in order
  bool complete() const;            // no key NotCached or Error
};

class SstBuilder;

class ReputationStore {
 public:
  static std::unique_ptr<ReputationStore> open(const std::filesystem::path& dir,
                                               const StoreOptions& options);
  ~ReputationStore();  // flushes pending adds
  ReputationStore(const ReputationStore&) = delete;
  ReputationStore& operator=(const ReputationStore&) = delete;

  const StoreOptions& options() const;  // as opened

  // Cache-only read: Found, Missing, NotCached (would need disk), or Error.
  Lookup try_get(Family family, std::string_view key, reputation::Record& out);
  // Read that may block on disk: Found, Missing or Error.
  Lookup read(Family family, std::string_view key, reputation::Record& out);
  std::optional<reputation::Record> get(Family family, std::string_view key);  // nullopt: not Found

  std::vector<std::string> network_keys(const boost::asio::ip::address& address) const;
  ConnectLookup try_get_connect(const boost::asio::ip::address& address);  // never blocks
  ConnectLookup get_connect(const boost::asio::ip::address& address);      // may block

  // Queues a counter update for the next flush(): no I/O.
  boost::system::error_code add(Family family, std::string_view key, std::uint32_t day,
                                const reputation::Counters& delta, std::int64_t seen_at);
  boost::system::error_code flush();
  std::size_t pending_adds() const;
  std::uint64_t dropped_adds() const;  // adds and notes refused with Error::full since open

  // The latest linked-domain refusal of the IP whose key (ip_key()) is `ip_key`
  // (linked_note.hpp): queued like add(), so it never blocks a worker; written, unsynced, by the
  // next flush() (readers see it from then on). Error::full as add(); Error::read_only.
  boost::system::error_code note_linked_domain(std::string_view ip_key,
                                               const LinkedDomainNote& note);
  // The IP's latest note as stored, however old (linked_domain_note_shown() says whether to
  // show it); nullopt: none, unreadable, or a store error (logged). May block: blocking pool.
  std::optional<LinkedDomainNote> linked_domain_note(std::string_view ip_key);

  boost::system::error_code set_listing(Family family, std::string_view key,
                                        const reputation::Listing& listing);     // synced
  boost::system::error_code clear_listing(Family family, std::string_view key);  // synced
  boost::system::error_code set_score(Family family, std::string_view key, double score,
                                      std::int64_t score_at);
  // Synced delete. Adds still pending for the key land after it.
  boost::system::error_code erase(Family family, std::string_view key);

  // Fleet mode (issue 19): `observer` hears of every decision this store wrote (change.hpp:
  // set_listing, clear_listing, erase, ingest of records, the listings of ingest_sst's files,
  // put_doc, erase_doc), on the writer's thread, after the write. With an observer, ingest_sst
  // copies the files (it reads them back to tell their listings) whatever the mode. Set it once, before the store is shared between threads.
  using ChangeObserver = std::function<void(const Change&)>;
  void set_change_observer(ChangeObserver observer);
  // Writes a decision made on another node, without telling the observer. Not synced: the
  // fleet keeps it (a node reads the fleet's state whole when it starts).
  boost::system::error_code apply(const Change& change);
  // Fleet mode's counters (counts.hpp): `observer` hears of every counter patch flush() wrote
  // (add()'s, as family, key and encoded patch), on flush()'s thread. Set it once, before the
  // store is shared between threads.
  using CountsObserver =
      std::function<void(Family family, std::string_view key, std::string_view patch)>;
  void set_counts_observer(CountsObserver observer);
  // Merges another node's counter deltas (a counts.hpp batch), unsynced, without telling the
  // observer. The number of keys merged, or Error::corruption for a malformed batch (nothing
  // written). May block on disk.
  boost::system::result<std::size_t> apply_counts(std::string_view batch);

  // Visits every record in key order (not filling the block cache); stop by returning false.
  using Visitor = std::function<bool(std::string_view key, const reputation::Record& record)>;
  boost::system::error_code for_each(Family family, const Visitor& visit);
  // The same from the first key >= `from`, so that a long walk can pause and resume.
  boost::system::error_code for_each_from(Family family, std::string_view from,
                                          const Visitor& visit);
  std::uint64_t approximate_count(Family family);  // "rocksdb.estimate-num-keys"

  // Bulk load: write strictly ascending keys with an SstBuilder made for the family, then
  // ingest_sst() the files. A full record (SstBuilder::add) replaces what the key had; later
  // merges apply on top of it. A patch (SstBuilder::add_patch) merges into what the key has.
  // Files given in one call must not overlap in keys; ingest overlapping files one call at a
  // time, in order: a later call's entries are newer.
  boost::system::result<std::unique_ptr<SstBuilder>> make_sst_builder(
      Family family, const std::filesystem::path& file);
  boost::system::error_code ingest_sst(Family family,
                                       const std::vector<std::filesystem::path>& files,
                                       IngestMode mode = IngestMode::Move);
  // Convenience for small loads: builds one SST in the store's directory and ingests it.
  boost::system::error_code ingest(
      Family family, const std::vector<std::pair<std::string, reputation::Record>>& sorted);

  // Opaque state saved as a whole (the throttle's, issue 6), in the "state" column family:
  // save_state() replaces everything saved before with `entries` in one synced batch;
  // load_state() visits what was saved. Both may block: blocking pool.
  boost::system::error_code save_state(
      const std::vector<std::pair<std::string, std::string>>& entries);
  using StateVisitor = std::function<void(std::string_view key, std::string_view value)>;
  boost::system::error_code load_state(const StateVisitor& visit);

  // Small documents by key, in the "docs" column family (the postmaster portal's delisting
  // requests, issue 8). Synced writes; reads and writes may block: blocking pool.
  boost::system::error_code put_doc(std::string_view key, std::string_view value);
  boost::system::error_code erase_doc(std::string_view key);
  std::optional<std::string> get_doc(std::string_view key);  // nullopt: absent or unreadable
  // Every document whose key starts with `prefix`, in key order; stop by returning false.
  using DocVisitor = std::function<bool(std::string_view key, std::string_view value)>;
  boost::system::error_code for_each_doc(std::string_view prefix, const DocVisitor& visit);

  // DMARC aggregate report rows (dmarc_rows.hpp), queued like add() (no I/O; Error::full,
  // Error::read_only): a Row entry's `value` is a count (encode_count) merged into the key's,
  // a Policy entry's replaces it.
  boost::system::error_code add_dmarc(std::string_view key, std::string_view value,
                                      DmarcEntry entry);
  // Every DMARC entry whose key starts with `prefix`, in key order; stop by returning false.
  // May block: blocking pool.
  boost::system::error_code for_each_dmarc(std::string_view prefix, const DocVisitor& visit);
  // Synced delete of the periods that began before `begin`. May block: blocking pool.
  boost::system::error_code erase_dmarc_before(std::int64_t begin);

  std::uint64_t cache_hits() const;    // block cache hits since open (all families)
  std::uint64_t cache_misses() const;  // block cache misses since open
  std::uint64_t record_cache_hits() const;  // lookups the record cache answered since open
  std::uint64_t record_cache_misses() const;

  struct Impl;

 private:
  explicit ReputationStore(std::unique_ptr<Impl> impl);
  Lookup lookup(Family family, std::string_view key, reputation::Record& out, bool cache_only);
  std::unique_ptr<Impl> impl_;
};

// Writes one SST file for ReputationStore::ingest_sst. Not thread-safe (one builder, one thread).
class SstBuilder {
 public:
  struct Impl;
  explicit SstBuilder(std::unique_ptr<Impl> impl);
  ~SstBuilder();
  // Keys must be strictly ascending (bytewise); otherwise Error::other and nothing is added.
  boost::system::error_code add(std::string_view key, const reputation::Record& record);
  boost::system::error_code add_patch(std::string_view key, const Patch& patch);  // a merge
  boost::system::error_code finish();  // an empty file is an error: ingest nothing instead
  std::uint64_t count() const;
  const std::filesystem::path& path() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// An SstBuilder for a store opened with `options`, without opening the store.
boost::system::result<std::unique_ptr<SstBuilder>> make_sst_builder(
    const StoreOptions& options, const std::filesystem::path& file);

// True when `dir` holds a RocksDB database (its CURRENT file): a store or a spool that was
// opened at least once. Opening nothing.
bool database_exists(const std::filesystem::path& dir);

// True when another process holds the store in `dir` open (RocksDB's lock on dir/LOCK): a
// running mxgate. False when the store is free or does not exist.
bool store_in_use(const std::filesystem::path& dir);

}  // namespace mxgate::storage
