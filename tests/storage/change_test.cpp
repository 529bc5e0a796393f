// storage::Change (fleet mode, issue 19): the codec, the store telling its observer of each
// decision it wrote (and of nothing else), and another store replaying them to the same records.
#include "storage/change.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <vector>

#include "storage/reputation_store.hpp"

namespace mxgate::storage {
namespace {

using reputation::Counters;
using reputation::ListingAction;

TEST(StoreChange, EncodesAndDecodes) {
  const Change change{Change::Kind::PutDoc, Family::Ip, std::string("a\0b", 3), "value\xff"};
  EXPECT_EQ(decode_change(encode_change(change)), change);
  Change empty{Change::Kind::EraseRecord, Family::LinkedDomain, "", ""};
  EXPECT_EQ(decode_change(encode_change(empty)), empty);
  const auto bytes = encode_change(change);
  EXPECT_FALSE(decode_change(bytes.substr(0, 5)));
  EXPECT_FALSE(decode_change(bytes.substr(0, 8)));  // the key cut short
  EXPECT_FALSE(decode_change(std::string("\x07\x00\x00\x00\x00\x00", 6)));  // no such kind
  EXPECT_FALSE(decode_change(std::string("\x01\x09\x00\x00\x00\x00", 6)));  // no such family
}

class StoreChangeTest : public testing::Test {
 protected:
  StoreChangeTest() {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-change-test-" + std::to_string(random()) + std::to_string(random()));
    StoreOptions options;
    options.block_cache_bytes = 8 << 20;
    here_ = ReputationStore::open(dir_ / "here", options);
    there_ = ReputationStore::open(dir_ / "there", options);
    here_->set_change_observer([this](const Change& c) { changes_.push_back(c); });
  }
  ~StoreChangeTest() override {
    here_.reset();
    there_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Replays what `here_` told on `there_`.
  void replay() {
    for (const auto& change : changes_) {
      ASSERT_FALSE(there_->apply(decode_change(encode_change(change)).value()));
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<ReputationStore> here_;
  std::unique_ptr<ReputationStore> there_;
  std::vector<Change> changes_;
};

TEST_F(StoreChangeTest, ListingsAndRecordsReplayToTheSameRecords) {
  ASSERT_FALSE(here_->add(Family::Ip, "k1", 100, Counters{.accepted = 3}, 1));
  ASSERT_FALSE(here_->flush());
  EXPECT_TRUE(changes_.empty());  // counters are not decisions
  ASSERT_FALSE(
      here_->set_listing(Family::Ip, "k1", {ListingAction::Block, "spam", "manual", 10, 20}));
  ASSERT_FALSE(here_->set_listing(Family::LinkedDomain, "uri-x",
                                  {ListingAction::Block, "malware", "feed", 10, 0}));
  ASSERT_FALSE(here_->set_listing(Family::Network, "n1", {ListingAction::Allow, "", "ops", 1, 0}));
  ASSERT_FALSE(here_->clear_listing(Family::Network, "n1"));
  reputation::Record soft;
  soft.listing = {ListingAction::Allow, "delisted", "portal", 5, 0};
  ASSERT_FALSE(here_->ingest(Family::Ip, {{"k2", soft}}));
  ASSERT_FALSE(here_->put_doc("delist/request/192.0.2.1", "doc"));
  ASSERT_FALSE(here_->put_doc("delist/other", "x"));
  ASSERT_FALSE(here_->erase_doc("delist/other"));
  ASSERT_EQ(changes_.size(), 8u);
  replay();

  const auto k1 = there_->get(Family::Ip, "k1");
  ASSERT_TRUE(k1);
  EXPECT_EQ(k1->listing.action, ListingAction::Block);
  EXPECT_EQ(k1->listing.reason, "spam");
  EXPECT_EQ(k1->listing.expires, 20);
  EXPECT_TRUE(k1->days.empty());  // the counters stay with the node that counted them
  EXPECT_EQ(there_->get(Family::LinkedDomain, "uri-x")->listing.reason, "malware");
  EXPECT_EQ(there_->get(Family::Network, "n1")->listing.action, ListingAction::None);
  EXPECT_EQ(there_->get(Family::Ip, "k2")->listing.reason, "delisted");
  EXPECT_EQ(there_->get_doc("delist/request/192.0.2.1"), "doc");
  EXPECT_FALSE(there_->get_doc("delist/other"));
}

TEST_F(StoreChangeTest, AnErasedRecordIsErasedThereAndReplaysTellNobody) {
  ASSERT_FALSE(here_->set_listing(Family::Ip, "k", {ListingAction::Block, "r", "s", 1, 0}));
  replay();
  ASSERT_TRUE(there_->get(Family::Ip, "k"));
  changes_.clear();
  ASSERT_FALSE(here_->erase(Family::Ip, "k"));
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].kind, Change::Kind::EraseRecord);
  replay();
  EXPECT_FALSE(there_->get(Family::Ip, "k"));

  // A replayed change is not told again (it would echo round the fleet).
  changes_.clear();
  ASSERT_FALSE(here_->apply(Change{Change::Kind::PutDoc, Family::Ip, "d", "v"}));
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(here_->get_doc("d"), "v");
}

TEST_F(StoreChangeTest, ABulkImportTellsEachListingAndKeepsTheCallersFiles) {
  // `rep import` through a running server: SST files of listing patches, ingested.
  const auto file = dir_ / "import.sst";
  {
    auto builder = here_->make_sst_builder(Family::Ip, file).value();
    ASSERT_FALSE(builder->add_patch("a1", listing_patch({ListingAction::Block, "feed", "i", 1, 0})));
    ASSERT_FALSE(builder->add_patch("a2", listing_patch({})));  // a removal
    ASSERT_FALSE(builder->add_patch("a3", listing_patch({ListingAction::Allow, "", "i", 1, 9})));
    ASSERT_FALSE(builder->finish());
  }
  ASSERT_FALSE(here_->set_listing(Family::Ip, "a2", {ListingAction::Block, "old", "m", 1, 0}));
  ASSERT_FALSE(there_->set_listing(Family::Ip, "a2", {ListingAction::Block, "old", "m", 1, 0}));
  changes_.clear();
  ASSERT_FALSE(here_->ingest_sst(Family::Ip, {file}, IngestMode::Move));
  EXPECT_TRUE(std::filesystem::exists(file)) << "copied: the listings are read back from it";
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_EQ(changes_[0].key, "a1");
  EXPECT_EQ(changes_[1].kind, Change::Kind::ClearListing);
  replay();
  EXPECT_EQ(there_->get(Family::Ip, "a1")->listing.reason, "feed");
  EXPECT_EQ(there_->get(Family::Ip, "a2")->listing.action, ListingAction::None);
  EXPECT_EQ(there_->get(Family::Ip, "a3")->listing.expires, 9);
  EXPECT_EQ(here_->get(Family::Ip, "a2")->listing.action, ListingAction::None);
}

TEST_F(StoreChangeTest, ABrokenRecordIsRefused) {
  EXPECT_TRUE(there_->apply(Change{Change::Kind::PutRecord, Family::Ip, "k", "not a record"}));
  EXPECT_FALSE(there_->get(Family::Ip, "k"));
}

}  // namespace
}  // namespace mxgate::storage
