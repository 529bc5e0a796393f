// Bulk listing work shared by `mxgate rep import|export` and the admin API (api.hpp):
//   read_feed()         a feed file (format: postmaster/record_text.hpp) into SST files of
//                       listing patches (storage/listing_bulk.hpp), in a work folder, without
//                       touching a store
//   ingest_bulk_files() those files into a store, one ingestion per file, in order
//   export_batch()      a store's active listings as feed lines, a bounded batch at a time
//
// Import policy: every line is checked; if any line is bad, read_feed() reports the first
// kMaxReportedErrors as "FILE:LINE: problem" (plus the count of the rest) and the caller ingests
// nothing. A key listed twice: the later line wins. Lines longer than kMaxFeedLineBytes are bad.
//
// Threading: plain functions; read_feed() and export_batch() may take a long time and block on
// disk (the caller decides where they run). Failure: read errors and store errors are reported
// in the result / error code, never thrown.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/listing_bulk.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::admin {

inline constexpr std::size_t kMaxReportedErrors = 20;
inline constexpr std::size_t kMaxFeedLineBytes = 8192;
inline constexpr std::size_t kExportBatchRecords = 4096;  // records visited per export_batch()

struct FeedOptions {
  storage::StoreOptions store;     // the target store's options (network prefixes, tables)
  std::int64_t now = 0;            // created time; base of relative expiries
  std::string source;              // default source of the listings
  std::filesystem::path work_dir;  // where the SST files go (must exist)
  std::size_t chunk_entries = storage::kDefaultBulkChunkEntries;
};

struct FeedReport {
  std::uint64_t lines = 0;               // lines read
  std::uint64_t listings = 0;            // good listing lines
  std::uint64_t bad = 0;                 // bad lines
  std::vector<std::string> errors;       // the first kMaxReportedErrors bad lines: "FILE:LINE: ..."
  std::string failure;                   // reading the file or writing SST files failed
  std::uint64_t written = 0;             // entries in the SST files (a repeated key counted once)
  std::vector<storage::BulkFile> files;  // to ingest in this order
  bool ok() const { return bad == 0 && failure.empty(); }
};

// `file` "-" reads standard input. The SST files are written only while no line is bad.
FeedReport read_feed(const std::string& file, const FeedOptions& options);

// Ingests `files` in order; `ingested` counts the files done (all of them unless an error).
boost::system::error_code ingest_bulk_files(storage::ReputationStore& store,
                                            const std::vector<storage::BulkFile>& files,
                                            storage::IngestMode mode, std::size_t& ingested);

// Where export_batch() continues.
struct ExportCursor {
  storage::Family family = storage::Family::Ip;
  std::string next_key;     // the first key not visited yet
  bool done = false;        // the family has been walked to its end
  std::uint64_t lines = 0;  // feed lines appended so far
};

// The families of listings, by the names `rep export --family` and /admin/rep/export?family=
// take: "ip", "network", "domain" (sender domains, "domain:" targets), "uri" (linked domains,
// "uri:" targets; issue 17), "all" (all four, in that order). nullopt for another name.
inline constexpr std::string_view kExportFamilyNames = "ip, network, domain, uri or all";
std::optional<std::vector<storage::Family>> export_families_named(std::string_view name);

// The family of a line of POST /admin/rep/ingest: storage::family_name() of one that feeds
// carry ("ip", "network", "sender_domain", "linked_domain"); nullopt for another name.
std::optional<storage::Family> ingest_family_named(std::string_view name);

// Appends the feed lines of active listings among the next kExportBatchRecords records.
boost::system::error_code export_batch(storage::ReputationStore& store, ExportCursor& cursor,
                                       std::int64_t now, std::string& out);

// "# mxgate rep export <time>\n# ip_or_cidr,action,reason,expiry,source\n"
std::string export_header(std::int64_t now);

// A uniquely named folder under `parent`, removed with everything in it by the destructor.
class WorkDir {
 public:
  explicit WorkDir(const std::filesystem::path& parent);  // throws std::system_error
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mxgate::admin
