// generic_ptr_reason, judge_helo, helo_matches_ptr: what a sender's names say.
#include "reputation/sender_rules.hpp"

#include <gtest/gtest.h>

namespace mxgate::reputation {
namespace {

common::IpBytes ip(std::string_view text) { return *common::parse_ip(text); }

TEST(GenericPtr, AddressesEmbeddedInTheHostPartAreGeneric) {
  const auto a = ip("192.0.2.7");
  for (std::string_view name :
       {"192-0-2-7.dsl.example.net", "7.2.0.192.static.example.net", "host192.0.2.7.example.net",
        "c0000207.cust.example.net", "ip-192-0-2-7.EXAMPLE.net.", "p7-2-0-192.isp.example"}) {
    EXPECT_TRUE(generic_ptr_reason(a, name)) << name;
  }
  EXPECT_TRUE(generic_ptr_reason(ip("2001:db8::21a:2bff:fe3c:4d5e"),
                                 "21a-2bff-fe3c-4d5e.v6.example.net"));
}

TEST(GenericPtr, AccessNetworkWordsAreGeneric) {
  const auto a = ip("198.51.100.9");
  for (std::string_view name : {"dynamic-44.example.net", "pool-3.example.net", "dsl123.example.net",
                                "host.dhcp.example.net", "ppp-9.region.example.net",
                                "x.broadband.example.net", "cust9.example.net"}) {
    EXPECT_TRUE(generic_ptr_reason(a, name)) << name;
  }
}

TEST(GenericPtr, NamedServersAreNot) {
  const auto a = ip("192.0.2.7");
  for (std::string_view name : {"mail.example.com", "mx1.example.net", "out3.mta.example.org",
                                "smtp-07.example.com", "cable.example", "mail.cable.example",
                                "o2.email.example.com", "192.example.com", "a.b"}) {
    EXPECT_FALSE(generic_ptr_reason(a, name)) << name;
  }
  // Only two of the four octets: not the address.
  EXPECT_FALSE(generic_ptr_reason(a, "mx2-7.example.com"));
  EXPECT_FALSE(generic_ptr_reason(ip("2001:db8::1"), "1.mail.example.com"));
}

TEST(Helo, AcceptsRealNamesAndMatchingLiterals) {
  const auto client = ip("192.0.2.7");
  EXPECT_EQ(judge_helo("mail.example.com", client, "mx.example.net").problem, HeloProblem::None);
  EXPECT_EQ(judge_helo("Mail.Example.COM.", client, "mx.example.net").problem, HeloProblem::None);
  const auto literal = judge_helo("[192.0.2.7]", client, "mx.example.net");
  EXPECT_EQ(literal.problem, HeloProblem::None);
  EXPECT_TRUE(literal.literal);
  EXPECT_EQ(judge_helo("[IPv6:2001:db8::5]", ip("2001:db8::5"), "").problem, HeloProblem::None);
  EXPECT_EQ(judge_helo("[ipv6:2001:DB8:0::5]", ip("2001:db8::5"), "").problem, HeloProblem::None);
}

TEST(Helo, NamesEachProblem) {
  const auto client = ip("192.0.2.7");
  auto problem = [&](std::string_view helo) {
    return judge_helo(helo, client, "mx.example.net").problem;
  };
  EXPECT_EQ(problem(""), HeloProblem::Empty);
  EXPECT_EQ(problem("192.0.2.7"), HeloProblem::BareAddress);
  EXPECT_EQ(problem("[192.0.2.300]"), HeloProblem::BadLiteral);
  EXPECT_EQ(problem("[2001:db8::7]"), HeloProblem::BadLiteral) << "IPv6 needs the IPv6: tag";
  EXPECT_EQ(problem("[192.0.2.8]"), HeloProblem::LiteralMismatch);
  EXPECT_EQ(problem("localhost"), HeloProblem::Localhost);
  EXPECT_EQ(problem("box.localdomain"), HeloProblem::Localhost);
  EXPECT_EQ(problem("printer.local"), HeloProblem::Localhost);
  EXPECT_EQ(problem("WIN-7QX2"), HeloProblem::NotFqdn);
  EXPECT_EQ(problem("host.123"), HeloProblem::NotFqdn);
  EXPECT_EQ(problem("bad_name.example.com"), HeloProblem::BadSyntax);
  EXPECT_EQ(problem("-a.example.com"), HeloProblem::BadSyntax);
  EXPECT_EQ(problem("a..example.com"), HeloProblem::BadSyntax);
  EXPECT_EQ(problem(std::string(64, 'a') + ".example.com"), HeloProblem::BadSyntax);
  EXPECT_EQ(problem("MX.example.NET"), HeloProblem::ClaimsToBeUs);
  EXPECT_FALSE(judge_helo("[192.0.2.8]", client, "").reason.empty());
}

TEST(Helo, MatchesPtrByNameOrParentDomain) {
  EXPECT_TRUE(helo_matches_ptr("mail.example.com", "mail.example.com."));
  EXPECT_TRUE(helo_matches_ptr("mail.example.com", "out3.EXAMPLE.com"));
  EXPECT_TRUE(helo_matches_ptr("mail.example.com", "a.b.example.com"));
  EXPECT_FALSE(helo_matches_ptr("mail.example.com", "mail.example.org"));
  EXPECT_FALSE(helo_matches_ptr("mail.example.com", "badexample.com"));
  EXPECT_FALSE(helo_matches_ptr("example.com", "other.com")) << "never on a bare TLD";
  EXPECT_FALSE(helo_matches_ptr("", "mail.example.com"));
}

}  // namespace
}  // namespace mxgate::reputation
