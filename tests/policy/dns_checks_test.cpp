// The DNS checks against a scripted resolver: rDNS (missing, mismatch, generic, confirmed),
// HELO, sender domain (MX, implicit MX, null MX, NXDOMAIN, failures) and DNSBL zones (listed,
// filtered out, error answers, allow lists, failures). Every check runs through a
// CachingResolver, and run() also asks its `now` path before (nothing cached: it may only
// answer when no lookup is needed) and after (warm: it must give what the lookups gave).
#include "policy/dns_checks.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"
#include "dns/caching_resolver.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::policy {
namespace {

namespace asio = boost::asio;
using dns::Outcome;
using dns::RecordType;
using dns::Response;
using dns::testing::a_answer;
using dns::testing::FakeResolver;
using dns::testing::negative;
using reputation::Action;
using reputation::Signal;

Response names(RecordType type, std::initializer_list<const char*> targets) {
  Response r = dns::make_response(Outcome::Answer);
  r.ttl = 300;
  for (const char* target : targets) {
    r.records.push_back(dns::Record{"fake", type, 300, dns::NameData{target}});
  }
  return r;
}

Response mx(std::uint16_t preference, const char* exchange) {
  Response r = dns::make_response(Outcome::Answer);
  r.ttl = 300;
  r.records.push_back(dns::Record{"fake", RecordType::MX, 300, dns::MxData{preference, exchange}});
  return r;
}

reputation::CheckSettings settings(const char* name) {
  for (auto& s : reputation::default_check_settings()) {
    if (s.name == name) return s;
  }
  throw std::logic_error("no such check");
}

void expect_same(const CheckResult& now, const CheckResult& fetched) {
  EXPECT_EQ(now.error, fetched.error);
  EXPECT_EQ(now.error_text, fetched.error_text);
  ASSERT_EQ(now.verdicts.size(), fetched.verdicts.size());
  for (std::size_t i = 0; i < now.verdicts.size(); ++i) {
    EXPECT_EQ(now.verdicts[i].signal, fetched.verdicts[i].signal);
    EXPECT_EQ(now.verdicts[i].action, fetched.verdicts[i].action);
    EXPECT_EQ(now.verdicts[i].score, fetched.verdicts[i].score);
    EXPECT_EQ(now.verdicts[i].reason, fetched.verdicts[i].reason);
  }
}

class DnsChecks : public ::testing::Test {
 protected:
  // compare_now = false: a test of metrics counts each evaluation, so it runs only the lookups.
  CheckResult run(PendingCheck check, bool compare_now = true) {
    const auto cold = compare_now ? check.now() : std::nullopt;
    CheckResult out;
    asio::co_spawn(io_, check.run(), [&](std::exception_ptr e, CheckResult result) {
      if (e) std::rethrow_exception(e);
      out = std::move(result);
    });
    io_.run();
    io_.restart();
    if (cold) expect_same(*cold, out);
    // Warm: what was looked up is cached (unless its answer may not be cached: no TTL).
    if (const auto warm = compare_now ? check.now() : std::nullopt) {
      expect_same(*warm, out);
      ++answered_now_;
    }
    return out;
  }
  static common::IpBytes ip(const char* text) { return *common::parse_ip(text); }

  asio::io_context io_;
  FakeResolver dns_{io_.get_executor()};
  common::ManualClock clock_;
  dns::CachingResolver cache_{dns_, clock_, dns::CacheSettings{}};
  int answered_now_ = 0;
};

TEST_F(DnsChecks, RdnsForwardConfirmedIsSilentAndRemembersTheName) {
  dns_.set("25.2.0.192.in-addr.arpa", RecordType::PTR,
           names(RecordType::PTR, {"mail.example.test"}));
  dns_.set("mail.example.test", RecordType::A, a_answer(300, {"192.0.2.25"}));
  auto facts = std::make_shared<DnsFacts>();
  const auto r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.25"), facts));
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.verdicts.empty());
  EXPECT_EQ(facts->confirmed_name, "mail.example.test");
}

TEST_F(DnsChecks, WarmChecksAnswerWithoutLookups) {
  dns_.set("25.2.0.192.in-addr.arpa", RecordType::PTR,
           names(RecordType::PTR, {"mail.example.test"}));
  dns_.set("mail.example.test", RecordType::A, a_answer(300, {"192.0.2.25"}));
  dns_.set("example.test", RecordType::MX, mx(10, "mail.example.test"));
  auto rdns = rdns_check(cache_, settings("rdns"), ip("192.0.2.25"), std::make_shared<DnsFacts>());
  EXPECT_FALSE(rdns.now()) << "nothing cached yet";
  run(rdns_check(cache_, settings("rdns"), ip("192.0.2.25"), std::make_shared<DnsFacts>()));
  run(sender_domain_dns_check(cache_, settings("sender_domain"), "example.test"));
  EXPECT_EQ(answered_now_, 2);
  const auto asked = dns_.calls();
  auto facts = std::make_shared<DnsFacts>();
  const auto now = rdns_check(cache_, settings("rdns"), ip("192.0.2.25"), facts).now();
  ASSERT_TRUE(now);
  EXPECT_TRUE(now->verdicts.empty());
  EXPECT_EQ(facts->confirmed_name, "mail.example.test");
  EXPECT_EQ(dns_.calls(), asked) << "answered from the cache";
}

TEST_F(DnsChecks, RdnsMissingMismatchAndGeneric) {
  auto facts = std::make_shared<DnsFacts>();
  auto r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.50"), facts));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::RdnsMissing);
  EXPECT_EQ(r.verdicts[0].score, 3);

  dns_.set("7.2.0.192.in-addr.arpa", RecordType::PTR,
           names(RecordType::PTR, {"liar.example.test"}));
  dns_.set("liar.example.test", RecordType::A, a_answer(300, {"192.0.2.200"}));
  r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.7"), std::make_shared<DnsFacts>()));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::RdnsMismatch);

  dns_.set("99.2.0.192.in-addr.arpa", RecordType::PTR,
           names(RecordType::PTR, {"99-2-0-192.dyn.example.test"}));
  dns_.set("99-2-0-192.dyn.example.test", RecordType::A, a_answer(300, {"192.0.2.99"}));
  r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.99"), std::make_shared<DnsFacts>()));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::RdnsGeneric);
}

TEST_F(DnsChecks, RdnsFailuresAreErrorsNotSignals) {
  dns_.set("8.2.0.192.in-addr.arpa", RecordType::PTR, negative(Outcome::Timeout));
  auto r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.8"), std::make_shared<DnsFacts>()));
  EXPECT_TRUE(r.error);
  EXPECT_TRUE(r.verdicts.empty());
  // A PTR whose forward lookup fails proves nothing either.
  dns_.set("9.2.0.192.in-addr.arpa", RecordType::PTR, names(RecordType::PTR, {"x.example.test"}));
  dns_.set("x.example.test", RecordType::A, negative(Outcome::ServFail));
  r = run(rdns_check(cache_, settings("rdns"), ip("192.0.2.9"), std::make_shared<DnsFacts>()));
  EXPECT_TRUE(r.error);
}

TEST_F(DnsChecks, HeloMatchesPtrOrAddressAndOnlyScores) {
  auto facts = std::make_shared<DnsFacts>();
  facts->confirmed_name = "out3.example.test";
  auto r = run(helo_check(cache_, settings("helo"), "mail.example.test", ip("192.0.2.25"),
                          "mx.example.net", facts));
  EXPECT_TRUE(r.verdicts.empty()) << "same parent domain as the PTR name";

  dns_.set("other.example.org", RecordType::A, a_answer(300, {"192.0.2.25"}));
  r = run(helo_check(cache_, settings("helo"), "other.example.org", ip("192.0.2.25"),
                     "mx.example.net", std::make_shared<DnsFacts>()));
  EXPECT_TRUE(r.verdicts.empty()) << "resolves to the client";

  r = run(helo_check(cache_, settings("helo"), "nowhere.example.org", ip("192.0.2.25"),
                     "mx.example.net", facts));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::HeloMismatch);
  EXPECT_EQ(r.verdicts[0].action, Action::Continue) << "RFC 5321 §4.1.4: never a reject";

  r = run(
      helo_check(cache_, settings("helo"), "localhost", ip("192.0.2.25"), "mx.example.net", facts));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::HeloInvalid);
  EXPECT_EQ(r.verdicts[0].score, 3);
}

TEST_F(DnsChecks, SenderDomainOutcomes) {
  dns_.set("example.test", RecordType::MX, mx(10, "mail.example.test"));
  EXPECT_TRUE(run(sender_domain_dns_check(cache_, settings("sender_domain"), "example.test"))
                  .verdicts.empty());

  dns_.set("nomail.example.test", RecordType::MX, mx(0, "."));
  auto r = run(sender_domain_dns_check(cache_, settings("sender_domain"), "nomail.example.test"));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::SenderDomainNullMx);
  EXPECT_EQ(r.verdicts[0].action, Action::Reject);

  r = run(sender_domain_dns_check(cache_, settings("sender_domain"), "gone.example.test"));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::SenderDomainInvalid);
  EXPECT_EQ(r.verdicts[0].action, Action::Reject);

  // No MX but an address: the implicit MX (RFC 5321 §5.1).
  dns_.set("host.example.test", RecordType::MX, negative(Outcome::NoData, 60));
  dns_.set("host.example.test", RecordType::A, a_answer(300, {"192.0.2.30"}));
  EXPECT_TRUE(run(sender_domain_dns_check(cache_, settings("sender_domain"), "host.example.test"))
                  .verdicts.empty());

  dns_.set("slow.example.test", RecordType::MX, negative(Outcome::Timeout));
  r = run(sender_domain_dns_check(cache_, settings("sender_domain"), "slow.example.test"));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].action, Action::Defer) << "a failed lookup is never a 5xx";
}

TEST_F(DnsChecks, DnsblZones) {
  prometheus::Registry registry;
  DnsblMonitor monitor(registry);
  conf::DnsblConfig bl;
  bl.zone = "bl.example";
  bl.returns = {"127.0.0.[2..11]"};
  bl.weight = 4;
  conf::DnsblConfig wl;
  wl.zone = "wl.example";
  wl.weight = -5;
  auto zones = make_dnsbl_zones({bl, wl}, monitor);
  dns_.set("2.0.0.127.bl.example", RecordType::A, a_answer(60, {"127.0.0.2"}));
  dns_.set("3.0.0.127.bl.example", RecordType::A, a_answer(60, {"127.0.0.200"}));
  dns_.set("4.0.0.127.bl.example", RecordType::A, a_answer(60, {"127.255.255.254"}));
  dns_.set("5.0.0.127.bl.example", RecordType::A, negative(Outcome::ServFail));
  dns_.set("2.0.0.127.wl.example", RecordType::A, a_answer(60, {"127.0.10.1"}));
  auto check = [&](const std::shared_ptr<const DnsblZone>& zone, const char* address) {
    return dnsbl_zone_check(cache_, settings("dnsbl"), zone,
                            reputation::dnsbl_query_name(ip(address), zone->config.zone));
  };
  auto query = [&](const std::shared_ptr<const DnsblZone>& zone, const char* address) {
    return run(check(zone, address), false);
  };
  auto r = query(zones[0], "127.0.0.2");
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::DnsblListed);
  EXPECT_EQ(r.verdicts[0].score, 4);
  EXPECT_TRUE(query(zones[0], "127.0.0.3").verdicts.empty()) << "outside the return filter";
  EXPECT_TRUE(query(zones[0], "127.0.0.4").verdicts.empty()) << "an error code is no listing";
  EXPECT_EQ(zones[0]->state->errors->Value(), 1);
  EXPECT_TRUE(query(zones[0], "127.0.0.5").error);
  EXPECT_TRUE(query(zones[0], "127.0.0.6").verdicts.empty()) << "NXDOMAIN: not listed";
  r = query(zones[1], "127.0.0.2");
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].signal, Signal::DnsblAllowlisted);
  EXPECT_EQ(r.verdicts[0].score, -5);
  EXPECT_EQ(zones[0]->state->listed->Value(), 1);

  // Warm, the same answers come from the cache, counted the same way.
  const auto listed = check(zones[0], "127.0.0.2").now();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->verdicts.size(), 1u);
  EXPECT_EQ(listed->verdicts[0].signal, Signal::DnsblListed);
  EXPECT_EQ(zones[0]->state->listed->Value(), 2);
  const auto error_code = check(zones[0], "127.0.0.4").now();
  ASSERT_TRUE(error_code);
  EXPECT_TRUE(error_code->verdicts.empty());
  EXPECT_EQ(zones[0]->state->errors->Value(), 2);
  const auto failed = check(zones[0], "127.0.0.5").now();
  ASSERT_TRUE(failed) << "failures are cached for failure_ttl";
  EXPECT_TRUE(failed->error);
}

TEST_F(DnsChecks, UriZonesListLinkedDomainsWithTheirOwnSignalAndErrorCodes) {
  prometheus::Registry registry;
  DnsblMonitor monitor(registry);
  conf::DnsblConfig dbl;
  dbl.zone = "dbl.example";
  dbl.type = conf::DnsblConfig::Type::Uri;
  dbl.returns = {"127.0.1.[2..99]"};
  dbl.action = conf::DnsblConfig::Action::Reject;
  conf::DnsblConfig scoring = dbl;
  scoring.zone = "uri.example";
  scoring.returns = {};
  scoring.action = conf::DnsblConfig::Action::Score;
  scoring.weight = 2.5;
  auto zones = make_dnsbl_zones({dbl, scoring}, monitor);
  dns_.set("bad.example.dbl.example", RecordType::A, a_answer(60, {"127.0.1.2"}));
  dns_.set("1.2.0.192.dbl.example", RecordType::A, a_answer(60, {"127.0.1.255"}));
  dns_.set("odd.example.dbl.example", RecordType::A, a_answer(60, {"127.0.1.200"}));
  dns_.set("bad.example.uri.example", RecordType::A, a_answer(60, {"127.0.0.4"}));
  dns_.set("refused.example.uri.example", RecordType::A, a_answer(60, {"127.0.0.1"}));
  dns_.set("slow.example.uri.example", RecordType::A, negative(Outcome::ServFail));
  auto ask = [&](const DnsblZone& zone, const char* linked) {
    ZoneAnswer answer;
    asio::co_spawn(io_, cache_.a(reputation::uri_query_name(linked, zone.config.zone)),
                   [&](std::exception_ptr e, dns::Lookup<dns::AddressRecord> lookup) {
                     if (e) std::rethrow_exception(e);
                     answer = judge_zone_answer(zone, lookup, linked);
                   });
    io_.run();
    io_.restart();
    return answer;
  };
  auto a = ask(*zones[0], "bad.example");
  ASSERT_EQ(a.result.verdicts.size(), 1u);
  EXPECT_EQ(a.result.verdicts[0].signal, Signal::UriDnsblListed);
  EXPECT_EQ(a.result.verdicts[0].action, Action::Reject);
  EXPECT_EQ(a.result.verdicts[0].reason, "links to bad.example, listed in dbl.example (127.0.1.2)");
  EXPECT_EQ(a.zone, "dbl.example");
  EXPECT_EQ(a.answer, "127.0.1.2");
  EXPECT_EQ(zones[0]->state->listed->Value(), 1);
  a = ask(*zones[0], "192.0.2.1");
  EXPECT_TRUE(a.result.verdicts.empty()) << "127.0.1.255: IP queries prohibited";
  EXPECT_FALSE(a.result.error);
  EXPECT_EQ(zones[0]->state->errors->Value(), 1);
  EXPECT_TRUE(ask(*zones[0], "odd.example").result.verdicts.empty()) << "outside the filter";
  EXPECT_TRUE(ask(*zones[0], "fine.example").result.verdicts.empty()) << "NXDOMAIN";

  a = ask(*zones[1], "bad.example");
  ASSERT_EQ(a.result.verdicts.size(), 1u);
  EXPECT_EQ(a.result.verdicts[0].signal, Signal::UriDnsblListed);
  EXPECT_EQ(a.result.verdicts[0].action, Action::Continue);
  EXPECT_EQ(a.result.verdicts[0].score, 2.5);
  EXPECT_TRUE(ask(*zones[1], "refused.example").result.verdicts.empty()) << "query refused";
  EXPECT_EQ(zones[1]->state->errors->Value(), 1);
  EXPECT_TRUE(ask(*zones[1], "slow.example").result.error);
}

TEST_F(DnsChecks, UriZonesAreProbedWithTheDomainTestNames) {
  prometheus::Registry registry;
  DnsblMonitor monitor(registry);
  conf::DnsblConfig uri;
  uri.zone = "dbl.example";
  uri.type = conf::DnsblConfig::Type::Uri;
  conf::DnsblConfig refusing = uri;
  refusing.zone = "refusing.example";
  auto zones = make_dnsbl_zones({uri, refusing}, monitor);
  dns_.set("test.dbl.example", RecordType::A, a_answer(60, {"127.0.1.2"}));
  // refusing.example answers every query with its "query refused" code.
  dns_.set("test.refusing.example", RecordType::A, a_answer(60, {"127.0.0.1"}));
  bool up = false;
  auto probe = [&](const DnsblZone& zone) {
    asio::co_spawn(io_, probe_dnsbl_zone(dns_, zone),
                   [&](std::exception_ptr, bool ok) { up = ok; });
    io_.run();
    io_.restart();
    return up;
  };
  EXPECT_TRUE(probe(*zones[0]));
  EXPECT_FALSE(probe(*zones[1]));
}

TEST_F(DnsChecks, ProbesTellSoundZonesFromBrokenOnes) {
  prometheus::Registry registry;
  DnsblMonitor monitor(registry);
  conf::DnsblConfig sound;
  sound.zone = "bl.example";
  conf::DnsblConfig broken;
  broken.zone = "broken.example";
  auto zones = make_dnsbl_zones({sound, broken}, monitor);
  dns_.set("2.0.0.127.bl.example", RecordType::A, a_answer(60, {"127.0.0.2"}));
  // broken.example lists everything, 127.0.0.1 included.
  dns_.set("2.0.0.127.broken.example", RecordType::A, a_answer(60, {"127.0.0.2"}));
  dns_.set("1.0.0.127.broken.example", RecordType::A, a_answer(60, {"127.0.0.2"}));
  bool up = false;
  auto probe = [&](const DnsblZone& zone) {
    asio::co_spawn(io_, probe_dnsbl_zone(dns_, zone),
                   [&](std::exception_ptr, bool ok) { up = ok; });
    io_.run();
    io_.restart();
    return up;
  };
  EXPECT_TRUE(probe(*zones[0]));
  EXPECT_FALSE(probe(*zones[1]));
}

}  // namespace
}  // namespace mxgate::policy
