#include "admin/rep_bulk.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include "postmaster/record_text.hpp"

namespace mxgate::admin {
namespace {

constexpr std::size_t kReadBlockBytes = std::size_t{1} << 20;

// Lines of a file descriptor, LF-terminated; the last line may lack its LF. A line longer than
// `max_line` is reported as too long and skipped to its end, so memory stays bounded.
class LineReader {
 public:
  LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line), buf_(kReadBlockBytes) {}

  // False at the end of the input or on a read error (then error() is set).
  bool next(std::string_view& line, bool& too_long) {
    too_long = false;
    for (;;) {
      const char* start = buf_.data() + begin_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      if (newline != nullptr && !skipping_) {
        line = {start, static_cast<std::size_t>(newline - start)};
        begin_ += line.size() + 1;
        too_long = line.size() > max_line_;
        return true;
      }
      if (newline != nullptr) {  // the end of a line that was too long
        begin_ += static_cast<std::size_t>(newline - start) + 1;
        skipping_ = false;
        line = {};
        too_long = true;
        return true;
      }
      if (eof_) return finish(line, too_long);
      if (end_ - begin_ > max_line_ || skipping_) {
        skipping_ = true;
        begin_ = end_;  // drop what we have of the long line
      }
      if (!fill()) return false;
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool finish(std::string_view& line, bool& too_long) {
    if (begin_ == end_ && !skipping_) return false;
    too_long = skipping_ || end_ - begin_ > max_line_;
    line = too_long ? std::string_view{} : std::string_view{buf_.data() + begin_, end_ - begin_};
    begin_ = end_;
    skipping_ = false;
    return true;
  }

  bool fill() {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    for (;;) {
      const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = std::strerror(errno);
        return false;
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<std::size_t>(n);
      return true;
    }
  }

  int fd_;
  std::size_t max_line_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  bool skipping_ = false;
  std::string error_;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ > 0) ::close(fd_);  // never standard input
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void note_bad_line(FeedReport& report, const std::string& file, std::string_view problem) {
  ++report.bad;
  if (report.errors.size() < kMaxReportedErrors) {
    report.errors.push_back(fmt::format("{}:{}: {}", file, report.lines, problem));
  }
}

}  // namespace

FeedReport read_feed(const std::string& file, const FeedOptions& options) {
  FeedReport report;
  Fd fd(file == "-" ? 0 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    report.failure = fmt::format("cannot read {}: {}", file, std::strerror(errno));
    return report;
  }
  storage::ListingBulkWriter writer(options.store, options.work_dir, options.chunk_entries);
  postmaster::FeedParser parser(options.store, options.now, options.source);
  LineReader reader(fd.get(), kMaxFeedLineBytes);
  postmaster::FeedLine parsed;
  std::string error;
  std::string_view line;
  bool too_long = false;
  while (reader.next(line, too_long)) {
    ++report.lines;
    if (too_long) {
      note_bad_line(report, file, fmt::format("line longer than {} bytes", kMaxFeedLineBytes));
      continue;
    }
    const auto status = parser.parse(line, parsed, error);
    if (status == postmaster::FeedParser::Status::Bad) note_bad_line(report, file, error);
    if (status != postmaster::FeedParser::Status::Listing) continue;
    ++report.listings;
    if (report.bad > 0) continue;  // nothing will be ingested: stop writing, keep checking
    if (auto ec = writer.add(parsed.target.family, parsed.target.key, parsed.listing)) {
      report.failure =
          fmt::format("writing SST files in {}: {}", options.work_dir.string(), ec.message());
      return report;
    }
  }
  if (!reader.error().empty()) {
    report.failure = fmt::format("reading {}: {}", file, reader.error());
    return report;
  }
  if (report.bad > 0) return report;
  if (auto ec = writer.finish()) {
    report.failure =
        fmt::format("writing SST files in {}: {}", options.work_dir.string(), ec.message());
    return report;
  }
  report.written = writer.written();
  report.files = writer.files();
  return report;
}

boost::system::error_code ingest_bulk_files(storage::ReputationStore& store,
                                            const std::vector<storage::BulkFile>& files,
                                            storage::IngestMode mode, std::size_t& ingested) {
  ingested = 0;
  // One call per file: files of different chunks overlap, and each call makes its entries
  // newer than the previous call's, which is what "the later line wins" needs.
  for (const auto& file : files) {
    if (auto ec = store.ingest_sst(file.family, {file.path}, mode)) return ec;
    ++ingested;
  }
  return {};
}

boost::system::error_code export_batch(storage::ReputationStore& store, ExportCursor& cursor,
                                       std::int64_t now, std::string& out) {
  std::size_t visited = 0;
  bool stopped = false;
  auto ec = store.for_each_from(
      cursor.family, cursor.next_key, [&](std::string_view key, const reputation::Record& record) {
        if (visited == kExportBatchRecords) {
          cursor.next_key.assign(key);
          stopped = true;
          return false;
        }
        ++visited;
        if (record.listing.active(now)) {
          postmaster::append_feed_line(out, postmaster::RepTarget{cursor.family, std::string(key)},
                                       record.listing);
          ++cursor.lines;
        }
        return true;
      });
  if (!ec && !stopped) cursor.done = true;
  return ec;
}

std::optional<std::vector<storage::Family>> export_families_named(std::string_view name) {
  using storage::Family;
  if (name == "ip") return std::vector{Family::Ip};
  if (name == "network") return std::vector{Family::Network};
  if (name == "domain") return std::vector{Family::SenderDomain};
  if (name == "uri") return std::vector{Family::LinkedDomain};
  if (name == "all") {
    return std::vector{Family::Ip, Family::Network, Family::SenderDomain, Family::LinkedDomain};
  }
  return std::nullopt;
}

std::optional<storage::Family> ingest_family_named(std::string_view name) {
  using storage::Family;
  for (const Family family :
       {Family::Ip, Family::Network, Family::SenderDomain, Family::LinkedDomain}) {
    if (name == storage::family_name(family)) return family;
  }
  return std::nullopt;
}

std::string export_header(std::int64_t now) {
  return fmt::format("# mxgate rep export {}\n# {}\n", postmaster::format_time(now),
                     postmaster::kFeedColumns);
}

WorkDir::WorkDir(const std::filesystem::path& parent) {
  std::string pattern = (parent / "rep-import-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot create a work folder in " + parent.string());
  }
  path_ = pattern;
  // A running server (another user, perhaps) reads the SST files from here.
  std::error_code ignored;
  std::filesystem::permissions(
      path_,
      std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
          std::filesystem::perms::others_exec,
      ignored);
}

WorkDir::~WorkDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace mxgate::admin
