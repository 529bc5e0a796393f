// ReputationStore's administrative and bulk operations: listing/score/erase writes, iteration,
// counts, statistics, SST files and their ingestion, and the lock probe (see
// reputation_store.hpp).
#include <fcntl.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/statistics.h>
#include <unistd.h>

#include "storage/record_codec.hpp"
#include "storage/reputation_store.hpp"
#include "storage/store_impl.hpp"

namespace mxgate::storage {
namespace {

using boost::system::error_code;

error_code write_patch(ReputationStore::Impl& impl, Family family, std::string_view key,
                       std::string_view patch, bool sync, std::string_view operation) {
  if (impl.options.read_only) return make_error_code(Error::read_only);
  rocksdb::WriteOptions write;
  write.sync = sync;
  const auto ec = status_error(
      impl.db->Merge(write, impl.cf(family), to_slice(key), to_slice(patch)), operation);
  impl.records->invalidate(family, key);
  return ec;
}

error_code erase_record(ReputationStore::Impl& impl, Family family, std::string_view key,
                        bool sync = true) {
  if (impl.options.read_only) return make_error_code(Error::read_only);
  rocksdb::WriteOptions write;
  write.sync = sync;
  const auto ec = status_error(impl.db->Delete(write, impl.cf(family), to_slice(key)), "erase");
  impl.records->invalidate(family, key);
  return ec;
}

error_code write_doc(ReputationStore::Impl& impl, std::string_view key,
                     std::optional<std::string_view> value, bool sync = true) {
  if (impl.options.read_only || impl.docs == nullptr) return make_error_code(Error::read_only);
  rocksdb::WriteOptions write;
  write.sync = sync;
  if (value) {
    return status_error(impl.db->Put(write, impl.docs, to_slice(key), to_slice(*value)),
                        "put_doc");
  }
  return status_error(impl.db->Delete(write, impl.docs, to_slice(key)), "erase_doc");
}

// Tells the observer, if any, of a decision just written.
error_code told(ReputationStore::Impl& impl, error_code ec, Change::Kind kind, Family family,
                std::string_view key, std::string_view value = {}) {
  if (!ec && impl.observer) {
    impl.observer(Change{kind, family, std::string(key), std::string(value)});
  }
  return ec;
}

}  // namespace

error_code ReputationStore::save_state(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  rocksdb::WriteBatch batch;
  // Everything before goes: the keys of the state are one byte or more, all below "\xff\xff".
  auto status = batch.DeleteRange(impl_->state, rocksdb::Slice(""), rocksdb::Slice("\xff\xff"));
  for (const auto& [key, value] : entries) {
    if (!status.ok()) break;
    status = batch.Put(impl_->state, to_slice(key), to_slice(value));
  }
  if (!status.ok()) return status_error(status, "save_state");
  rocksdb::WriteOptions write;
  write.sync = true;
  return status_error(impl_->db->Write(write, &batch), "save_state");
}

error_code ReputationStore::load_state(const StateVisitor& visit) {
  if (impl_->state == nullptr) return {};  // read-only, and never saved
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->state));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    visit({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()});
  }
  return status_error(it->status(), "load_state");
}

error_code ReputationStore::put_doc(std::string_view key, std::string_view value) {
  return told(*impl_, write_doc(*impl_, key, value), Change::Kind::PutDoc, Family::Ip, key, value);
}

error_code ReputationStore::erase_doc(std::string_view key) {
  return told(*impl_, write_doc(*impl_, key, std::nullopt), Change::Kind::EraseDoc, Family::Ip,
              key);
}

std::optional<std::string> ReputationStore::get_doc(std::string_view key) {
  if (impl_->docs == nullptr) return std::nullopt;
  std::string value;
  if (!impl_->db->Get(rocksdb::ReadOptions(), impl_->docs, to_slice(key), &value).ok()) {
    return std::nullopt;
  }
  return value;
}

error_code ReputationStore::for_each_doc(std::string_view prefix, const DocVisitor& visit) {
  if (impl_->docs == nullptr) return {};
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->docs));
  for (it->Seek(to_slice(prefix)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!visit(key, {it->value().data(), it->value().size()})) break;
  }
  return status_error(it->status(), "for_each_doc");
}

error_code ReputationStore::set_listing(Family family, std::string_view key,
                                        const reputation::Listing& listing) {
  const auto patch = encode_patch(listing_patch(listing));
  return told(*impl_, write_patch(*impl_, family, key, patch, true, "set_listing"),
              Change::Kind::SetListing, family, key, patch);
}

error_code ReputationStore::clear_listing(Family family, std::string_view key) {
  const auto patch = encode_patch(listing_patch({}));
  return told(*impl_, write_patch(*impl_, family, key, patch, true, "clear_listing"),
              Change::Kind::ClearListing, family, key, patch);
}

error_code ReputationStore::set_score(Family family, std::string_view key, double score,
                                      std::int64_t score_at) {
  return write_patch(*impl_, family, key, encode_patch(score_patch(score, score_at)), false,
                     "set_score");
}

error_code ReputationStore::erase(Family family, std::string_view key) {
  return told(*impl_, erase_record(*impl_, family, key), Change::Kind::EraseRecord, family, key);
}

void ReputationStore::set_change_observer(ChangeObserver observer) {
  impl_->observer = std::move(observer);
}

// Not synced: a decision lost to a crash here is still in the fleet's state, which a node
// reads whole when it starts.
error_code ReputationStore::apply(const Change& change) {
  switch (change.kind) {
    case Change::Kind::SetListing:
    case Change::Kind::ClearListing:
      return write_patch(*impl_, change.family, change.key, change.value, false, "apply_listing");
    case Change::Kind::EraseRecord:
      return erase_record(*impl_, change.family, change.key, false);
    case Change::Kind::PutRecord: {
      if (impl_->options.read_only) return make_error_code(Error::read_only);
      if (!decode_record(change.value)) return make_error_code(Error::corruption);
      rocksdb::WriteOptions write;
      const auto ec = status_error(impl_->db->Put(write, impl_->cf(change.family),
                                                  to_slice(change.key), to_slice(change.value)),
                                   "apply_record");
      impl_->records->invalidate(change.family, change.key);
      return ec;
    }
    case Change::Kind::PutDoc:
      return write_doc(*impl_, change.key, change.value, false);
    case Change::Kind::EraseDoc:
      return write_doc(*impl_, change.key, std::nullopt, false);
  }
  return make_error_code(Error::corruption);
}

error_code ReputationStore::for_each(Family family, const Visitor& visit) {
  return for_each_from(family, {}, visit);
}

error_code ReputationStore::for_each_from(Family family, std::string_view from,
                                          const Visitor& visit) {
  if (impl_->cf(family) == nullptr) return {};  // read-only, an older store: nothing in it
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // an export must not evict the hot set
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->cf(family)));
  for (it->Seek(to_slice(from)); it->Valid(); it->Next()) {
    const rocksdb::Slice value = it->value();
    auto record = decode_record({value.data(), value.size()});
    if (!record) return make_error_code(Error::corruption);
    if (!visit({it->key().data(), it->key().size()}, *record)) return {};
  }
  return status_error(it->status(), "for_each");
}

std::uint64_t ReputationStore::approximate_count(Family family) {
  std::uint64_t count = 0;
  if (impl_->cf(family) == nullptr) return 0;
  impl_->db->GetIntProperty(impl_->cf(family), "rocksdb.estimate-num-keys", &count);
  return count;
}

std::uint64_t ReputationStore::cache_hits() const {
  return impl_->db_options.statistics->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
}

std::uint64_t ReputationStore::cache_misses() const {
  return impl_->db_options.statistics->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
}

std::uint64_t ReputationStore::record_cache_hits() const { return impl_->records->hits(); }

std::uint64_t ReputationStore::record_cache_misses() const { return impl_->records->misses(); }

namespace {

boost::system::result<std::unique_ptr<SstBuilder>> open_sst_builder(
    const rocksdb::Options& options, const std::filesystem::path& file) {
  auto impl = std::make_unique<SstBuilder::Impl>(file, options);
  if (auto ec = status_error(impl->writer.Open(file.string()), "sst_open")) return ec;
  return std::make_unique<SstBuilder>(std::move(impl));
}

}  // namespace

boost::system::result<std::unique_ptr<SstBuilder>> ReputationStore::make_sst_builder(
    Family /*family*/, const std::filesystem::path& file) {
  // All families share one set of options; the family is in the signature so that a future
  // per-family tuning cannot be forgotten here.
  return open_sst_builder(impl_->db_options, file);
}

boost::system::result<std::unique_ptr<SstBuilder>> make_sst_builder(
    const StoreOptions& options, const std::filesystem::path& file) {
  return open_sst_builder(make_db_options(options), file);
}

namespace {

error_code ingest_files(ReputationStore::Impl& impl, Family family,
                        const std::vector<std::filesystem::path>& files, IngestMode mode) {
  std::vector<std::string> names;
  for (const auto& file : files) names.push_back(file.string());
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = mode == IngestMode::Move;
  const auto ec =
      status_error(impl.db->IngestExternalFile(impl.cf(family), names, ingest), "ingest");
  impl.records->clear();
  return ec;
}

// Tells the observer of the listing of every key in the ingested `files` (a file's entries
// read back merged: a listing patch reads as a record holding the listing).
error_code tell_listings(ReputationStore::Impl& impl, Family family,
                         const std::vector<std::filesystem::path>& files) {
  for (const auto& file : files) {
    rocksdb::SstFileReader reader(impl.db_options);
    if (auto ec = status_error(reader.Open(file.string()), "ingest_read")) return ec;
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(read));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto record = decode_record({it->value().data(), it->value().size()});
      if (!record) return make_error_code(Error::corruption);
      const bool clears = record->listing.action == reputation::ListingAction::None;
      told(impl, {}, clears ? Change::Kind::ClearListing : Change::Kind::SetListing, family,
           {it->key().data(), it->key().size()}, encode_patch(listing_patch(record->listing)));
    }
    if (auto ec = status_error(it->status(), "ingest_read")) return ec;
  }
  return {};
}

}  // namespace

error_code ReputationStore::ingest_sst(Family family,
                                       const std::vector<std::filesystem::path>& files,
                                       IngestMode mode) {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  // Fleet mode: the files' listings are told after they are in, read from the files, which a
  // move would take away.
  if (impl_->observer) mode = IngestMode::Copy;
  if (auto ec = ingest_files(*impl_, family, files, mode)) return ec;
  return impl_->observer ? tell_listings(*impl_, family, files) : error_code{};
}

bool database_exists(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / "CURRENT", ec);
}

bool store_in_use(const std::filesystem::path& dir) {
  // RocksDB holds a POSIX record lock (fcntl F_SETLK) on LOCK while a DB is open; F_GETLK
  // reports a conflicting lock of another process without taking it.
  const int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

error_code ReputationStore::ingest(
    Family family, const std::vector<std::pair<std::string, reputation::Record>>& sorted) {
  if (impl_->options.read_only) return make_error_code(Error::read_only);
  if (sorted.empty()) return {};
  const auto file = impl_->dir / ("ingest-" + std::to_string(impl_->ingest_sequence++) + ".sst");
  auto builder = make_sst_builder(family, file);
  if (!builder) return builder.error();
  error_code ec;
  for (const auto& [key, record] : sorted) {
    if ((ec = (*builder)->add(key, record))) break;
  }
  if (!ec) ec = (*builder)->finish();
  if (!ec) ec = ingest_files(*impl_, family, {file}, IngestMode::Move);
  std::error_code ignored;
  std::filesystem::remove(file, ignored);  // gone already when the ingestion moved it
  if (!ec && impl_->observer) {
    std::string value;
    for (const auto& [key, record] : sorted) {
      value.clear();
      append_record(value, record);
      told(*impl_, ec, Change::Kind::PutRecord, family, key, value);
    }
  }
  return ec;
}

SstBuilder::SstBuilder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SstBuilder::~SstBuilder() = default;

error_code SstBuilder::add(std::string_view key, const reputation::Record& record) {
  impl_->value.clear();
  append_record(impl_->value, record);
  const auto status = impl_->writer.Put(to_slice(key), impl_->value);
  if (status.ok()) ++impl_->count;
  return status_error(status, "sst_add");
}

error_code SstBuilder::add_patch(std::string_view key, const Patch& patch) {
  impl_->value.clear();
  append_patch(impl_->value, patch);
  const auto status = impl_->writer.Merge(to_slice(key), impl_->value);
  if (status.ok()) ++impl_->count;
  return status_error(status, "sst_merge");
}

error_code SstBuilder::finish() { return status_error(impl_->writer.Finish(), "sst_finish"); }

std::uint64_t SstBuilder::count() const { return impl_->count; }

const std::filesystem::path& SstBuilder::path() const { return impl_->file; }

}  // namespace mxgate::storage
