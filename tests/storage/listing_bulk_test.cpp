// ListingBulkWriter against a real store in a temp folder: the SST files hold merge operands,
// so an import changes listings and keeps counters; the last listing of a key wins, within a
// chunk and across chunks.
#include "storage/listing_bulk.hpp"

#include <gtest/gtest.h>

#include <random>

#include "storage/record_codec.hpp"

namespace mxgate::storage {
namespace {

using reputation::Counters;
using reputation::Listing;
using reputation::ListingAction;

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

class ListingBulkTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-bulk-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_ / "work");
    options_.block_cache_bytes = 8 << 20;
    store_ = ReputationStore::open(dir_ / "store", options_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Writes `listings` with the given chunk size and ingests the files in order.
  void import(const std::vector<std::pair<std::string, Listing>>& listings, std::size_t chunk) {
    ListingBulkWriter writer(options_, dir_ / "work", chunk);
    for (const auto& [key, listing] : listings) {
      ASSERT_FALSE(writer.add(Family::Ip, key, listing));
    }
    ASSERT_FALSE(writer.finish());
    for (const auto& file : writer.files()) {
      ASSERT_FALSE(store_->ingest_sst(file.family, {file.path}));
    }
  }

  static Listing block(std::string reason) {
    return {ListingAction::Block, std::move(reason), "import:test", 100, 0};
  }

  std::filesystem::path dir_;
  StoreOptions options_;
  std::unique_ptr<ReputationStore> store_;
};

TEST_F(ListingBulkTest, ImportChangesTheListingAndKeepsCountersAndSeenTimes) {
  const std::string key = ip_key(ip("192.0.2.7"));
  ASSERT_FALSE(
      store_->add(Family::Ip, key, 20000, Counters{.accepted = 7, .complaints = 1}, 1'728'000'000));
  ASSERT_FALSE(store_->flush());
  ASSERT_FALSE(store_->set_score(Family::Ip, key, 4.5, 1'728'000'001));
  import({{ key, block("feed") }}, 10);
  const auto record = store_->get(Family::Ip, key);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->listing, block("feed"));
  ASSERT_EQ(record->days.size(), 1u);
  EXPECT_EQ(record->days[0].counters, (Counters{.accepted = 7, .complaints = 1}));
  EXPECT_EQ(record->first_seen, 1'728'000'000);
  EXPECT_EQ(record->score, 4.5);
  // Counters added after the import still land on the same record.
  ASSERT_FALSE(store_->add(Family::Ip, key, 20000, Counters{.accepted = 1}, 1'728'000'002));
  ASSERT_FALSE(store_->flush());
  EXPECT_EQ(store_->get(Family::Ip, key)->days[0].counters.accepted, 8u);
  EXPECT_EQ(store_->get(Family::Ip, key)->listing.reason, "feed");
}

TEST_F(ListingBulkTest, TheLastListingOfAKeyWinsWithinAndAcrossChunks) {
  std::vector<std::pair<std::string, Listing>> listings;
  const std::string a = ip_key(ip("192.0.2.1")), b = ip_key(ip("192.0.2.2"));
  const std::string c = ip_key(ip("2001:db8::3"));
  listings.push_back({b, block("b1")});
  listings.push_back({a, block("a1")});
  listings.push_back({a, block("a2")});  // same chunk of 3: a2 wins over a1
  listings.push_back({c, block("c1")});
  listings.push_back({b, block("b2")});  // a later chunk: wins over b1
  listings.push_back({a, {ListingAction::None, "", "import:test", 100, 0}});  // clears a
  import(listings, 3);
  EXPECT_EQ(store_->get(Family::Ip, a)->listing.action, ListingAction::None);
  EXPECT_EQ(store_->get(Family::Ip, b)->listing.reason, "b2");
  EXPECT_EQ(store_->get(Family::Ip, c)->listing.reason, "c1");
}

TEST_F(ListingBulkTest, FilesPerFamilyAndChunkInIngestOrder) {
  ListingBulkWriter writer(options_, dir_ / "work", 2);
  const std::string net = network_key(ip("198.51.100.0"), 24);
  ASSERT_FALSE(writer.add(Family::Network, net, block("n")));
  ASSERT_FALSE(writer.add(Family::Ip, ip_key(ip("198.51.100.7")), block("i")));
  ASSERT_FALSE(writer.add(Family::Ip, ip_key(ip("198.51.100.8")), block("j")));
  ASSERT_FALSE(writer.finish());
  ASSERT_EQ(writer.files().size(), 3u);
  EXPECT_EQ(writer.files()[0].family, Family::Ip);  // chunk 0: families in enum order
  EXPECT_EQ(writer.files()[1].family, Family::Network);
  EXPECT_EQ(writer.files()[2].entries, 1u);
  EXPECT_EQ(writer.added(), 3u);
  EXPECT_EQ(writer.written(), 3u);
  for (const auto& file : writer.files()) {
    ASSERT_FALSE(store_->ingest_sst(file.family, {file.path}, IngestMode::Copy));
    EXPECT_TRUE(std::filesystem::exists(file.path));  // a copy leaves the file
  }
  EXPECT_EQ(store_->get(Family::Network, net)->listing.reason, "n");
}

TEST_F(ListingBulkTest, RefusesAuthDomainAndBadKeysAndOverlongReasonsAreCut) {
  ListingBulkWriter writer(options_, dir_ / "work");
  EXPECT_TRUE(writer.add(Family::AuthDomain, "example.com", block("x")));
  EXPECT_TRUE(writer.add(Family::LinkedDomain, "", block("x")));
  EXPECT_TRUE(writer.add(Family::LinkedDomain, std::string(256, 'a'), block("x")));
  EXPECT_TRUE(writer.add(Family::Ip, std::string(19, 'a'), block("x")));
  const std::string key = ip_key(ip("192.0.2.9"));
  ASSERT_FALSE(writer.add(Family::Ip, key, block(std::string(5000, 'r'))));
  ASSERT_FALSE(writer.finish());
  ASSERT_FALSE(store_->ingest_sst(Family::Ip, {writer.files().at(0).path}));
  EXPECT_EQ(store_->get(Family::Ip, key)->listing.reason.size(), kMaxListingText);
}

// Linked ("uri:") and sender ("domain:") domains, short keys inline and long ones not, mixed
// with IPs and repeated: each family gets its files, sorted bytewise, the last listing winning.
TEST_F(ListingBulkTest, DomainKeysOfAnyLengthImportInTheirFamilies) {
  ListingBulkWriter writer(options_, dir_ / "work", 5);
  const std::string long_a = std::string(40, 'a') + ".example";
  const std::string long_b = std::string(40, 'a') + "b.example";
  const std::vector<std::pair<Family, std::string>> keys = {
      {Family::LinkedDomain, "evil.example"}, {Family::LinkedDomain, long_b},
      {Family::Ip, ip_key(ip("192.0.2.1"))},  {Family::LinkedDomain, "192.0.2.66"},
      {Family::LinkedDomain, long_a},         {Family::SenderDomain, "spam.example"},
      {Family::LinkedDomain, "a.example"},    {Family::LinkedDomain, long_b},
      {Family::LinkedDomain, "evil.example"}, {Family::LinkedDomain, "b.example"}};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_FALSE(writer.add(keys[i].first, keys[i].second, block("r" + std::to_string(i))));
  }
  ASSERT_FALSE(writer.finish());
  for (const auto& file : writer.files()) {
    ASSERT_FALSE(store_->ingest_sst(file.family, {file.path}));
  }
  EXPECT_EQ(store_->get(Family::LinkedDomain, "evil.example")->listing.reason, "r8");
  EXPECT_EQ(store_->get(Family::LinkedDomain, long_b)->listing.reason, "r7");
  EXPECT_EQ(store_->get(Family::LinkedDomain, long_a)->listing.reason, "r4");
  EXPECT_EQ(store_->get(Family::LinkedDomain, "192.0.2.66")->listing.reason, "r3");
  EXPECT_EQ(store_->get(Family::LinkedDomain, "a.example")->listing.reason, "r6");
  EXPECT_EQ(store_->get(Family::LinkedDomain, "b.example")->listing.reason, "r9");
  EXPECT_EQ(store_->get(Family::SenderDomain, "spam.example")->listing.reason, "r5");
  EXPECT_EQ(store_->get(Family::Ip, ip_key(ip("192.0.2.1")))->listing.reason, "r2");
  std::vector<std::string> walked;
  ASSERT_FALSE(store_->for_each(Family::LinkedDomain, [&](std::string_view key, const auto&) {
    walked.emplace_back(key);
    return true;
  }));
  EXPECT_EQ(walked, (std::vector<std::string>{"192.0.2.66", "a.example", long_a, long_b,
                                              "b.example", "evil.example"}));
}

}  // namespace
}  // namespace mxgate::storage
