// Where a DSN to an outside domain goes: the exchangers' order (RFC 5321 §5.1), the implicit
// MX, the null MX (RFC 7505), loops, and every way of finding nothing, against a scripted
// resolver.
#include "relay/outbound.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <set>

#include "tests/dns/fake_resolver.hpp"

namespace mxgate::relay {
namespace {

namespace asio = boost::asio;
using dns::Outcome;
using dns::RecordType;
using Kind = Destination::Kind;

dns::Response mx_answer(std::initializer_list<std::pair<std::uint16_t, const char*>> hosts) {
  dns::Response r = dns::make_response(Outcome::Answer);
  for (const auto& [preference, exchange] : hosts) {
    r.records.push_back(dns::Record{"fake", RecordType::MX, 300, dns::MxData{preference, exchange}});
  }
  return r;
}

dns::Response aaaa_answer(std::initializer_list<const char*> addresses) {
  dns::Response r = dns::make_response(Outcome::Answer);
  for (const char* text : addresses) {
    r.records.push_back(dns::Record{"fake", RecordType::AAAA, 300, *common::parse_ip(text)});
  }
  return r;
}

std::vector<std::string> texts(const std::vector<conf::HostPort>& hosts) {
  std::vector<std::string> out;
  for (const auto& h : hosts) out.push_back(h.text());
  return out;
}

class OutboundTest : public ::testing::Test {
 protected:
  OutboundTest() {
    outbound_.port = 2525;
    resolver_.missing = dns::testing::negative(Outcome::NoData);
  }

  Destination find(std::string domain) {
    std::optional<Destination> found;
    asio::co_spawn(io_, find_destination(resolver_, std::move(domain), outbound_, listeners_),
                   [&](std::exception_ptr error, Destination d) {
                     if (error) std::rethrow_exception(error);
                     found = std::move(d);
                   });
    io_.restart();
    io_.run();
    EXPECT_TRUE(found.has_value());
    return found.value_or(Destination{});
  }

  asio::io_context io_;
  dns::testing::FakeResolver resolver_{io_.get_executor()};
  conf::OutboundConfig outbound_;
  std::vector<conf::HostPort> listeners_{{"0.0.0.0", 25}, {"192.0.2.1", 2525}};
};

TEST(ExchangerOrder, AscendingPreferenceWithEqualOnesShuffledAndNamesOnce) {
  std::set<std::vector<std::string>> seen;
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    const auto order = exchanger_order(
        {{20, "c.test", 0}, {10, "b.test", 0}, {10, "a.test", 0}, {30, "a.test", 0}}, seed);
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[2], "c.test");
    seen.insert(order);
  }
  // Both orders of the two exchangers of preference 10 come up (RFC 5321 §5.1: randomize).
  EXPECT_EQ(seen, (std::set<std::vector<std::string>>{{"a.test", "b.test", "c.test"},
                                                      {"b.test", "a.test", "c.test"}}));
}

TEST(OwnListener, TheSameAddressAndPortOrLoopbackBehindAWildcard) {
  const std::vector<conf::HostPort> listeners{{"0.0.0.0", 25}, {"192.0.2.1", 2525}, {"::", 587}};
  EXPECT_TRUE(is_own_listener(*common::parse_ip("192.0.2.1"), 2525, listeners));
  EXPECT_FALSE(is_own_listener(*common::parse_ip("192.0.2.1"), 2526, listeners));
  EXPECT_TRUE(is_own_listener(*common::parse_ip("127.0.0.5"), 25, listeners));
  EXPECT_FALSE(is_own_listener(*common::parse_ip("192.0.2.9"), 25, listeners));
  EXPECT_TRUE(is_own_listener(*common::parse_ip("::1"), 587, listeners));
  EXPECT_FALSE(is_own_listener(*common::parse_ip("2001:db8::1"), 587, listeners));
}

TEST_F(OutboundTest, TheBounceRelayTakesEverythingWithoutALookup) {
  outbound_.bounce_relay = {{"smarthost.example", 25}, {"192.0.2.30", 587}};
  const Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::BounceRelay);
  EXPECT_EQ(texts(d.hosts), (std::vector<std::string>{"smarthost.example:25", "192.0.2.30:587"}));
  EXPECT_EQ(resolver_.calls(), 0);
}

TEST_F(OutboundTest, TheExchangersAddressesInPreferenceOrderIPv4First) {
  resolver_.set("sender.test", RecordType::MX, mx_answer({{20, "mx2.sender.test"}, {10, "mx1.sender.test"}}));
  resolver_.set("mx1.sender.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.10"}));
  resolver_.set("mx1.sender.test", RecordType::AAAA, aaaa_answer({"2001:db8::10"}));
  resolver_.set("mx2.sender.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.20", "192.0.2.10"}));
  const Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::Mx);
  EXPECT_TRUE(d.deliverable());
  // The second exchanger's 192.0.2.10 is the first one's: tried once.
  EXPECT_EQ(texts(d.hosts), (std::vector<std::string>{"192.0.2.10:2525", "[2001:db8::10]:2525",
                                                      "192.0.2.20:2525"}));
}

TEST_F(OutboundTest, ADomainWithoutMxIsItsOwnExchanger) {
  resolver_.set("sender.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.40"}));
  const Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::ImplicitMx);
  EXPECT_EQ(texts(d.hosts), (std::vector<std::string>{"192.0.2.40:2525"}));
}

TEST_F(OutboundTest, ANullMxTakesNoMail) {
  resolver_.set("sender.test", RecordType::MX, mx_answer({{0, "."}}));
  resolver_.set("sender.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.40"}));
  const Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::NullMx);
  EXPECT_FALSE(d.deliverable());
  EXPECT_EQ(d.refusal.code, 556);
  EXPECT_EQ(d.refusal.enhanced, "5.1.10");  // RFC 7505 §4.2
}

TEST_F(OutboundTest, AnInternationalizedDomainIsLookedUpByItsALabel) {
  resolver_.set("xn--bcher-kva.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.41"}));
  const Destination d = find("b\xc3\xbc" "cher.test");
  EXPECT_EQ(d.kind, Kind::ImplicitMx);
  EXPECT_EQ(texts(d.hosts), (std::vector<std::string>{"192.0.2.41:2525"}));
  EXPECT_EQ(find("bad\xff.test").kind, Kind::NoDomain);
}

TEST_F(OutboundTest, ADomainThatDoesNotExistIsAPermanentFailure) {
  resolver_.set("gone.test", RecordType::MX, dns::testing::negative(Outcome::NxDomain));
  const Destination d = find("gone.test");
  EXPECT_EQ(d.kind, Kind::NoDomain);
  EXPECT_EQ(d.refusal.code, 550);
  EXPECT_EQ(d.refusal.enhanced, "5.1.2");
}

TEST_F(OutboundTest, ADnsFailureIsTemporary) {
  resolver_.set("sender.test", RecordType::MX, dns::testing::negative(Outcome::ServFail));
  Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::DnsError);
  EXPECT_EQ(d.refusal.code, 451);
  EXPECT_EQ(d.refusal.enhanced, "4.4.3");
  // Also when the exchanger's addresses cannot be looked up.
  resolver_.set("sender.test", RecordType::MX, mx_answer({{10, "mx.sender.test"}}));
  resolver_.set("mx.sender.test", RecordType::A, dns::testing::negative(Outcome::Timeout));
  d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::DnsError);
  EXPECT_TRUE(d.refusal.transient());
}

TEST_F(OutboundTest, ExchangersWithoutAnAddressCannotBeReached) {
  resolver_.set("sender.test", RecordType::MX, mx_answer({{10, "mx.sender.test"}}));
  const Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::NoAddress);
  EXPECT_EQ(d.refusal.code, 550);
  EXPECT_EQ(d.refusal.enhanced, "5.4.4");
}

TEST_F(OutboundTest, OurOwnListenersAreSkippedAndOnlyThemIsALoop) {
  resolver_.set("sender.test", RecordType::MX, mx_answer({{10, "mx.sender.test"}}));
  resolver_.set("mx.sender.test", RecordType::A, dns::testing::a_answer(300, {"192.0.2.1"}));
  Destination d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::Loop);
  EXPECT_EQ(d.refusal.enhanced, "5.4.6");
  resolver_.set("mx.sender.test", RecordType::A,
                dns::testing::a_answer(300, {"192.0.2.1", "192.0.2.2"}));
  d = find("sender.test");
  EXPECT_EQ(d.kind, Kind::Mx);
  EXPECT_EQ(texts(d.hosts), (std::vector<std::string>{"192.0.2.2:2525"}));
}

TEST_F(OutboundTest, AtMostTenAddressesAreTried) {
  resolver_.set("sender.test", RecordType::MX, mx_answer({{10, "a.sender.test"}, {20, "b.sender.test"}}));
  resolver_.set("a.sender.test", RecordType::A,
                dns::testing::a_answer(300, {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
                                             "192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8"}));
  resolver_.set("b.sender.test", RecordType::A,
                dns::testing::a_answer(300, {"192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"}));
  const Destination d = find("sender.test");
  ASSERT_EQ(d.hosts.size(), kMaxAddresses);
  EXPECT_EQ(d.hosts.back().text(), "192.0.2.13:2525");
  EXPECT_EQ(d.hosts.front().text(), "192.0.2.2:2525");  // 192.0.2.1:2525 is our listener
}

}  // namespace
}  // namespace mxgate::relay
