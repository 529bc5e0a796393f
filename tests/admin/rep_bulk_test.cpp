// read_feed(), ingest_bulk_files() and export_batch() on real files and a real store in a temp
// folder: bad lines are reported by line number and stop the import; a good feed lands in the
// store; the export of a store reads back as the same listings.
#include "admin/rep_bulk.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "postmaster/record_text.hpp"

namespace mxgate::admin {
namespace {

using reputation::ListingAction;
using storage::Family;

constexpr std::int64_t kNow = 1'800'000'000;

class RepBulkTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-rep-bulk-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    options_.block_cache_bytes = 8 << 20;
    store_ = storage::ReputationStore::open(dir_ / "store", options_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string write_feed(const std::string& content) {
    const auto path = (dir_ / "feed.csv").string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  FeedReport read(const std::string& path, WorkDir& work, std::size_t chunk = 1000) {
    return read_feed(path, FeedOptions{options_, kNow, "import:feed.csv", work.path(), chunk});
  }

  std::string export_all() {
    std::string out;
    for (Family family : {Family::Ip, Family::Network}) {
      ExportCursor cursor{family};
      while (!cursor.done) {
        EXPECT_FALSE(export_batch(*store_, cursor, kNow, out));
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  storage::StoreOptions options_;
  std::unique_ptr<storage::ReputationStore> store_;
};

TEST_F(RepBulkTest, EveryBadLineIsNamedAndNothingIsWritten) {
  const auto path = write_feed(
      "# header\n"
      "192.0.2.1,block,ok,7d\n"
      "192.0.2.2,blok\n"
      "\n"
      "10.0.0.0/8,block\n"
      "192.0.2.3,block,\"open\n"
      "192.0.2.4,allow" +
      std::string(kMaxFeedLineBytes, ' ') +
      "\n"
      "192.0.2.5,block,last line without LF,soon");
  WorkDir work(dir_);
  const auto report = read(path, work);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.lines, 8u);
  EXPECT_EQ(report.bad, 5u);
  ASSERT_EQ(report.errors.size(), 5u);
  EXPECT_EQ(report.errors[0], path + ":3: action 'blok': expected block, allow or none");
  EXPECT_EQ(report.errors[1].rfind(path + ":5: '10.0.0.0/8': networks are looked up", 0), 0u);
  EXPECT_EQ(report.errors[2], path + ":6: field 3: no closing quote (a field ends on its line)");
  EXPECT_EQ(report.errors[3], path + ":7: line longer than 8192 bytes");
  EXPECT_EQ(report.errors[4].rfind(path + ":8: expiry 'soon'", 0), 0u);
  EXPECT_TRUE(report.files.empty());
}

TEST_F(RepBulkTest, OnlyTheFirstErrorsAreKeptButAllAreCounted) {
  std::string feed;
  for (int i = 0; i < 50; ++i) feed += "not-an-ip,block\n";
  WorkDir work(dir_);
  const auto report = read(write_feed(feed), work);
  EXPECT_EQ(report.bad, 50u);
  EXPECT_EQ(report.errors.size(), kMaxReportedErrors);
}

TEST_F(RepBulkTest, MissingFileIsAFailureNotACrash) {
  WorkDir work(dir_);
  const auto report = read((dir_ / "absent.csv").string(), work);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.failure.find("cannot read"), std::string::npos) << report.failure;
}

TEST_F(RepBulkTest, ImportThenExportRoundTrips) {
  std::string feed = "# a feed\r\n";
  for (int i = 0; i < 2500; ++i) {  // several chunks of 1000
    feed += fmt::format("10.{}.{}.{},block,\"reason {}, quoted\",{}\r\n", i / 65536,
                        (i / 256) % 256, i % 256, i, i % 2 ? "2027-12-31T00:00:00Z" : "");
  }
  feed += "10.0.0.5,allow,changed mind\n";  // a repeat: the later line wins
  feed += "198.51.100.0/24,block,net\n2001:db8::/48,block,net6,,feed-x\n";
  WorkDir work(dir_);
  const auto report = read(write_feed(feed), work);
  ASSERT_TRUE(report.ok()) << report.failure;
  EXPECT_EQ(report.listings, 2503u);
  std::size_t ingested = 0;
  ASSERT_FALSE(ingest_bulk_files(*store_, report.files, storage::IngestMode::Move, ingested));
  EXPECT_EQ(ingested, report.files.size());

  std::string error;
  const auto five = *postmaster::parse_target("10.0.0.5", options_, error);
  EXPECT_EQ(store_->get(Family::Ip, five.key)->listing.action, ListingAction::Allow);

  const std::string exported = export_all();
  EXPECT_EQ(std::count(exported.begin(), exported.end(), '\n'), 2502);
  EXPECT_NE(exported.find("10.0.9.195,block,\"reason 2499, quoted\",2027-12-31T00:00:00Z,"
                          "import:feed.csv\n"),
            std::string::npos);
  EXPECT_NE(exported.find("2001:db8::/48,block,net6,,feed-x\n"), std::string::npos);

  // Into a second store: the same export.
  store_.reset();
  std::filesystem::remove_all(dir_ / "store");
  store_ = storage::ReputationStore::open(dir_ / "store", options_);
  WorkDir again(dir_);
  const auto second = read(write_feed(export_header(kNow) + exported), again);
  ASSERT_TRUE(second.ok());
  ASSERT_FALSE(ingest_bulk_files(*store_, second.files, storage::IngestMode::Move, ingested));
  EXPECT_EQ(export_all(), exported);
}

TEST_F(RepBulkTest, ExpiredListingsAreNotExported) {
  WorkDir work(dir_);
  const auto report =
      read(write_feed("192.0.2.1,block,old,1000\n192.0.2.2,block,new,7d\n192.0.2.3,none\n"), work);
  ASSERT_TRUE(report.ok());
  std::size_t ingested = 0;
  ASSERT_FALSE(ingest_bulk_files(*store_, report.files, storage::IngestMode::Move, ingested));
  EXPECT_EQ(export_all(), fmt::format("192.0.2.2,block,new,{},import:feed.csv\n",
                                      postmaster::format_time(kNow + 7 * 86400)));
}

TEST(WorkDir, IsRemovedWithItsFiles) {
  std::filesystem::path path;
  {
    WorkDir work(std::filesystem::temp_directory_path());
    path = work.path();
    std::ofstream(path / "x.sst") << "x";
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace mxgate::admin
