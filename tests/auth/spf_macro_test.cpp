// SPF macros: RFC 7208 §7.4's examples, byte for byte, and malformed macro-strings.
#include "auth/spf_macro.hpp"

#include <gtest/gtest.h>

namespace mxgate::auth::spf {
namespace {

MacroContext rfc_context(const char* ip) {
  MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.ip = *common::parse_ip(ip);
  c.helo = "mx.example.org";
  c.validated_ptr = "mx.example.org";
  c.receiver = "mx.example.net";
  c.now = 1700000000;
  return c;
}

std::string expand(const char* text, const char* ip = "192.0.2.3",
                   MacroUse use = MacroUse::DomainSpec) {
  auto out = expand_macros(text, rfc_context(ip), use);
  EXPECT_TRUE(out) << text;
  return out.value_or("<invalid>");
}

TEST(SpfMacro, Rfc7208Section74Letters) {
  EXPECT_EQ(expand("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(expand("%{o}"), "email.example.com");
  EXPECT_EQ(expand("%{d}"), "email.example.com");
  EXPECT_EQ(expand("%{d4}"), "email.example.com");
  EXPECT_EQ(expand("%{d3}"), "email.example.com");
  EXPECT_EQ(expand("%{d2}"), "example.com");
  EXPECT_EQ(expand("%{d1}"), "com");
  EXPECT_EQ(expand("%{dr}"), "com.example.email");
  EXPECT_EQ(expand("%{d2r}"), "example.email");
  EXPECT_EQ(expand("%{l}"), "strong-bad");
  EXPECT_EQ(expand("%{l-}"), "strong.bad");
  EXPECT_EQ(expand("%{lr}"), "strong-bad");
  EXPECT_EQ(expand("%{lr-}"), "bad.strong");
  EXPECT_EQ(expand("%{l1r-}"), "strong");
}

TEST(SpfMacro, Rfc7208Section74Strings) {
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"),
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"),
            "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, EscapesLiteralsAndExplanationLetters) {
  EXPECT_EQ(expand("%%%_%-"), "% %20");
  EXPECT_EQ(expand("%{S}"), "strong-bad%40email.example.com") << "uppercase: URL-escaped";
  EXPECT_EQ(expand("%{p}.x.example"), "mx.example.org.x.example");
  EXPECT_EQ(
      expand("%{i} is not allowed at %{r} (%{c}) at %{t}", "2001:db8::cb01", MacroUse::Explanation),
      "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1 is not allowed at "
      "mx.example.net (2001:db8::cb01) at 1700000000");
}

TEST(SpfMacro, MalformedStringsAreRefused) {
  for (const char* bad :
       {"%", "%{", "%{s", "%{x}", "%{d0}", "%{s!}", "%a", "a b", "%{c}", "%{r}", "%{t}"}) {
    EXPECT_FALSE(valid_macro_string(bad, MacroUse::DomainSpec)) << bad;
    EXPECT_FALSE(expand_macros(bad, rfc_context("192.0.2.3"), MacroUse::DomainSpec)) << bad;
  }
  EXPECT_TRUE(valid_macro_string("%{c} %{r} %{t}", MacroUse::Explanation));
  EXPECT_TRUE(uses_ptr_macro("a.%{p2}.b"));
  EXPECT_FALSE(uses_ptr_macro("a.%{d2}.b"));
}

// RFC 7208 §7.3: an uppercase macro letter URL-escapes its value, every octet outside RFC 3986's
// unreserved set (ALPHA / DIGIT / "-" / "." / "_" / "~") as "%" and two uppercase hex digits
// (RFC 3986 §2.1); a lowercase one inserts the value as it is, whatever its characters: they
// are legal in a domain-spec's expansion and are never read as macros again.
TEST(SpfMacro, ExpansionsCarryUnusualCharacters) {
  const struct {
    const char* local_part;
    const char* helo;
    const char* text;
    const char* expected;
    const char* rule;
  } cases[] = {
      {"~jack&jill=up-a_b3.c", "mx.example.org", "%{L}", "~jack%26jill%3Dup-a_b3.c",
       "unreserved kept, & and = escaped"},
      {"a+b/c!d", "mx.example.org", "%{L}.x.example", "a%2Bb%2Fc%21d.x.example",
       "\"+\", \"/\", \"!\" escaped"},
      {"caf\xc3\xa9", "mx.example.org", "%{L}", "caf%C3%A9", "8-bit octets, uppercase hex"},
      {"caf\xc3\xa9", "mx.example.org", "%{l}", "caf\xc3\xa9", "lowercase: as is"},
      {"Macro Error", "mx.example.org", "%{l} in implementation", "Macro Error in implementation",
       "a space from the local-part (explanation)"},
      {"%{d}", "mx.example.org", "%{l}.x.example", "%{d}.x.example",
       "an expansion is not expanded again"},
      {"100%", "mx.example.org", "%{L}", "100%25", "\"%\" escaped"},
      {"user", "[192.0.2.3]", "%{H}", "%5B192.0.2.3%5D", "an address literal HELO"},
      {"user", "JUMPIN' JUPITER", "%{h}.x.example", "JUMPIN' JUPITER.x.example",
       "an invalid HELO, inserted as is"},
      {"user", "JUMPIN' JUPITER", "%{H}", "JUMPIN%27%20JUPITER", "escaped"},
      {"a.b.c", "mx.example.org", "%{l1}.%{lr}", "c.c.b.a", "a local-part's dots split it"},
      {"first..last", "mx.example.org", "%{l2}", ".last", "an empty part is kept"},
  };
  for (const auto& c : cases) {
    MacroContext context = rfc_context("192.0.2.3");
    context.local_part = c.local_part;
    context.sender = std::string(c.local_part) + "@email.example.com";
    context.helo = c.helo;
    const auto out = expand_macros(c.text, context, MacroUse::Explanation);
    ASSERT_TRUE(out) << c.text << " (" << c.rule << ")";
    EXPECT_EQ(*out, c.expected) << c.text << " (" << c.rule << ")";
  }
}

// §7.3: "%{i}" and "%{c}" of an IPv4-mapped client are the IPv4 address, and "%{v}" is
// "in-addr" (§5: such a client is an IPv4 client).
TEST(SpfMacro, AnIpv4MappedClientExpandsAsIpv4) {
  MacroContext c = rfc_context("192.0.2.3");
  c.ip.family = 6;
  c.ip.bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 3};
  EXPECT_EQ(expand_macros("%{ir}.%{v}.%{c}", c, MacroUse::Explanation),
            "3.2.0.192.in-addr.192.0.2.3");
}

TEST(SpfMacro, LongExpansionsLoseLeadingLabels) {
  MacroContext c = rfc_context("192.0.2.3");
  c.local_part = std::string(200, 'a') + "-" + std::string(60, 'b');
  const auto out = expand_macros("%{l-}.%{d}", c, MacroUse::DomainSpec);
  ASSERT_TRUE(out);
  EXPECT_LE(out->size(), 253u);
  EXPECT_EQ(*out, std::string(60, 'b') + ".email.example.com");
}

}  // namespace
}  // namespace mxgate::auth::spf
