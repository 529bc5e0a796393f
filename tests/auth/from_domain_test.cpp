// The RFC 5322 From domain for DMARC: the forms RFC 5322 §3.4 and §A allow, and every way a
// message can fail to have exactly one From address with one domain.
#include "auth/from_domain.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mxgate::auth {
namespace {

std::string domain_of(std::string_view value) {
  const auto d = from_domain_of_value(value);
  EXPECT_TRUE(d.domain) << value << ": " << d.problem;
  return d.domain.value_or("");
}

TEST(FromDomain, AddressForms) {
  EXPECT_EQ(domain_of(" jane@example.org\r\n"), "example.org");
  EXPECT_EQ(domain_of(" Jane Doe <jane@Example.ORG>\r\n"), "example.org");
  EXPECT_EQ(domain_of(" \"Doe, Jane\" <jane@example.org>"), "example.org") << "comma in quotes";
  EXPECT_EQ(domain_of(" \"a@evil.test\" <jane@example.org>"), "example.org")
      << "an address inside the display name does not count";
  EXPECT_EQ(domain_of(" Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            "silly.test") << "RFC 5322 A.5";
  EXPECT_EQ(domain_of(" Jane\r\n <jane@example.org>\r\n"), "example.org") << "folded";
  EXPECT_EQ(domain_of(" <@route.test:jane@example.org>"), "example.org") << "obsolete route";
  EXPECT_EQ(domain_of(" jane@example.org."), "example.org");
  EXPECT_EQ(domain_of(" =?utf-8?q?J=C3=A4ne?= <jane@example.org>"), "example.org");
}

TEST(FromDomain, WhatDmarcCannotJudge) {
  for (const char* bad : {
           " jane@example.org, joe@example.net",  // several addresses
           " ",                                     // none
           " jane",                                 // no domain
           " jane@[192.0.2.1]",                     // a domain literal
           " Undisclosed:;",                        // a group
           " \"unclosed <jane@example.org>",
           " Jane (unclosed comment <jane@example.org>",
           " <jane@example.org",
           " jane@example.org..",  // found by tests/fuzz/from_domain_fuzz: was "example.org."
       }) {
    const auto d = from_domain_of_value(bad);
    EXPECT_FALSE(d.domain) << bad;
    EXPECT_FALSE(d.problem.empty()) << bad;
  }
}

TEST(FromDomain, ExactlyOneFromField) {
  const std::vector<std::string_view> one = {"To: a@example.net\r\n",
                                             "FROM : Jane <jane@example.org>\r\n",
                                             "Subject: x\r\n"};
  EXPECT_EQ(from_domain(one).domain, "example.org");
  const std::vector<std::string_view> two = {"From: a@example.org\r\n",
                                             "From: b@example.org\r\n"};
  EXPECT_EQ(from_domain(two).problem, "several From fields");
  const std::vector<std::string_view> none = {"Sender: a@example.org\r\n"};
  EXPECT_EQ(from_domain(none).problem, "no From field");
}

}  // namespace
}  // namespace mxgate::auth
