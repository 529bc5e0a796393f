// DNSBL query names, return-code filters and the meaning of answers (RFC 5782).
#include "reputation/dnsbl.hpp"

#include <gtest/gtest.h>

namespace mxgate::reputation {
namespace {

TEST(DnsblQuery, ReversesOctetsAndNibbles) {
  EXPECT_EQ(dnsbl_query_name(*common::parse_ip("192.0.2.7"), "zen.example."),
            "7.2.0.192.zen.example");
  EXPECT_EQ(dnsbl_query_name(*common::parse_ip("2001:db8::abcd:1"), "bl.example"),
            "1.0.0.0.d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  EXPECT_EQ(rhsbl_query_name("spam.example.", "dbl.example"), "spam.example.dbl.example");
}

TEST(ReturnFilter, ParsesNumbersRangesAndLists) {
  auto f = ReturnFilter::parse("127.0.0.[2..11]");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->matches({127, 0, 0, 2}));
  EXPECT_TRUE(f->matches({127, 0, 0, 11}));
  EXPECT_FALSE(f->matches({127, 0, 0, 12}));
  EXPECT_FALSE(f->matches({127, 0, 1, 2}));
  auto g = ReturnFilter::parse("127.0.[0..255].[2;4;10..12]");
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->matches({127, 0, 9, 4}));
  EXPECT_TRUE(g->matches({127, 0, 9, 11}));
  EXPECT_FALSE(g->matches({127, 0, 9, 3}));
  EXPECT_TRUE(ReturnFilter::parse("127.0.0.2"));
}

TEST(ReturnFilter, RefusesGarbageWithAnExample) {
  for (std::string_view bad : {"", "127.0.0", "127.0.0.256", "127.0.0.[5..2]", "127.0.0.[2..",
                               "127.0.0.2.1", "a.b.c.d", "127.0.0.[]", "127.0.0.[2;;3]"}) {
    std::string error;
    EXPECT_FALSE(ReturnFilter::parse(bad, &error)) << bad;
    EXPECT_NE(error.find("127.0.0.[2..11]"), std::string::npos) << bad;
  }
}

TEST(DnsblAnswer, ListingsErrorsAndFilters) {
  const auto f = *ReturnFilter::parse("127.0.0.[2..11]");
  EXPECT_EQ(judge_dnsbl_answer({}, {f}), DnsblResult::NotListed);
  EXPECT_EQ(judge_dnsbl_answer({{127, 0, 0, 4}}, {f}), DnsblResult::Listed);
  EXPECT_EQ(judge_dnsbl_answer({{127, 0, 0, 20}}, {f}), DnsblResult::NotListed);
  EXPECT_EQ(judge_dnsbl_answer({{127, 0, 0, 20}}, {}), DnsblResult::Listed);
  // Error codes and answers outside 127/8 are never listings, whatever the filter.
  EXPECT_EQ(judge_dnsbl_answer({{127, 255, 255, 254}}, {}), DnsblResult::ZoneError);
  EXPECT_EQ(judge_dnsbl_answer({{127, 0, 0, 2}, {127, 255, 255, 252}}, {f}),
            DnsblResult::ZoneError);
  EXPECT_EQ(judge_dnsbl_answer({{192, 0, 2, 1}}, {}), DnsblResult::ZoneError);
}

TEST(UriQuery, DomainsAsIsAddressesReversed) {
  EXPECT_EQ(uri_query_name("bad.example", "dbl.example"), "bad.example.dbl.example");
  EXPECT_EQ(uri_query_name("192.0.2.1", "uri.example."), "1.2.0.192.uri.example");
  EXPECT_EQ(uri_query_name("2001:db8::1", "uri.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.uri.example");
}

TEST(UriAnswer, TheUriListsOwnErrorCodesAreNoListings) {
  const auto dbl = *ReturnFilter::parse("127.0.1.[2..99]");
  EXPECT_EQ(judge_uri_answer({{127, 0, 1, 2}}, {dbl}), DnsblResult::Listed);
  EXPECT_EQ(judge_uri_answer({{127, 0, 1, 255}}, {}), DnsblResult::ZoneError)
      << "Spamhaus DBL: IP queries prohibited";
  EXPECT_EQ(judge_uri_answer({{127, 0, 0, 1}}, {}), DnsblResult::ZoneError)
      << "SURBL/URIBL: query refused";
  EXPECT_EQ(judge_uri_answer({{127, 255, 255, 254}}, {}), DnsblResult::ZoneError);
  EXPECT_EQ(judge_uri_answer({{127, 0, 1, 200}}, {dbl}), DnsblResult::NotListed);
  EXPECT_EQ(judge_uri_answer({}, {dbl}), DnsblResult::NotListed);
  // An IP zone keeps 127.0.0.1 as an answer like any other (its probe says it must not list it).
  EXPECT_EQ(judge_dnsbl_answer({{127, 0, 0, 1}}, {}), DnsblResult::Listed);
}

}  // namespace
}  // namespace mxgate::reputation
