#include "storage/reputation_store.hpp"

#include <algorithm>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "storage/record_codec.hpp"
#include "storage/store_impl.hpp"

namespace mxgate::storage {
namespace {

using boost::system::error_code;

constexpr int kBloomBitsPerKey = 10;
constexpr double kDataBlockHashRatio = 0.75;
constexpr double kMemtableBloomRatio = 0.02;
constexpr int kBackgroundJobs = 2;
// A hot key (a spam run: thousands of sessions a day) must not make every read fold thousands of
// memtable operands: past this many, the write path folds them into one value.
constexpr std::size_t kMaxSuccessiveMerges = 32;
constexpr Family kFamilies[] = {Family::Ip, Family::Network, Family::SenderDomain,
                                Family::AuthDomain, Family::LinkedDomain};
static_assert(std::size(kFamilies) == kFamilyCount);

}  // namespace

rocksdb::Options make_db_options(const StoreOptions& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  table.whole_key_filtering = true;
  // Point lookups: a hash index inside each data block avoids the binary search.
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.data_block_hash_table_util_ratio = kDataBlockHashRatio;
  // Index and filter blocks live in the table readers, not in the block cache, so a
  // cache-only read never misses on them.
  table.cache_index_and_filter_blocks = false;

  rocksdb::Options db;
  db.create_if_missing = options.create_if_missing;
  db.create_missing_column_families = true;
  db.max_open_files = -1;  // every table reader open: no table-cache miss on the worker path
  db.max_background_jobs = kBackgroundJobs;
  db.statistics = rocksdb::CreateDBStatistics();
  // Tickers only (the block cache counters): histograms and timers cost clock reads per Get.
  db.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db.merge_operator = make_merge_operator(options.history_days);
  db.optimize_filters_for_hits = options.optimize_filters_for_hits;
  db.max_successive_merges = kMaxSuccessiveMerges;
  db.memtable_whole_key_filtering = true;
  db.memtable_prefix_bloom_size_ratio = kMemtableBloomRatio;
  return db;
}

namespace {

// The column families a store opened with `options` opens, and where each handle goes. Families
// added by later versions (the tail of kFamilies, "state", "docs", the notes) are created by a
// writable open; a read-only open takes only those the store has.
struct Opened {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<rocksdb::ColumnFamilyHandle**> targets;  // per descriptor but "default"
};

Opened plan_families(ReputationStore::Impl& impl, const std::filesystem::path& dir) {
  std::vector<std::string> existing;
  const bool check = impl.options.read_only &&
                     rocksdb::DB::ListColumnFamilies(impl.db_options, dir.string(), &existing).ok();
  auto present = [&](std::string_view name) {
    return !check || std::find(existing.begin(), existing.end(), name) != existing.end();
  };
  Opened opened;
  opened.descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, impl.db_options);
  auto add = [&](std::string_view name, rocksdb::ColumnFamilyHandle** target,
                 const rocksdb::ColumnFamilyOptions& options) {
    if (!present(name)) return;
    opened.descriptors.emplace_back(std::string(name), options);
    opened.targets.push_back(target);
  };
  for (Family family : kFamilies) {
    add(family_name(family), &impl.families[static_cast<std::size_t>(family)], impl.db_options);
  }
  add(kStateFamilyName, &impl.state, impl.db_options);
  add(kDocsFamilyName, &impl.docs, impl.db_options);
  rocksdb::ColumnFamilyOptions notes(impl.db_options);
  notes.merge_operator.reset();
  notes.compaction_filter = expired_note_filter();
  add(kNotesFamilyName, &impl.notes, notes);
  rocksdb::ColumnFamilyOptions dmarc(impl.db_options);
  dmarc.merge_operator = make_count_merge_operator();
  add(kDmarcFamilyName, &impl.dmarc, dmarc);
  return opened;
}

std::unique_ptr<ReputationStore::Impl> open_db(const std::filesystem::path& dir,
                                               const StoreOptions& options) {
  auto impl = std::make_unique<ReputationStore::Impl>();
  impl->dir = dir;
  impl->options = options;
  impl->db_options = make_db_options(options);
  const Opened opened = plan_families(*impl, dir);
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status =
      options.read_only ? rocksdb::DB::OpenForReadOnly(impl->db_options, dir.string(),
                                                       opened.descriptors, &impl->handles, &db)
                        : rocksdb::DB::Open(impl->db_options, dir.string(), opened.descriptors,
                                            &impl->handles, &db);
  if (!status.ok()) {
    throw std::runtime_error("cannot open reputation store " + dir.string() + ": " +
                             status.ToString());
  }
  impl->db.reset(db);
  for (std::size_t i = 0; i < opened.targets.size(); ++i) *opened.targets[i] = impl->handles[i + 1];
  return impl;
}

void check_prefixes(const std::vector<int>& prefixes, int width, const char* what) {
  if (prefixes.size() > kMaxNetworkPrefixes) {
    throw std::runtime_error(std::string("too many ") + what + " network prefixes");
  }
  for (int prefix : prefixes) {
    if (prefix < 0 || prefix > width) {
      throw std::runtime_error(std::string(what) +
                               " network prefix out of range: " + std::to_string(prefix));
    }
  }
}

Lookup to_lookup(const rocksdb::Status& status, const rocksdb::PinnableSlice& value,
                 reputation::Record& out) {
  if (status.ok()) {
    auto record = decode_record({value.data(), value.size()});
    if (!record) {
      spdlog::warn("storage_bad_record bytes={}", value.size());
      return Lookup::Error;
    }
    out = std::move(*record);
    return Lookup::Found;
  }
  if (status.IsNotFound()) return Lookup::Missing;
  if (status.IsIncomplete()) return Lookup::NotCached;
  status_error(status, "get");
  return Lookup::Error;
}

// Visits the merges (counter patches) of `batch`: the notes' puts are not records.
template <typename Visit>
void for_each_merge(ReputationStore::Impl& impl, const rocksdb::WriteBatch& batch, Visit visit) {
  struct Handler : rocksdb::WriteBatch::Handler {
    ReputationStore::Impl& impl;
    Visit& visit;
    Handler(ReputationStore::Impl& i, Visit& v) : impl(i), visit(v) {}
    rocksdb::Status MergeCF(std::uint32_t column_family, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
      for (std::size_t i = 0; i < kFamilyCount; ++i) {
        if (impl.families[i] != nullptr && impl.families[i]->GetID() == column_family) {
          visit(static_cast<Family>(i), std::string_view(key.data(), key.size()),
                std::string_view(value.data(), value.size()));
        }
      }
      return rocksdb::Status::OK();
    }
    // Without this, the default handler fails on a non-default family and stops the walk.
    rocksdb::Status PutCF(std::uint32_t /*column_family*/, const rocksdb::Slice& /*key*/,
                          const rocksdb::Slice& /*value*/) override {
      return rocksdb::Status::OK();
    }
  } handler(impl, visit);
  batch.Iterate(&handler);
}

// Drops the batch's keys from the record cache (they changed) and tells the counts observer.
void batch_written(ReputationStore::Impl& impl, const rocksdb::WriteBatch& batch, bool observe) {
  for_each_merge(impl, batch, [&](Family family, std::string_view key, std::string_view patch) {
    impl.records->invalidate(family, key);
    if (observe && impl.counts_observer) impl.counts_observer(family, key, patch);
  });
}

}  // namespace

error_code status_error(const rocksdb::Status& status, std::string_view operation) {
  if (status.ok()) return {};
  spdlog::warn("storage_error op={} status=\"{}\"", operation, status.ToString());
  if (status.IsIOError()) return make_error_code(Error::io);
  if (status.IsCorruption()) return make_error_code(Error::corruption);
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return make_error_code(Error::busy);
  }
  return make_error_code(Error::other);
}

bool ConnectLookup::complete() const {
  auto ok = [](const KeyLookup& k) {
    return k.state == Lookup::Found || k.state == Lookup::Missing;
  };
  for (const KeyLookup& network : networks) {
    if (!ok(network)) return false;
  }
  return ok(ip);
}

std::unique_ptr<ReputationStore> ReputationStore::open(const std::filesystem::path& dir,
                                                       const StoreOptions& options) {
  check_prefixes(options.v4_network_prefixes, 32, "IPv4");
  check_prefixes(options.v6_network_prefixes, 128, "IPv6");
  // RocksDB makes the directory before it finds no database there: check first, so that a
  // refused open leaves nothing behind.
  if ((options.read_only || !options.create_if_missing) && !database_exists(dir)) {
    throw std::runtime_error("no reputation store at " + dir.string());
  }
  if (!options.read_only && options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      throw std::runtime_error("cannot create reputation store " + dir.string() + ": " +
                               ec.message());
    }
  }
  return std::unique_ptr<ReputationStore>(new ReputationStore(open_db(dir, options)));
}

ReputationStore::ReputationStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->records = std::make_unique<RecordCache>(impl_->options.record_cache_bytes);
}

const StoreOptions& ReputationStore::options() const { return impl_->options; }

ReputationStore::~ReputationStore() {
  if (!impl_->options.read_only) flush();
  for (rocksdb::ColumnFamilyHandle* handle : impl_->handles) {
    impl_->db->DestroyColumnFamilyHandle(handle);
  }
  const rocksdb::Status status = impl_->db->Close();
  if (!status.ok()) status_error(status, "close");
}

Lookup ReputationStore::lookup(Family family, std::string_view key, reputation::Record& out,
                               bool cache_only) {
  if (impl_->cf(family) == nullptr) return Lookup::Missing;  // read-only, an older store
  RecordCache::Ticket ticket;
  if (auto cached = impl_->records->get(family, key, out, ticket)) return *cached;
  rocksdb::ReadOptions read;
  if (cache_only) read.read_tier = rocksdb::kBlockCacheTier;
  rocksdb::PinnableSlice value;
  const Lookup state =
      to_lookup(impl_->db->Get(read, impl_->cf(family), to_slice(key), &value), value, out);
  impl_->records->put(ticket, family, key, state, out);
  return state;
}

Lookup ReputationStore::try_get(Family family, std::string_view key, reputation::Record& out) {
  return lookup(family, key, out, true);
}

Lookup ReputationStore::read(Family family, std::string_view key, reputation::Record& out) {
  return lookup(family, key, out, false);
}

std::optional<reputation::Record> ReputationStore::get(Family family, std::string_view key) {
  reputation::Record record;
  if (read(family, key, record) != Lookup::Found) return std::nullopt;
  return record;
}

std::vector<std::string> ReputationStore::network_keys(
    const boost::asio::ip::address& address) const {
  const bool v4 = address.is_v4() || address.to_v6().is_v4_mapped();
  const auto& prefixes =
      v4 ? impl_->options.v4_network_prefixes : impl_->options.v6_network_prefixes;
  std::vector<std::string> keys;
  keys.reserve(prefixes.size());
  for (int prefix : prefixes) keys.push_back(network_key(address, prefix));
  return keys;
}

ConnectLookup ReputationStore::get_connect(const boost::asio::ip::address& address) {
  ConnectLookup result;
  result.ip.key = ip_key(address);
  for (std::string& key : network_keys(address)) result.networks.push_back({std::move(key)});

  // The keys the record cache lacks, read with one MultiGet so that their disk reads overlap.
  constexpr std::size_t kMaxKeys = 1 + kMaxNetworkPrefixes;
  std::array<rocksdb::ColumnFamilyHandle*, kMaxKeys> families{};
  std::array<rocksdb::Slice, kMaxKeys> keys;
  std::array<KeyLookup*, kMaxKeys> targets{};
  std::array<RecordCache::Ticket, kMaxKeys> tickets{};
  std::size_t count = 0;
  for (std::size_t i = 0; i < 1 + result.networks.size(); ++i) {
    KeyLookup& target = i == 0 ? result.ip : result.networks[i - 1];
    const Family family = i == 0 ? Family::Ip : Family::Network;
    if (auto cached = impl_->records->get(family, target.key, target.record, tickets[count])) {
      target.state = *cached;
      continue;
    }
    targets[count] = &target;
    families[count] = impl_->cf(family);
    keys[count] = to_slice(target.key);
    ++count;
  }
  if (count == 0) return result;
  std::array<rocksdb::PinnableSlice, kMaxKeys> values;
  std::array<rocksdb::Status, kMaxKeys> statuses;
  impl_->db->MultiGet(rocksdb::ReadOptions(), count, families.data(), keys.data(), values.data(),
                      statuses.data());
  for (std::size_t i = 0; i < count; ++i) {
    KeyLookup& target = *targets[i];
    target.state = to_lookup(statuses[i], values[i], target.record);
    const Family family = &target == &result.ip ? Family::Ip : Family::Network;
    impl_->records->put(tickets[i], family, target.key, target.state, target.record);
  }
  return result;
}

ConnectLookup ReputationStore::try_get_connect(const boost::asio::ip::address& address) {
  // Cache-only reads have no I/O to overlap, and separate Gets measured cheaper (p50 9-13 µs
  // against 12-14 µs) than one MultiGet; get_connect() uses MultiGet to overlap disk reads.
  ConnectLookup result;
  result.ip.key = ip_key(address);
  result.ip.state = try_get(Family::Ip, result.ip.key, result.ip.record);
  for (std::string& key : network_keys(address)) {
    KeyLookup& network = result.networks.emplace_back(KeyLookup{std::move(key)});
    network.state = try_get(Family::Network, network.key, network.record);
  }
  return result;
}

error_code ReputationStore::add(Family family, std::string_view key, std::uint32_t day,
                                const reputation::Counters& delta, std::int64_t seen_at) {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  const std::string operand = encode_patch(counter_patch(day, delta, seen_at));
  const std::lock_guard lock(impl_->batch_mutex);
  if (impl_->pending >= impl_->options.max_pending_adds) {
    impl_->dropped.fetch_add(1, std::memory_order_relaxed);
    return make_error_code(Error::full);
  }
  const auto status = impl_->batch->Merge(impl_->cf(family), to_slice(key), operand);
  if (!status.ok()) return status_error(status, "batch_merge");
  ++impl_->pending;
  return {};
}

error_code ReputationStore::flush() {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  auto batch = std::make_unique<rocksdb::WriteBatch>();
  {
    const std::lock_guard lock(impl_->batch_mutex);
    std::swap(batch, impl_->batch);
    impl_->pending = 0;
  }
  if (batch->Count() == 0) return {};
  rocksdb::WriteOptions write;
  write.sync = false;  // counters: losing the last second in a crash is acceptable
  const auto ec = status_error(impl_->db->Write(write, batch.get()), "flush");
  batch_written(*impl_, *batch, !ec);
  return ec;
}

void ReputationStore::set_counts_observer(CountsObserver observer) {
  impl_->counts_observer = std::move(observer);
}

boost::system::result<std::size_t> ReputationStore::apply_counts(std::string_view batch) {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  rocksdb::WriteBatch write_batch;
  std::size_t count = 0;
  std::string operand;
  const bool whole = decode_counts(batch, [&](Family family, std::string_view key,
                                              const Patch& patch) {
    if (impl_->cf(family) == nullptr) return;
    operand.clear();
    append_patch(operand, patch);
    if (write_batch.Merge(impl_->cf(family), to_slice(key), operand).ok()) ++count;
  });
  if (!whole) return make_error_code(Error::corruption);
  if (count == 0) return count;
  rocksdb::WriteOptions write;
  write.sync = false;  // as flush(): the other nodes' counters, as unsynced as our own
  if (const auto ec = status_error(impl_->db->Write(write, &write_batch), "apply_counts")) {
    return ec;
  }
  batch_written(*impl_, write_batch, false);
  return count;
}

std::size_t ReputationStore::pending_adds() const {
  const std::lock_guard lock(impl_->batch_mutex);
  return impl_->pending;
}

std::uint64_t ReputationStore::dropped_adds() const {
  return impl_->dropped.load(std::memory_order_relaxed);
}

}  // namespace mxgate::storage
