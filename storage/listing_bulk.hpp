// ListingBulkWriter: turns a long stream of listings (a feed import: millions of IPs and
// networks, and sender ("domain:") and linked ("uri:") domains, in any order, a key possibly
// repeated) into SST files of merge operands for
// ReputationStore::ingest_sst. Listings are buffered in memory up to `chunk_entries`, then
// sorted by (family, key, arrival) and written, one SST file per family and chunk, keeping only
// the last listing of a key within the chunk. Ingest the files in the order files() lists them,
// one ingest_sst() call per file: a later chunk's entries are then newer, so the last listing of
// a key in the whole stream wins.
// The entries are listing patches (merge.hpp): ingesting them replaces listings only; the
// counters, history and scores that the keys already have stay.
// Memory: about 72 bytes per buffered listing plus its reason and source text (and its key when
// longer than 18 bytes).
// Threading: one writer, one thread. Failure: error codes (error.hpp; Error::other for a key
// of another family, empty, or too long); files already written stay in `dir` for the caller to
// remove.
// (Before issue 17 only IP and network keys were taken: a "domain:" line failed the import.)
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "reputation/record.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::storage {

// 4 million listings: about 300 MiB buffered, SST files of about the size compaction makes.
inline constexpr std::size_t kDefaultBulkChunkEntries = 4'000'000;

struct BulkFile {
  Family family = Family::Ip;
  std::filesystem::path path;
  std::uint64_t entries = 0;
};

class ListingBulkWriter {
 public:
  // Files go to `dir` (which must exist), written with the table options of a store opened
  // with `options`.
  ListingBulkWriter(StoreOptions options, std::filesystem::path dir,
                    std::size_t chunk_entries = kDefaultBulkChunkEntries);
  ~ListingBulkWriter();
  ListingBulkWriter(const ListingBulkWriter&) = delete;
  ListingBulkWriter& operator=(const ListingBulkWriter&) = delete;

  // `key` from key_codec.hpp, of Family::Ip, Network, SenderDomain or LinkedDomain (a domain key
  // of at most 255 bytes).
  boost::system::error_code add(Family family, std::string_view key,
                                const reputation::Listing& listing);
  boost::system::error_code finish();  // writes what is buffered; files() is then complete

  const std::vector<BulkFile>& files() const { return files_; }
  std::uint64_t added() const { return added_; }      // listings given to add()
  std::uint64_t written() const { return written_; }  // entries in the files

  struct Entry;  // one buffered listing (defined in the .cpp)

 private:
  boost::system::error_code flush_chunk();
  boost::system::error_code write_family(const Entry* begin, const Entry* end);
  reputation::Listing listing_of(const Entry& entry) const;

  StoreOptions options_;
  std::filesystem::path dir_;
  std::size_t chunk_entries_;
  std::vector<Entry> entries_;
  std::string text_;                  // reasons of the buffered entries, back to back
  std::vector<std::string> sources_;  // distinct sources of the buffered entries
  std::vector<BulkFile> files_;
  std::uint64_t added_ = 0;
  std::uint64_t written_ = 0;
  unsigned chunks_ = 0;
};

}  // namespace mxgate::storage
