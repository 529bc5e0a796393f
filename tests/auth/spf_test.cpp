// check_host() over a scripted DNS: RFC 7208 Appendix A's zone and examples, the processing
// limits, DNS failures, include/redirect without records, explanations, both identities.
#include "auth/spf.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <set>

#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth::spf {
namespace {

namespace asio = boost::asio;
using dns::Outcome;
using dns::RecordType;
using dns::Response;

// A zone for FakeResolver: records by (name, type); a known name has NODATA for other types,
// an unknown one NXDOMAIN.
class Zone {
 public:
  explicit Zone(dns::testing::FakeResolver& dns) : dns_(dns) {}

  void txt(const std::string& name, const std::string& text) {
    add(name, RecordType::TXT, dns::TxtData{{text}});
  }
  void a(const std::string& name, const char* ip) {
    const auto address = *common::parse_ip(ip);
    add(name, address.family == 4 ? RecordType::A : RecordType::AAAA, address);
  }
  void mx(const std::string& name, std::uint16_t preference, const std::string& exchange) {
    add(name, RecordType::MX, dns::MxData{preference, exchange});
  }
  void ptr(const char* ip, const std::string& name) {
    add(dns::reverse_name(*common::parse_ip(ip)), RecordType::PTR, dns::NameData{name});
  }
  void fail(const std::string& name, RecordType type, Outcome outcome) {
    dns_.set(name, type, dns::testing::negative(outcome));
    failed_.insert({name, type});
  }

 private:
  void add(const std::string& name, RecordType type, dns::RData data) {
    auto& response = responses_[{name, type}];
    if (response.records.empty()) response = dns::make_response(Outcome::Answer);
    response.ttl = 300;
    response.records.push_back(dns::Record{name, type, 300, std::move(data)});
    dns_.set(name, type, response);
    for (RecordType other :
         {RecordType::A, RecordType::AAAA, RecordType::TXT, RecordType::MX, RecordType::PTR}) {
      if (!responses_.count({name, other}) && !failed_.count({name, other})) {
        dns_.set(name, other, dns::testing::negative(Outcome::NoData, 300));
      }
    }
  }
  dns::testing::FakeResolver& dns_;
  std::map<std::pair<std::string, RecordType>, Response> responses_;
  std::set<std::pair<std::string, RecordType>> failed_;
};

class Spf : public ::testing::Test {
 protected:
  // RFC 7208 Appendix A's zone data.
  void SetUp() override {
    zone_.mx("example.com", 10, "mail-a.example.com");
    zone_.mx("example.com", 20, "mail-b.example.com");
    zone_.a("example.com", "192.0.2.10");
    zone_.a("example.com", "192.0.2.11");
    zone_.a("amy.example.com", "192.0.2.65");
    zone_.a("bob.example.com", "192.0.2.66");
    zone_.a("mail-a.example.com", "192.0.2.129");
    zone_.a("mail-b.example.com", "192.0.2.130");
    zone_.mx("example.org", 10, "mail-c.example.org");
    zone_.a("mail-c.example.org", "192.0.2.140");
    zone_.ptr("192.0.2.10", "example.com");
    zone_.ptr("192.0.2.11", "example.com");
    zone_.ptr("192.0.2.65", "amy.example.com");
    zone_.ptr("192.0.2.66", "bob.example.com");
    zone_.ptr("192.0.2.129", "mail-a.example.com");
    zone_.ptr("192.0.2.130", "mail-b.example.com");
    zone_.ptr("192.0.2.140", "mail-c.example.org");
    zone_.ptr("10.0.0.4", "bob.example.com");
  }

  Evaluation mail_from(const char* ip, const std::string& sender, const char* helo = "mx.test") {
    return run(check_mail_from(dns_, Identity{*common::parse_ip(ip), helo, sender}, options_));
  }
  Evaluation helo(const char* ip, const char* name) {
    return run(check_helo(dns_, Identity{*common::parse_ip(ip), name, ""}, options_));
  }
  Evaluation run(asio::awaitable<Evaluation> evaluation) {
    Evaluation out;
    asio::co_spawn(io_, std::move(evaluation), [&](std::exception_ptr e, Evaluation result) {
      if (e) std::rethrow_exception(e);
      out = std::move(result);
    });
    io_.run();
    io_.restart();
    return out;
  }
  // The result of `record` published at example.com for a client at `ip`.
  Result with(const std::string& record, const char* ip) {
    dns_.set("example.com", RecordType::TXT, txt_answer(record));
    return mail_from(ip, "user@example.com").result;
  }
  static Response txt_answer(const std::string& text) {
    Response r = dns::make_response(Outcome::Answer);
    r.ttl = 300;
    r.records.push_back(dns::Record{"example.com", RecordType::TXT, 300, dns::TxtData{{text}}});
    return r;
  }

  asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
  Zone zone_{dns_};
  Options options_;
};

TEST_F(Spf, AppendixA1SimpleExamples) {
  EXPECT_EQ(with("v=spf1 +all", "198.51.100.1"), Result::Pass);
  EXPECT_EQ(with("v=spf1 a -all", "192.0.2.10"), Result::Pass);
  EXPECT_EQ(with("v=spf1 a -all", "192.0.2.11"), Result::Pass);
  EXPECT_EQ(with("v=spf1 a -all", "192.0.2.12"), Result::Fail);
  EXPECT_EQ(with("v=spf1 a:example.org -all", "192.0.2.10"), Result::Fail);
  EXPECT_EQ(with("v=spf1 mx -all", "192.0.2.129"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx -all", "192.0.2.130"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx -all", "192.0.2.10"), Result::Fail);
  EXPECT_EQ(with("v=spf1 mx:example.org -all", "192.0.2.140"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx mx:example.org -all", "192.0.2.130"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx mx:example.org -all", "192.0.2.140"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.144"), Result::Fail);
  EXPECT_EQ(with("v=spf1 ptr -all", "192.0.2.65"), Result::Pass);
  EXPECT_EQ(with("v=spf1 ptr -all", "192.0.2.140"), Result::Fail) << "under example.org";
  EXPECT_EQ(with("v=spf1 ptr -all", "10.0.0.4"), Result::Fail) << "PTR not forward-confirmed";
  EXPECT_EQ(with("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.143"), Result::Pass);
  EXPECT_EQ(with("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.144"), Result::Fail);
  EXPECT_EQ(with("v=spf1 ?all", "192.0.2.1"), Result::Neutral);
  EXPECT_EQ(with("v=spf1 ~all", "192.0.2.1"), Result::SoftFail);
  EXPECT_EQ(with("v=spf1 a", "192.0.2.1"), Result::Neutral) << "no match, no redirect";
}

TEST_F(Spf, AppendixA2MultipleDomains) {
  zone_.txt("example.org", "v=spf1 include:example.com include:example.net -all");
  dns_.set("example.com", RecordType::TXT, txt_answer("v=spf1 a -all"));
  EXPECT_EQ(mail_from("192.0.2.10", "user@example.org").result, Result::Pass);
  // example.net has no record: the include is a permerror once it is reached.
  const auto e = mail_from("192.0.2.99", "user@example.org");
  EXPECT_EQ(e.result, Result::PermError);
  EXPECT_NE(e.problem.find("example.net"), std::string::npos) << e.problem;
}

// RFC 7208 A.4: "all clients not in 192.0.2.0/24 and whose PTR does not resolve to
// example.com get fail" (De Morgan with -include and +all).
TEST_F(Spf, AppendixA4MultipleRequirements) {
  zone_.txt("example.org", "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all");
  zone_.txt("ip4._spf.example.org", "v=spf1 -ip4:192.0.2.0/24 +all");
  zone_.txt("ptr._spf.example.org", "v=spf1 -ptr:example.com +all");
  EXPECT_EQ(mail_from("192.0.2.65", "user@example.org").result, Result::Pass)
      << "in the /24 and amy.example.com";
  EXPECT_EQ(mail_from("192.0.2.140", "user@example.org").result, Result::Fail)
      << "in the /24 but mail-c.example.org";
  EXPECT_EQ(mail_from("198.51.100.1", "user@example.org").result, Result::Fail)
      << "outside the /24";
}

TEST_F(Spf, RedirectAndIncludeWithoutRecordsArePermerrors) {
  zone_.txt("a.example", "v=spf1 redirect=nothing.example");
  zone_.txt("b.example", "v=spf1 include:nothing.example -all");
  zone_.txt("c.example", "v=spf1 redirect=example.com");
  dns_.set("example.com", RecordType::TXT, txt_answer("v=spf1 a -all"));
  EXPECT_EQ(mail_from("192.0.2.10", "x@a.example").result, Result::PermError);
  EXPECT_EQ(mail_from("192.0.2.10", "x@b.example").result, Result::PermError);
  EXPECT_EQ(mail_from("192.0.2.10", "x@c.example").result, Result::Pass);
  EXPECT_EQ(mail_from("192.0.2.99", "x@c.example").result, Result::Fail);
}

TEST_F(Spf, NoneWhenThereIsNoRecordOrNoDomain) {
  EXPECT_EQ(mail_from("192.0.2.1", "x@nowhere.example").result, Result::None);
  EXPECT_EQ(mail_from("192.0.2.1", "x@amy.example.com").result, Result::None) << "NODATA";
  EXPECT_EQ(mail_from("192.0.2.1", "x@localhost").result, Result::None) << "single label";
  EXPECT_EQ(helo("192.0.2.1", "[192.0.2.1]").result, Result::None);
}

TEST_F(Spf, SeveralRecordsOrASyntaxErrorArePermerrors) {
  Response two = txt_answer("v=spf1 -all");
  two.records.push_back(
      dns::Record{"example.com", RecordType::TXT, 300, dns::TxtData{{"v=spf1 +all"}}});
  two.records.push_back(dns::Record{"example.com", RecordType::TXT, 300,
                                    dns::TxtData{{"google-site-verification=x"}}});
  dns_.set("example.com", RecordType::TXT, two);
  EXPECT_EQ(mail_from("192.0.2.1", "u@example.com").result, Result::PermError);
  EXPECT_EQ(with("v=spf1 a:bad_domain -all", "192.0.2.1"), Result::PermError);
  EXPECT_EQ(with("v=spf1 ip4:1.2.3.4 bogus -all", "1.2.3.4"), Result::PermError)
      << "a syntax error anywhere refuses the record, even after a match";
}

TEST_F(Spf, DnsFailuresAreTemperrors) {
  zone_.fail("broken.example", RecordType::TXT, Outcome::ServFail);
  EXPECT_EQ(mail_from("192.0.2.1", "u@broken.example").result, Result::TempError);
  zone_.fail("slow.example", RecordType::A, Outcome::Timeout);
  EXPECT_EQ(with("v=spf1 a:slow.example -all", "192.0.2.1"), Result::TempError);
  zone_.fail("slow.example", RecordType::MX, Outcome::Timeout);
  EXPECT_EQ(with("v=spf1 mx:slow.example -all", "192.0.2.1"), Result::TempError);
  zone_.txt("inc.example", "v=spf1 include:broken.example -all");
  EXPECT_EQ(mail_from("192.0.2.1", "u@inc.example").result, Result::TempError);
  // A PTR lookup that fails only makes ptr not match.
  zone_.fail(dns::reverse_name(*common::parse_ip("192.0.2.77")), RecordType::PTR,
             Outcome::ServFail);
  EXPECT_EQ(with("v=spf1 ptr -all", "192.0.2.77"), Result::Fail);
}

TEST_F(Spf, TenDnsTermsAtMost) {
  std::string ten = "v=spf1";
  for (int i = 0; i < 10; ++i) ten += " a:amy.example.com";
  EXPECT_EQ(with(ten + " -all", "192.0.2.1"), Result::Fail);
  EXPECT_EQ(with(ten + " a:bob.example.com -all", "192.0.2.1"), Result::PermError);
  EXPECT_EQ(with(ten + " ip4:192.0.2.1 -all", "192.0.2.1"), Result::Pass)
      << "ip4 and all query nothing";
  // Nested includes count too.
  zone_.txt("loop.example", "v=spf1 include:loop.example -all");
  EXPECT_EQ(mail_from("192.0.2.1", "u@loop.example").result, Result::PermError);
  zone_.txt("self.example", "v=spf1 redirect=self.example");
  EXPECT_EQ(mail_from("192.0.2.1", "u@self.example").result, Result::PermError);
}

TEST_F(Spf, TwoVoidLookupsAtMost) {
  EXPECT_EQ(with("v=spf1 a:n1.example a:n2.example -all", "192.0.2.1"), Result::Fail);
  EXPECT_EQ(with("v=spf1 a:n1.example a:n2.example a:n3.example -all", "192.0.2.1"),
            Result::PermError);
  EXPECT_EQ(with("v=spf1 exists:n1.example exists:amy.example.com -all", "192.0.2.1"), Result::Pass)
      << "one void lookup, then amy.example.com has an A record (any address matches)";
  EXPECT_EQ(with("v=spf1 -exists:amy.example.com +all", "192.0.2.1"), Result::Fail);
}

TEST_F(Spf, TenMxNamesAtMost) {
  for (int i = 0; i < 11; ++i) {
    zone_.mx("many.example", static_cast<std::uint16_t>(i), "mail-a.example.com");
  }
  EXPECT_EQ(with("v=spf1 mx:many.example -all", "192.0.2.129"), Result::PermError);
}

TEST_F(Spf, ExplanationOfAFail) {
  zone_.txt("explain.example.com", "%{i} is not one of %{d}'s designated mail servers.");
  dns_.set("example.com", RecordType::TXT, txt_answer("v=spf1 a -all exp=explain.%{d}"));
  const auto e = mail_from("192.0.2.99", "u@example.com");
  EXPECT_EQ(e.result, Result::Fail);
  EXPECT_EQ(e.mechanism, "-all");
  EXPECT_EQ(e.explanation, "192.0.2.99 is not one of example.com's designated mail servers.");
  EXPECT_TRUE(mail_from("192.0.2.10", "u@example.com").explanation.empty());
}

TEST_F(Spf, IdentitiesAndMacros) {
  zone_.txt("mx.test", "v=spf1 ip4:192.0.2.200 -all");
  EXPECT_EQ(helo("192.0.2.200", "mx.test").result, Result::Pass);
  EXPECT_EQ(helo("192.0.2.201", "mx.test").result, Result::Fail);
  // The null sender is checked as postmaster@HELO.
  EXPECT_EQ(mail_from("192.0.2.200", "", "mx.test").result, Result::Pass);
  EXPECT_EQ(mail_from("192.0.2.200", "", "mx.test").domain, "mx.test");
  // exists with the local part, reversed client address and the sender domain.
  zone_.a("strong.lp.3.2.0.192.in-addr._spf.example.org", "127.0.0.2");
  zone_.txt("example.org", "v=spf1 exists:%{l1r-}.lp.%{ir}.%{v}._spf.%{d} -all");
  EXPECT_EQ(mail_from("192.0.2.3", "strong-bad@example.org").result, Result::Pass);
  EXPECT_EQ(mail_from("192.0.2.4", "strong-bad@example.org").result, Result::Fail);
}

TEST_F(Spf, Ipv6Clients) {
  zone_.a("v6.example", "2001:db8::25");
  zone_.txt("six.example", "v=spf1 ip6:2001:db8:1::/48 a:v6.example//64 -all");
  EXPECT_EQ(mail_from("2001:db8:1::7", "u@six.example").result, Result::Pass);
  EXPECT_EQ(mail_from("2001:db8::99", "u@six.example").result, Result::Pass) << "a//64";
  EXPECT_EQ(mail_from("2001:db8:2::1", "u@six.example").result, Result::Fail);
  EXPECT_EQ(mail_from("192.0.2.1", "u@six.example").result, Result::Fail)
      << "an IPv4 client never matches ip6";
}

// RFC 7208 §5: "IPv4 <ip> addresses are only listed in an SPF record using the ip4 mechanism";
// a client whose address is IPv4-mapped (::ffff:192.0.2.10, as an IPv6 socket reports an IPv4
// peer) is an IPv4 client: it matches ip4, a and mx by their A records, never ip6.
TEST_F(Spf, AnIpv4MappedClientIsAnIpv4Client) {
  common::IpBytes mapped;
  mapped.family = 6;
  mapped.bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10};
  const auto check = [&](const std::string& record) {
    dns_.set("example.com", RecordType::TXT, txt_answer(record));
    return run(check_mail_from(dns_, Identity{mapped, "mx.test", "u@example.com"}, options_))
        .result;
  };
  const struct {
    const char* record;
    Result result;
  } cases[] = {
      {"v=spf1 ip4:192.0.2.0/24 -all", Result::Pass},
      {"v=spf1 a -all", Result::Pass},                                 // A records, not AAAA
      {"v=spf1 -ip4:192.0.2.10 ip6:::FFFF:192.0.2.10", Result::Fail},  // test suite's e7
      {"v=spf1 ip6:::ffff:192.0.2.0/120 -all", Result::Fail},          // ip6 never lists IPv4
      {"v=spf1 ip6:::/0 ?all", Result::Neutral},
  };
  zone_.a("10.2.0.192.in-addr.in.example.org", "127.0.0.2");
  EXPECT_EQ(check("v=spf1 exists:%{ir}.%{v}.in.example.org -all"), Result::Pass)
      << "%{i} and %{v} of the IPv4 address";
  for (const auto& c : cases) {
    EXPECT_EQ(check(c.record), c.result) << c.record;
  }
}

// §7.1: domain-specs hold any visible character but "%"; the CIDR lengths are split off before
// the macros are expanded, so a "/" that an expansion brings is part of the name looked up.
TEST_F(Spf, DomainSpecsWithColonsAndSlashesAreLookedUpAsWritten) {
  zone_.a("foo:bar/baz.example.com", "192.0.2.77");
  zone_.mx("mx:list/x.example.com", 10, "foo:bar/baz.example.com");
  EXPECT_EQ(with("v=spf1 a:foo:bar/baz.example.com -all", "192.0.2.77"), Result::Pass);
  EXPECT_EQ(with("v=spf1 a:foo:bar/baz.example.com/24 -all", "192.0.2.200"), Result::Pass);
  EXPECT_EQ(with("v=spf1 mx:mx:list/x.example.com -all", "192.0.2.77"), Result::Pass);
  zone_.a("a/24.lp.example.org", "192.0.2.80");
  zone_.txt("example.org", "v=spf1 a:%{l}.lp.%{d}/30 -all");
  EXPECT_EQ(mail_from("192.0.2.81", "a/24@example.org").result, Result::Pass)
      << "the local-part's \"/24\" is part of the name; the record's /30 is the length";
  EXPECT_EQ(mail_from("192.0.2.85", "a/24@example.org").result, Result::Fail);
}

// A trailing dot on a domain is not part of <domain> (test suite "trailing-dot-domain"): the
// macros of a record reached through "redirect=%{d}.d.example." see the name without it.
TEST_F(Spf, ATrailingDotIsNotPartOfTheDomain) {
  zone_.txt("example.org", "v=spf1 redirect=%{d}.d.example.com.");
  zone_.txt("example.org.d.example.com", "v=spf1 exists:%{d2}.ok.example.com -all");
  zone_.a("example.com.ok.example.com", "127.0.0.2");
  EXPECT_EQ(mail_from("192.0.2.1", "u@example.org").result, Result::Pass);
}

}  // namespace
}  // namespace mxgate::auth::spf
