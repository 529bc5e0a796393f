#include "postmaster/dmarc_reporter.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "common/gzip.hpp"
#include "storage/dmarc_rows.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::postmaster {
namespace {

namespace asio = boost::asio;
namespace dr = auth::dmarc_report;
using storage::DmarcEntry;

constexpr std::int64_t kBegin = 86'400 * 20'000;
constexpr std::int64_t kEnd = kBegin + 86'400;

dr::Published published(std::string domain, std::vector<std::string> rua) {
  dr::Published p;
  p.domain = std::move(domain);
  p.record.p = auth::dmarc::Policy::Quarantine;
  p.record.rua = std::move(rua);
  return p;
}

dr::Row row(std::string ip) {
  dr::Row r;
  r.source_ip = std::move(ip);
  r.header_from = "example.com";
  r.envelope_from = "example.com";
  r.spf = {"example.com", "mfrom", "pass"};
  r.spf_aligned = true;
  return r;
}

class DmarcReporterTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-dmarc-reporter-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    storage::StoreOptions options;
    options.block_cache_bytes = 1 << 20;
    options.record_cache_bytes = 0;
    store_ = storage::ReputationStore::open(dir_, options);
    config_.server.hostname = "mx.example.net";
    config_.dmarc_reports.org_name = "Example Receiver";
    config_.dmarc_reports.from = "noreply-dmarc@mx.example.net";
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void add(std::int64_t begin, const dr::Published& p, const dr::Row& r, std::uint64_t count) {
    ASSERT_FALSE(store_->add_dmarc(storage::dmarc_key(begin, p.domain, DmarcEntry::Policy),
                                   dr::encode_published(p), DmarcEntry::Policy));
    ASSERT_FALSE(store_->add_dmarc(
        storage::dmarc_key(begin, p.domain, DmarcEntry::Row, dr::encode_row(r)),
        storage::encode_count(count), DmarcEntry::Row));
    ASSERT_FALSE(store_->flush());
  }

  std::vector<Delivery> deliveries(const PlannedReport& report) {
    std::vector<Delivery> out;
    asio::co_spawn(io_, plan_deliveries(dns_, report, config_.dmarc_reports),
                   [&](std::exception_ptr e, std::vector<Delivery> d) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(d);
                   });
    io_.run();
    io_.restart();
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::ReputationStore> store_;
  conf::Config config_;
  asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
};

TEST_F(DmarcReporterTest, OneReportPerDomainMostFrequentRowsFirstWithinTheRowLimit) {
  const auto example = published("example.com", {"mailto:dmarc@example.com"});
  add(kBegin, example, row("192.0.2.1"), 1);
  add(kBegin, example, row("192.0.2.2"), 5);
  add(kBegin, example, row("192.0.2.3"), 2);
  add(kBegin, published("other.example", {"mailto:d@other.example"}), row("192.0.2.9"), 1);
  add(kEnd, example, row("192.0.2.1"), 7);  // the next period
  EXPECT_EQ(recorded_periods(*store_), (std::vector<std::int64_t>{kBegin, kEnd}));
  config_.dmarc_reports.max_rows_per_domain = 2;
  const auto reports = plan_reports(*store_, kBegin, kEnd, config_);
  ASSERT_EQ(reports.size(), 2u);
  const auto& report = reports[0];
  EXPECT_EQ(report.published, example);
  ASSERT_EQ(report.rows.size(), 2u);
  EXPECT_EQ(report.rows[0].row.source_ip, "192.0.2.2");
  EXPECT_EQ(report.rows[0].count, 5u);
  EXPECT_EQ(report.rows[1].row.source_ip, "192.0.2.3");
  EXPECT_EQ(report.messages, 7u);
  EXPECT_EQ(report.metadata.errors,
            std::vector<std::string>{"1 rows (1 messages) left out: more than 2 rows"});
  EXPECT_EQ(report.metadata.org_name, "Example Receiver");
  EXPECT_EQ(report.metadata.email, "noreply-dmarc@mx.example.net");
  EXPECT_EQ(report.metadata.begin, kBegin);
  EXPECT_EQ(report.metadata.end, kEnd - 1);
  EXPECT_EQ(common::gunzip(report.gzipped, 1 << 20), report.xml);
  EXPECT_NE(report.xml.find("<error>1 rows (1 messages) left out"), std::string::npos);
  EXPECT_EQ(reports[1].published.domain, "other.example");
  ASSERT_FALSE(store_->erase_dmarc_before(kBegin + 1));
  EXPECT_EQ(recorded_periods(*store_), std::vector<std::int64_t>{kEnd});
}

TEST_F(DmarcReporterTest, ADomainWithoutItsPolicyEntryIsNotReported) {
  ASSERT_FALSE(store_->add_dmarc(
      storage::dmarc_key(kBegin, "example.com", DmarcEntry::Row, dr::encode_row(row("192.0.2.1"))),
      storage::encode_count(1), DmarcEntry::Row));
  ASSERT_FALSE(store_->flush());
  EXPECT_TRUE(plan_reports(*store_, kBegin, kEnd, config_).empty());
}

TEST_F(DmarcReporterTest, DeliveriesFollowTheExternalCheckAndTheSizeLimits) {
  add(kBegin,
      published("example.com",
                {"mailto:dmarc@example.com", "https://reports.example.net/", "mailto:dmarc@example.com",
                 "mailto:tiny@example.com!10", "mailto:agg@collector.example"}),
      row("192.0.2.1"), 1);
  auto reports = plan_reports(*store_, kBegin, kEnd, config_);
  ASSERT_EQ(reports.size(), 1u);
  auto out = deliveries(reports[0]);
  using O = Delivery::Outcome;
  // At most kMaxReportUris URIs are looked at: the collector is the fifth.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].outcome, O::Queue);
  EXPECT_EQ(out[0].address, "dmarc@example.com");
  EXPECT_EQ(out[1].outcome, O::BadUri);
  EXPECT_EQ(out[2].outcome, O::TooLarge);  // the repeated address counted once
  EXPECT_EQ(out[2].address, "tiny@example.com");

  reports[0].published.record.rua = {"mailto:agg@collector.example",
                                     "mailto:agg@refusing.example"};
  dns::Response allowed = dns::make_response(dns::Outcome::Answer);
  allowed.records.push_back(dns::Record{"example.com._report._dmarc.collector.example",
                                        dns::RecordType::TXT, 300, dns::TxtData{{"v=DMARC1"}}});
  dns_.set("example.com._report._dmarc.collector.example", dns::RecordType::TXT, allowed);
  config_.dmarc_reports.max_report_size = reports[0].gzipped.size();
  out = deliveries(reports[0]);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].outcome, O::Queue);
  EXPECT_EQ(out[0].why, "authorized by example.com._report._dmarc.collector.example");
  EXPECT_EQ(out[1].outcome, O::Unauthorized);
  config_.dmarc_reports.max_report_size = reports[0].gzipped.size() - 1;
  EXPECT_EQ(deliveries(reports[0])[0].outcome, O::TooLarge);
  dns_.set("example.com._report._dmarc.collector.example", dns::RecordType::TXT,
           dns::make_response(dns::Outcome::Error));
  EXPECT_EQ(deliveries(reports[0])[0].outcome, O::DnsError);
}

}  // namespace
}  // namespace mxgate::postmaster
