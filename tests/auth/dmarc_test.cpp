// DMARC (RFC 7489): record syntax, organizational domains from the Public Suffix List,
// alignment, evaluation, and policy discovery over a scripted DNS.
#include "auth/dmarc.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth::dmarc {
namespace {

namespace asio = boost::asio;

TEST(Dmarc, RecordSelection) {
  EXPECT_TRUE(is_dmarc_record("v=DMARC1; p=reject"));
  EXPECT_TRUE(is_dmarc_record("v = DMARC1 ;p=none"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
  EXPECT_FALSE(is_dmarc_record("p=reject; v=DMARC1")) << "v must come first (§6.4)";
  EXPECT_FALSE(is_dmarc_record("v=DMARC10; p=reject"));
  EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
  EXPECT_FALSE(is_dmarc_record("v=dmarc1; p=reject"));
}

TEST(Dmarc, RecordTags) {
  const auto parsed = parse_record(
      "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=25; "
      "rua=mailto:agg@example.com, mailto:dmarc@example.net; ruf=mailto:f@example.com; "
      "fo=1; future=ignored");
  ASSERT_TRUE(parsed.record) << parsed.error;
  const Record& r = *parsed.record;
  EXPECT_EQ(r.p, Policy::Quarantine);
  EXPECT_EQ(r.sp, Policy::Reject);
  EXPECT_EQ(r.adkim, Alignment::Strict);
  EXPECT_EQ(r.aspf, Alignment::Relaxed);
  EXPECT_EQ(r.pct, 25);
  EXPECT_EQ(r.rua, (std::vector<std::string>{"mailto:agg@example.com", "mailto:dmarc@example.net"}));
  EXPECT_EQ(r.fo, "1");

  const auto defaults = parse_record("v=DMARC1; p=reject");
  ASSERT_TRUE(defaults.record);
  EXPECT_FALSE(defaults.record->sp);
  EXPECT_EQ(defaults.record->adkim, Alignment::Relaxed);
  EXPECT_EQ(defaults.record->pct, 100);
  EXPECT_EQ(defaults.record->fo, "0");
}

// §6.3 fo=: a colon-separated list of 0, 1, d and s; anything else leaves the default.
TEST(Dmarc, FailureOptions) {
  const auto fo = [](std::string_view tag) {
    const auto parsed = parse_record("v=DMARC1; p=none; " + std::string(tag));
    return parsed.record ? parsed.record->fo : "(no record)";
  };
  EXPECT_EQ(fo("fo=0:1:d:s"), "0:1:d:s");
  EXPECT_EQ(fo("fo= D : S "), "d:s");
  EXPECT_EQ(fo("fo=1:x"), "0");
  EXPECT_EQ(fo("fo="), "0");
  EXPECT_EQ(fo("fo=1::d"), "0");
}

TEST(Dmarc, InvalidRecords) {
  EXPECT_FALSE(parse_record("v=DMARC1").record) << "no p=";
  EXPECT_FALSE(parse_record("v=DMARC1; p=block").record);
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject; pct=101").record);
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject; adkim=x").record);
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject; p=none").record) << "a tag twice";
  // §6.6.3: without a valid p= but with rua=, the record reads as p=none.
  const auto lenient = parse_record("v=DMARC1; p=bogus; rua=mailto:a@example.com");
  ASSERT_TRUE(lenient.record);
  EXPECT_EQ(lenient.record->p, Policy::None);
}

TEST(Dmarc, OrganizationalDomainsAndAlignment) {
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("Example.COM."), "example.com");
  EXPECT_TRUE(aligned("bounce.example.com", "example.com", Alignment::Relaxed));
  EXPECT_FALSE(aligned("bounce.example.com", "example.com", Alignment::Strict));
  EXPECT_TRUE(aligned("EXAMPLE.com", "example.com.", Alignment::Strict));
  EXPECT_FALSE(aligned("example.co.uk", "other.co.uk", Alignment::Relaxed))
      << "a public suffix is not an organization";
  EXPECT_FALSE(aligned("", "example.com", Alignment::Relaxed));
}

TEST(Dmarc, Evaluation) {
  Record record;
  record.p = Policy::Reject;
  record.sp = Policy::Quarantine;
  Inputs in;
  in.from_domain = "example.com";
  in.spf_pass = true;
  in.spf_domain = "bounces.example.com";
  auto e = evaluate(record, "example.com", in);
  EXPECT_EQ(e.result, Result::Pass);
  EXPECT_TRUE(e.spf_aligned);
  EXPECT_EQ(e.policy, Policy::Reject);

  record.aspf = Alignment::Strict;
  e = evaluate(record, "example.com", in);
  EXPECT_EQ(e.result, Result::Fail) << "SPF passed for a different name under strict alignment";
  in.dkim_passes = {{"esp.example.net"}, {"mail.example.com"}};
  e = evaluate(record, "example.com", in);
  EXPECT_EQ(e.result, Result::Pass);
  EXPECT_TRUE(e.dkim_aligned);
  EXPECT_FALSE(e.spf_aligned);

  Inputs sub;
  sub.from_domain = "news.example.com";
  sub.dkim_passes = {{"esp.example.net"}};
  e = evaluate(record, "example.com", sub);
  EXPECT_EQ(e.result, Result::Fail);
  EXPECT_EQ(e.policy, Policy::Quarantine) << "sp= applies to a subdomain's mail";
}

class DmarcDiscovery : public ::testing::Test {
 protected:
  Discovery discover(const char* domain, PolicyLookup lookup = PolicyLookup::PublicSuffixList) {
    Discovery out;
    asio::co_spawn(io_, discover_policy(dns_, domain, lookup), [&](std::exception_ptr e, Discovery d) {
      if (e) std::rethrow_exception(e);
      out = std::move(d);
    });
    io_.run();
    io_.restart();
    return out;
  }
  void txt(const char* name, std::initializer_list<const char*> texts) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.ttl = 300;
    for (const char* text : texts) {
      r.records.push_back(dns::Record{name, dns::RecordType::TXT, 300, dns::TxtData{{text}}});
    }
    dns_.set(name, dns::RecordType::TXT, r);
  }
  asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
};

TEST_F(DmarcDiscovery, FromDomainThenOrganizationalDomain) {
  txt("_dmarc.example.com", {"v=DMARC1; p=reject", "unrelated text"});
  txt("_dmarc.news.example.com", {"v=DMARC1; p=none"});
  auto d = discover("news.example.com");
  ASSERT_EQ(d.result, Result::Pass);
  EXPECT_EQ(d.domain, "news.example.com");
  EXPECT_EQ(d.record->p, Policy::None);
  d = discover("Shop.Example.COM");
  ASSERT_EQ(d.result, Result::Pass);
  EXPECT_EQ(d.domain, "example.com");
  EXPECT_EQ(d.record->p, Policy::Reject);
  EXPECT_EQ(discover("example.org").result, Result::None);
}

TEST_F(DmarcDiscovery, SeveralRecordsOrFailures) {
  txt("_dmarc.two.example", {"v=DMARC1; p=reject", "v=DMARC1; p=none"});
  EXPECT_EQ(discover("two.example").result, Result::None) << "§6.6.3: several records: none";
  dns_.set("_dmarc.broken.example", dns::RecordType::TXT,
           dns::testing::negative(dns::Outcome::ServFail));
  EXPECT_EQ(discover("broken.example").result, Result::TempError);
}

TEST(DmarcTreeWalk, TargetsNearestFirstLongNamesCutToSevenLabels) {
  EXPECT_EQ(tree_walk_targets("a.b.example.com"),
            (std::vector<std::string>{"b.example.com", "example.com", "com"}));
  EXPECT_TRUE(tree_walk_targets("com").empty());
  EXPECT_EQ(tree_walk_targets("1.2.3.4.5.6.7.8.9.example"),
            (std::vector<std::string>{"4.5.6.7.8.9.example", "5.6.7.8.9.example",
                                      "6.7.8.9.example", "7.8.9.example", "8.9.example",
                                      "9.example", "example"}));
}

TEST_F(DmarcDiscovery, TreeWalkFindsTheNearestAncestorThePslWouldSkip) {
  // The list makes example.co.uk the organizational domain; a record at a level between it and
  // the From domain is found only by the walk.
  txt("_dmarc.dept.example.co.uk", {"v=DMARC1; p=quarantine"});
  auto walked = discover("mail.dept.example.co.uk", PolicyLookup::TreeWalk);
  ASSERT_EQ(walked.result, Result::Pass);
  EXPECT_EQ(walked.domain, "dept.example.co.uk");
  EXPECT_EQ(walked.record->p, Policy::Quarantine);
  EXPECT_EQ(discover("mail.dept.example.co.uk").result, Result::None);
  txt("_dmarc.bank", {"v=DMARC1; p=reject"});  // a public suffix's own policy (PSD DMARC)
  walked = discover("login.example.bank", PolicyLookup::TreeWalk);
  ASSERT_EQ(walked.result, Result::Pass);
  EXPECT_EQ(walked.domain, "bank");
}

}  // namespace
}  // namespace mxgate::auth::dmarc
