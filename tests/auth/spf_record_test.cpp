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

// RFC 7208 §4.6.1 and §7.1: domain-spec = macro-string domain-end, where a macro-literal is any
// visible character but "%" (so ":" and "/" too), domain-end = ( "." toplabel [ "." ] ) /
// macro-expand, and a dual-cidr-length is only what follows the domain-spec at the very end.
// Rows from the grammar; several mirror the openspf.org RFC 7208 test suite's zone data.
TEST(SpfRecord, DomainSpecsAndCidrLengthsFollowTheGrammar) {
  const struct {
    const char* record;
    const char* domain_spec;
    int v4_prefix;
    int v6_prefix;
    const char* rule;
  } cases[] = {
      {"v=spf1 a:foo:bar/baz.example.com", "foo:bar/baz.example.com", 32, 128,
       "macro-literal includes \":\" and \"/\""},
      {"v=spf1 a:foo:bar/baz.example.com/24//64", "foo:bar/baz.example.com", 24, 64,
       "dual-cidr-length only at the end"},
      {"v=spf1 mx:a/b.example.com//64", "a/b.example.com", 32, 64, "ip6-cidr-length alone"},
      {"v=spf1 a:x.example/1.com", "x.example/1.com", 32, 128,
       "a \"/\" not followed by digits to the end is part of the domain-spec"},
      {"v=spf1 a:%{d}/24", "%{d}", 24, 128, "domain-end = macro-expand, then a length"},
      {"v=spf1 a:%{l/}.example.com/24", "%{l/}.example.com", 24, 128, "\"/\" as a macro delimiter"},
      {"v=spf1 a:x.%{d}.%%", "x.%{d}.%%", 32, 128, "domain-end = macro-expand \"%%\""},
      {"v=spf1 mx:foo.example.com./30", "foo.example.com.", 30, 128,
       "domain-end = \".\" toplabel \".\""},
      {"v=spf1 a:foo.example.xn--zckzah", "foo.example.xn--zckzah", 32, 128,
       "toplabel with inner hyphens"},
      {"v=spf1 a:example.123-4", "example.123-4", 32, 128,
       "toplabel = 1*alphanum \"-\" *( alphanum / \"-\" ) alphanum"},
      {"v=spf1 a:x.example.com:8080.example.org", "x.example.com:8080.example.org", 32, 128,
       "\":\" inside, toplabel at the end"},
      {"v=spf1 exists:%{d9999}.example.com", "%{d9999}.example.com", 32, 128,
       "transformers = *DIGIT: any nonzero count"},
      {"v=spf1 exists:%{ir}.%{l1r+-=_,/}.example.com", "%{ir}.%{l1r+-=_,/}.example.com", 32, 128,
       "every delimiter"},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_record(c.record);
    ASSERT_TRUE(parsed.record) << c.record << " (" << c.rule << "): " << parsed.error;
    ASSERT_EQ(parsed.record->mechanisms.size(), 1u) << c.record;
    const Mechanism& m = parsed.record->mechanisms.front();
    EXPECT_EQ(m.domain_spec, c.domain_spec) << c.record << " (" << c.rule << ")";
    EXPECT_EQ(m.v4_prefix, c.v4_prefix) << c.record << " (" << c.rule << ")";
    EXPECT_EQ(m.v6_prefix, c.v6_prefix) << c.record << " (" << c.rule << ")";
  }
}

TEST(SpfRecord, MalformedDomainSpecsAndLengthsAreRefused) {
  const struct {
    std::string_view record;
    const char* rule;
  } cases[] = {
      {"v=spf1 a:foo.example.com/", "ip4-cidr-length needs a digit"},
      {"v=spf1 a:foo.example.com//", "ip6-cidr-length needs a digit"},
      {"v=spf1 a/24/64", "dual-cidr-length is [ \"/\" v4 ] [ \"//\" v6 ]"},
      {"v=spf1 a:foo.example.com/24/64", "the same after a domain-spec"},
      {"v=spf1 a:example.com:8080", "toplabel is alphanumeric (\":\" is not)"},
      {"v=spf1 include:ip5.example.com/24", "include takes no CIDR length"},
      {"v=spf1 exists:mail.example.com/24", "exists takes no CIDR length"},
      {"v=spf1 a:x.example%%}", "domain-end: the final \"}\" is a literal, not a macro-expand"},
      {"v=spf1 a:x.example%%-", "domain-end: the final \"-\" is a literal after \"%%\""},
      {"v=spf1 a:%{d}com", "domain-end needs \".\" before the toplabel"},
      {"v=spf1 a:museum.", "one toplabel alone"},
      {"v=spf1 a:abc.123", "toplabel not all digits"},
      {"v=spf1 a:example.-com", "toplabel does not start with \"-\""},
      {"v=spf1 a:", "domain-spec is not empty"},
      {"v=spf1 ptr:", "domain-spec is not empty"},
      {std::string_view("v=spf1 a:foo.example.com\0", 25), "NUL is no macro-literal"},
      {"v=spf1 exists:%(ir).sbl.example.com", "\"%\" then \"(\""},
      {"v=spf1 exists:foo%.sbl.example.com", "\"%\" then \".\""},
      {"v=spf1 moo.cow/far_out=man:dog/cat", "a \"/\" before \"=\": an unknown mechanism"},
      {"v=spf1 ip4:1.2.3.4:8080", "ip4-network is exactly four qnums"},
      {"v=spf1 ip4:1.2.3", "ip4-network is exactly four qnums"},
      {"v=spf1 ip4:01.2.3.4", "qnum has no leading zero"},
      {"v=spf1 ip4:1.2.3.4/032", "ip4-cidr-length has no leading zero"},
      {"v=spf1 ip4:1.2.3.4//32", "ip4 takes no dual-cidr-length"},
      {"v=spf1 ip4:::ffff:1.2.3.4", "ip4 takes an ip4-network"},
      {"v=spf1 ip6:::1.1.1.1//33", "ip6 takes no dual-cidr-length"},
      {"v=spf1 ip6:::1.1.1.1/129", "ip6-cidr-length at most 128"},
      {"v=spf1 ip6::CAFE::BABE", "RFC 4291 §2.2"},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_record(c.record);
    EXPECT_FALSE(parsed.record) << c.record << " (" << c.rule << ")";
  }
}

// RFC 7208 §5.6: ip6-network is any RFC 4291 §2.2 text form, the IPv4-mapped one included. Such
// a network stays IPv6: "IPv4 <ip> addresses are only listed in an SPF record using the ip4
// mechanism" (§5), so it never matches a client, whose mapped address counts as IPv4.
TEST(SpfRecord, Ip6NetworksMayBeWrittenIpv4Mapped) {
  const auto r = parse(
      "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4 ip6:::ffff:192.0.2.0/120 "
      "ip6:::1.1.1.1/0 ip6:Cafe:Babe:8000::/33");
  ASSERT_EQ(r.mechanisms.size(), 5u);
  EXPECT_EQ(r.mechanisms[1].kind, MechanismKind::Ip6);
  EXPECT_EQ(r.mechanisms[1].network.text(), "::ffff:1.2.3.4/128");
  EXPECT_EQ(r.mechanisms[2].network.text(), "::ffff:192.0.2.0/120");
  EXPECT_FALSE(r.mechanisms[2].network.contains(*common::parse_ip("192.0.2.7")));
  EXPECT_FALSE(r.mechanisms[2].network.contains(*common::parse_ip("::ffff:192.0.2.7")));
  EXPECT_EQ(r.mechanisms[3].network.text(), "::/0");
  EXPECT_TRUE(r.mechanisms[3].network.contains(*common::parse_ip("2001:db8::1")));
  EXPECT_EQ(r.mechanisms[4].network.text(), "cafe:babe:8000::/33");
}

TEST(SpfRecord, ResultNames) {
  EXPECT_EQ(result_name(Result::SoftFail), "softfail");
  EXPECT_EQ(result_name(Result::PermError), "permerror");
  EXPECT_EQ(result_name(Result::TempError), "temperror");
  EXPECT_EQ(mechanism_name(MechanismKind::Exists), "exists");
}

}  // namespace
}  // namespace mxgate::auth::spf
