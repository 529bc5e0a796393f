// Private to storage/: the RocksDB state behind ReputationStore and SstBuilder, shared by
// reputation_store.cpp (open, reads, writes) and store_admin.cpp (listing writes, iteration,
// SST files and their ingestion).
// Threading: see reputation_store.hpp; batch_mutex guards batch and pending only.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/statistics.h>

#include <array>
#include <atomic>
#include <mutex>

#include "storage/record_cache.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::storage {

struct ReputationStore::Impl {
  std::filesystem::path dir;
  StoreOptions options;
  rocksdb::Options db_options;  // DB and column family options (all families share them)
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // as opened, "default" first
  std::array<rocksdb::ColumnFamilyHandle*, kFamilyCount> families{};
  rocksdb::ColumnFamilyHandle* state = nullptr;  // "state": save_state()'s blobs
  rocksdb::ColumnFamilyHandle* docs = nullptr;   // "docs": put_doc()'s documents
  rocksdb::ColumnFamilyHandle* notes = nullptr;  // linked-domain notes (linked_note.hpp)
  rocksdb::ColumnFamilyHandle* dmarc = nullptr;  // DMARC report rows (dmarc_rows.hpp)
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> ingest_sequence{0};
  ReputationStore::ChangeObserver observer;  // set before the store is shared (fleet mode)
  ReputationStore::CountsObserver counts_observer;  // the same

  mutable std::mutex batch_mutex;  // guards batch and pending
  std::unique_ptr<rocksdb::WriteBatch> batch = std::make_unique<rocksdb::WriteBatch>();
  std::size_t pending = 0;

  std::unique_ptr<RecordCache> records;

  // Null only for a family that a read-only open of an older store did not find
  // (Family::LinkedDomain in a store made before issue 17).
  rocksdb::ColumnFamilyHandle* cf(Family family) const {
    return families[static_cast<std::size_t>(family)];
  }
};

struct SstBuilder::Impl {
  std::filesystem::path file;
  rocksdb::Options options;  // a copy, so that a builder made without a store owns its options
  rocksdb::SstFileWriter writer;
  std::uint64_t count = 0;
  std::string value;  // reused encoding buffer

  Impl(std::filesystem::path path, const rocksdb::Options& db_options)
      : file(std::move(path)), options(db_options), writer(rocksdb::EnvOptions(), options) {}
};

// The DB and column family options of a store opened with `options`; SST files written with
// them (SstBuilder) match the store's table format.
rocksdb::Options make_db_options(const StoreOptions& options);

// The notes column family's compaction filter: drops notes too old to be shown.
const rocksdb::CompactionFilter* expired_note_filter();

// Maps a non-OK status to an error code, logging `operation` and RocksDB's text once.
boost::system::error_code status_error(const rocksdb::Status& status, std::string_view operation);

inline rocksdb::Slice to_slice(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace mxgate::storage
