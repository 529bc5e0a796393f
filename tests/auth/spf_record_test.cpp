// SPF record syntax (RFC 7208 §4.5, §4.6, §12): what is a record, and every term's grammar.
#include "auth/spf_record.hpp"

#include <gtest/gtest.h>

namespace mxgate::auth::spf {
namespace {

Record parse(const char* text) {
  auto parsed = parse_record(text);
  EXPECT_TRUE(parsed.record) << text << ": " << parsed.error;
  return parsed.record.value_or(Record{});
}

TEST(SpfRecord, VersionSelection) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
  EXPECT_FALSE(is_spf_record(" v=spf1 -all"));
}

TEST(SpfRecord, EveryMechanismAndQualifier) {
  const auto r = parse(
      "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/30 "
      "mx:%{d}//48 ptr ptr:example.org ip4:192.0.2.10/24 ip6:2001:db8::/32 "
      "exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.example.com exp=explain.%{d} "
      "foo.bar=%{d}  ");
  ASSERT_EQ(r.mechanisms.size(), 11u);
  EXPECT_EQ(r.mechanisms[0].kind, MechanismKind::All);
  EXPECT_EQ(r.mechanisms[0].qualifier, Result::Pass);
  EXPECT_EQ(r.mechanisms[1].kind, MechanismKind::Include);
  EXPECT_EQ(r.mechanisms[1].qualifier, Result::Fail);
  EXPECT_EQ(r.mechanisms[1].domain_spec, "_spf.example.com");
  EXPECT_EQ(r.mechanisms[2].qualifier, Result::SoftFail);
  EXPECT_TRUE(r.mechanisms[2].domain_spec.empty());
  EXPECT_EQ(r.mechanisms[3].qualifier, Result::Neutral);
  EXPECT_EQ(r.mechanisms[3].domain_spec, "mail.example.com");
  EXPECT_EQ(r.mechanisms[3].v4_prefix, 24);
  EXPECT_EQ(r.mechanisms[3].v6_prefix, 64);
  EXPECT_EQ(r.mechanisms[4].kind, MechanismKind::Mx);
  EXPECT_EQ(r.mechanisms[4].v4_prefix, 30);
  EXPECT_EQ(r.mechanisms[5].domain_spec, "%{d}");
  EXPECT_EQ(r.mechanisms[5].v4_prefix, 32);
  EXPECT_EQ(r.mechanisms[5].v6_prefix, 48);
  EXPECT_EQ(r.mechanisms[6].kind, MechanismKind::Ptr);
  EXPECT_EQ(r.mechanisms[7].domain_spec, "example.org");
  EXPECT_EQ(r.mechanisms[8].network.text(), "192.0.2.0/24");
  EXPECT_EQ(r.mechanisms[9].network.text(), "2001:db8::/32");
  EXPECT_EQ(r.mechanisms[10].kind, MechanismKind::Exists);
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_EQ(r.exp, "explain.%{d}");
  EXPECT_EQ(r.mechanisms[2].text, "~a");
}

TEST(SpfRecord, NamesAreCaseInsensitive) {
  const auto r = parse("v=spf1 IP4:192.0.2.1 MX -ALL Redirect=example.com");
  ASSERT_EQ(r.mechanisms.size(), 3u);
  EXPECT_EQ(r.mechanisms[2].qualifier, Result::Fail);
  EXPECT_TRUE(r.redirect);
}

TEST(SpfRecord, SyntaxErrorsRefuseTheWholeRecord) {
  for (const char* bad : {
           "v=spf1 foo",                  // unknown mechanism
           "v=spf1 all:x",                // all takes nothing
           "v=spf1 include",              // needs a domain-spec
           "v=spf1 include:localhost",    // domain-end needs "." toplabel
           "v=spf1 include:example.123",  // toplabel all digits
           "v=spf1 a:example.com/33",     // IPv4 length out of range
           "v=spf1 a/024",                // leading zero
           "v=spf1 mx//129",
           "v=spf1 ip4:192.0.2.300",
           "v=spf1 ip4:2001:db8::1",
           "v=spf1 ip6:192.0.2.1",
           "v=spf1 ip4",
           "v=spf1 ptr/24",
           "v=spf1 exists:%{x}.example.com",
           "v=spf1 exists:%{d0}.example.com",
           "v=spf1 redirect=a.example redirect=b.example",
           "v=spf1 exp=a.example exp=b.example",
           "v=spf1 1bad=x",
           "v=spf1 -all exp=%{c}.example.com",  // c is for explanation text only
       }) {
    const auto parsed = parse_record(bad);
    EXPECT_FALSE(parsed.record) << bad;
    EXPECT_FALSE(parsed.error.empty()) << bad;
  }
}

TEST(SpfRecord, ResultNames) {
  EXPECT_EQ(result_name(Result::SoftFail), "softfail");
  EXPECT_EQ(result_name(Result::PermError), "permerror");
  EXPECT_EQ(result_name(Result::TempError), "temperror");
  EXPECT_EQ(mechanism_name(MechanismKind::Exists), "exists");
}

}  // namespace
}  // namespace mxgate::auth::spf
