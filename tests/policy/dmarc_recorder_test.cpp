#include "policy/dmarc_recorder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

namespace mxgate::policy {
namespace {

namespace dr = auth::dmarc_report;

class DmarcRecorderTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-dmarc-recorder-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    storage::StoreOptions options;
    options.block_cache_bytes = 1 << 20;
    options.record_cache_bytes = 0;
    store_ = storage::ReputationStore::open(dir_, options);
    recorder_ = std::make_unique<DmarcRecorder>(*store_, registry_);
    config_.enabled = true;
    config_.period = std::chrono::seconds(100);
    config_.max_rows = 3;
    config_.max_rows_per_domain = 2;
    recorder_->configure(config_);
  }
  void TearDown() override {
    recorder_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static dr::Published published(std::string domain) {
    dr::Published p;
    p.domain = std::move(domain);
    p.record.p = auth::dmarc::Policy::Reject;
    p.record.rua = {"mailto:agg@" + p.domain};
    return p;
  }
  static dr::Row row(std::string ip) {
    dr::Row r;
    r.source_ip = std::move(ip);
    r.header_from = "example.com";
    r.spf = {"example.com", "mfrom", "pass"};
    return r;
  }
  // period begin -> domain -> total count of its rows (and "policy" entries as -1 marks)
  std::map<std::int64_t, std::map<std::string, std::uint64_t>> stored() {
    EXPECT_FALSE(store_->flush());
    std::map<std::int64_t, std::map<std::string, std::uint64_t>> out;
    store_->for_each_dmarc({}, [&](std::string_view key, std::string_view value) {
      const auto parsed = storage::parse_dmarc_key(key);
      EXPECT_TRUE(parsed);
      if (parsed->entry == storage::DmarcEntry::Row) {
        out[parsed->begin][std::string(parsed->domain)] += storage::decode_count(value);
      } else {
        EXPECT_EQ(dr::decode_published(value), published(std::string(parsed->domain)));
      }
      return true;
    });
    return out;
  }
  double rows(const std::string& result) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "mxgate_dmarc_report_rows_total") continue;
      for (const auto& metric : family.metric) {
        if (metric.label.size() == 1 && metric.label[0].value == result) {
          return metric.counter.value;
        }
      }
    }
    return -1;
  }

  std::filesystem::path dir_;
  prometheus::Registry registry_;
  std::unique_ptr<storage::ReputationStore> store_;
  std::unique_ptr<DmarcRecorder> recorder_;
  conf::DmarcReportsConfig config_;
};

TEST(PeriodBegin, AlignsToTheEpoch) {
  EXPECT_EQ(period_begin(86'400 * 3 + 5, 86'400), 86'400 * 3);
  EXPECT_EQ(period_begin(199, 100), 100);
  EXPECT_EQ(period_begin(200, 100), 200);
  EXPECT_EQ(period_begin(-1, 100), -100);
}

TEST_F(DmarcRecorderTest, EqualRowsAddUpAndNewRowsStopAtTheLimits) {
  recorder_->record(published("a.example"), row("192.0.2.1"), 1'000);
  recorder_->record(published("a.example"), row("192.0.2.1"), 1'050);  // the same row
  recorder_->record(published("a.example"), row("192.0.2.2"), 1'010);
  recorder_->record(published("a.example"), row("192.0.2.3"), 1'020);  // a.example is full
  recorder_->record(published("a.example"), row("192.0.2.2"), 1'030);  // known rows still count
  recorder_->record(published("b.example"), row("192.0.2.1"), 1'040);
  recorder_->record(published("c.example"), row("192.0.2.1"), 1'040);  // max_rows is reached
  EXPECT_EQ(stored(), (std::map<std::int64_t, std::map<std::string, std::uint64_t>>{
                          {1'000, {{"a.example", 4}, {"b.example", 1}}}}));
  EXPECT_EQ(rows("recorded"), 5);
  EXPECT_EQ(rows("over_limit"), 2);
  // A new period starts with room again.
  recorder_->record(published("c.example"), row("192.0.2.1"), 1'100);
  EXPECT_EQ(stored().at(1'100), (std::map<std::string, std::uint64_t>{{"c.example", 1}}));
}

TEST_F(DmarcRecorderTest, NothingIsRecordedWhenOffOrWithoutRua) {
  auto no_rua = published("a.example");
  no_rua.record.rua.clear();
  recorder_->record(no_rua, row("192.0.2.1"), 1'000);
  config_.enabled = false;
  recorder_->configure(config_);
  EXPECT_FALSE(recorder_->enabled());
  recorder_->record(published("a.example"), row("192.0.2.1"), 1'000);
  EXPECT_TRUE(stored().empty());
  EXPECT_EQ(rows("recorded"), 0);
}

}  // namespace
}  // namespace mxgate::policy
