// The DKIM-Signature field (RFC 6376 §3.5, §6.1.1; RFC 8301; RFC 8463): what is read, what is
// refused and why, and the b= removal of §3.7. No input crashes the parser.
#include "auth/dkim_signature.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <random>

namespace mxgate::auth {
namespace {

// RFC 8463 Appendix A.3, the ed25519 signature's value.
constexpr std::string_view kRfc8463Value =
    " v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

// A minimal valid value; tests append or replace tags.
constexpr std::string_view kMinimal =
    "v=1; a=rsa-sha256; d=Example.ORG; s=Sel; h=From; bh=AAAA; b=AAAA";

DkimSignatureResult parse(std::string_view value) { return parse_dkim_signature(value); }

TEST(DkimSignature, ReadsTheRfc8463Signature) {
  const DkimSignatureResult r = parse(kRfc8463Value);
  ASSERT_TRUE(r.signature) << r.error;
  const DkimSignature& s = *r.signature;
  EXPECT_EQ(s.algorithm, DkimAlgorithm::Ed25519Sha256);
  EXPECT_EQ(s.header_canon, DkimCanon::Relaxed);
  EXPECT_EQ(s.body_canon, DkimCanon::Relaxed);
  EXPECT_EQ(s.domain, "football.example.com");
  EXPECT_EQ(s.selector, "brisbane");
  EXPECT_EQ(s.identity, "@football.example.com");
  EXPECT_EQ(s.timestamp, 1528637909u);
  EXPECT_FALSE(s.expiration);
  EXPECT_FALSE(s.body_length);
  EXPECT_EQ(s.signed_headers, (std::vector<std::string>{"from", "to", "subject", "date",
                                                        "message-id", "from", "subject", "date"}));
  EXPECT_EQ(s.signature.size(), 64u);  // an Ed25519 signature
  EXPECT_EQ(s.body_hash.size(), 32u);  // a SHA-256 digest
  EXPECT_EQ(s.key_query_name(), "brisbane._domainkey.football.example.com");
}

TEST(DkimSignature, DefaultsAreSimpleSimpleAndTheDomainAsIdentity) {
  const DkimSignatureResult r = parse(kMinimal);
  ASSERT_TRUE(r.signature) << r.error;
  EXPECT_EQ(r.signature->header_canon, DkimCanon::Simple);
  EXPECT_EQ(r.signature->body_canon, DkimCanon::Simple);
  EXPECT_EQ(r.signature->domain, "example.org");  // lower case
  EXPECT_EQ(r.signature->selector, "sel");
  EXPECT_EQ(r.signature->identity, "@example.org");
  EXPECT_EQ(r.signature->identity_domain(), "example.org");
  EXPECT_EQ(r.signature->signed_headers, (std::vector<std::string>{"from"}));
  EXPECT_EQ(r.domain, "Example.ORG");  // as written, for header.d
  EXPECT_EQ(r.selector, "Sel");
}

TEST(DkimSignature, ReadsCanonicalizationPairs) {
  const struct {
    std::string_view c;
    DkimCanon header, body;
  } cases[] = {
      {"relaxed", DkimCanon::Relaxed, DkimCanon::Simple},  // body defaults to simple
      {"simple/relaxed", DkimCanon::Simple, DkimCanon::Relaxed},
      {"Relaxed/Relaxed", DkimCanon::Relaxed, DkimCanon::Relaxed},
  };
  for (const auto& c : cases) {
    const DkimSignatureResult r = parse(std::string(kMinimal) + "; c=" + std::string(c.c));
    ASSERT_TRUE(r.signature) << c.c << ": " << r.error;
    EXPECT_EQ(r.signature->header_canon, c.header) << c.c;
    EXPECT_EQ(r.signature->body_canon, c.body) << c.c;
  }
}

TEST(DkimSignature, ReadsOptionalTags) {
  const DkimSignatureResult r = parse(std::string(kMinimal) +
                                      "; i=user@Mail.Example.org; l=1234; t=100; x=200; "
                                      "q=dns/txt; z=From:x|To:y; unknown=ignored");
  ASSERT_TRUE(r.signature) << r.error;
  EXPECT_EQ(r.signature->identity, "user@Mail.Example.org");
  EXPECT_EQ(r.signature->identity_domain(), "mail.example.org");
  EXPECT_EQ(r.signature->body_length, 1234u);
  EXPECT_EQ(r.signature->timestamp, 100u);
  EXPECT_EQ(r.signature->expiration, 200u);
}

TEST(DkimSignature, HugeNumbersSaturate) {
  const DkimSignatureResult r =
      parse(std::string(kMinimal) + "; l=" + std::string(76, '9') + "; x=99999999999999999999");
  ASSERT_TRUE(r.signature) << r.error;
  EXPECT_EQ(r.signature->body_length, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(r.signature->expiration, std::numeric_limits<std::uint64_t>::max());
}

// Replaces the tag `name` of kMinimal (or appends it) with `name=value`, or drops it when value
// is nullopt.
std::string with_tag(std::string_view name, std::optional<std::string_view> value) {
  std::string out;
  bool replaced = false;
  std::string_view rest = kMinimal;
  while (!rest.empty()) {
    const auto end = rest.find("; ");
    const std::string_view spec = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (spec.substr(0, spec.find('=')) == name) {
      replaced = true;
      if (!value) continue;
      out += std::string(name) + "=" + std::string(*value) + "; ";
    } else {
      out += std::string(spec) + "; ";
    }
  }
  if (!replaced && value) out += std::string(name) + "=" + std::string(*value) + "; ";
  return out;
}

TEST(DkimSignature, RefusalsSayWhy) {
  const struct {
    std::string value;
    std::string_view error;
  } cases[] = {
      {with_tag("v", std::nullopt), "missing v="},
      {with_tag("v", "2"), "unsupported version v="},
      {with_tag("a", std::nullopt), "missing a="},
      {with_tag("a", "rsa-sha1"), "rsa-sha1 is not accepted (RFC 8301)"},
      {with_tag("a", "RSA-SHA1"), "rsa-sha1 is not accepted (RFC 8301)"},
      {with_tag("a", "ed448-sha512"), "unsupported algorithm a="},
      {with_tag("b", std::nullopt), "missing b="},
      {with_tag("b", ""), "empty b="},
      {with_tag("b", "not*base64"), "b= is not base64"},
      {with_tag("bh", std::nullopt), "missing bh="},
      {with_tag("bh", "A"), "bh= is not base64"},
      {with_tag("c", "nowsp"), "unsupported canonicalization c="},
      {with_tag("c", "relaxed/nofws"), "unsupported canonicalization c="},
      {with_tag("c", ""), "unsupported canonicalization c="},
      {with_tag("d", std::nullopt), "missing d="},
      {with_tag("d", "exa mple.org"), "malformed d="},
      {with_tag("d", "example..org"), "malformed d="},
      {with_tag("d", "example.org."), "malformed d="},
      {with_tag("s", std::nullopt), "missing s="},
      {with_tag("s", "a/b"), "malformed s="},
      {with_tag("h", std::nullopt), "missing h="},
      {with_tag("h", "to : subject"), "h= does not sign From"},
      {with_tag("h", "from-x"), "h= does not sign From"},
      {with_tag("h", "from::to"), "malformed h="},
      {with_tag("h", "from : to :"), "malformed h="},
      {with_tag("i", "user"), "malformed i="},
      {with_tag("i", "user@"), "malformed i="},
      {with_tag("i", "@example.net"), "i= is not within d="},
      {with_tag("i", "@notexample.org"), "i= is not within d="},
      {with_tag("i", "@org"), "i= is not within d="},
      {with_tag("l", "-1"), "malformed l="},
      {with_tag("l", ""), "malformed l="},
      {with_tag("l", std::string(77, '1')), "malformed l="},
      {with_tag("t", "12a"), "malformed t="},
      {with_tag("x", "soon"), "malformed x="},
      {with_tag("t", "200") + "x=100", "x= is not after t="},
      {with_tag("t", "200") + "x=200", "x= is not after t="},
      {with_tag("q", "dns"), "unsupported query method q="},
      {with_tag("q", "http/well-known"), "unsupported query method q="},
      {with_tag("d", "example.org") + "d=example.org", "tag \"d\" appears twice"},
      {"v=1; a", "tag without \"=\""},
  };
  for (const auto& c : cases) {
    const DkimSignatureResult r = parse(c.value);
    EXPECT_FALSE(r.signature) << c.value;
    EXPECT_EQ(r.error, c.error) << c.value;
  }
}

TEST(DkimSignature, AcceptsIdentitiesInsideTheDomain) {
  for (std::string_view i : {"@example.org", "@EXAMPLE.org", "joe@example.org", "@news.example.org",
                             "\"a@b\"@deep.sub.example.org"}) {
    const DkimSignatureResult r = parse(with_tag("i", i));
    EXPECT_TRUE(r.signature) << i << ": " << r.error;
  }
  EXPECT_TRUE(parse(with_tag("q", "dns/txt:other")).signature);
  EXPECT_TRUE(parse(with_tag("h", "Subject:FROM")).signature);
}

TEST(DkimSignature, ReportsDomainAndSelectorOfAnUnusableSignature) {
  const DkimSignatureResult r = parse(with_tag("a", "rsa-sha1"));
  EXPECT_FALSE(r.signature);
  EXPECT_EQ(r.domain, "Example.ORG");
  EXPECT_EQ(r.selector, "Sel");
}

TEST(DkimSignature, SubdomainRelation) {
  EXPECT_TRUE(is_same_or_subdomain("example.org", "example.org"));
  EXPECT_TRUE(is_same_or_subdomain("Mail.Example.org", "example.ORG"));
  EXPECT_FALSE(is_same_or_subdomain("notexample.org", "example.org"));
  EXPECT_FALSE(is_same_or_subdomain("org", "example.org"));
  EXPECT_FALSE(is_same_or_subdomain("", "example.org"));
}

TEST(DkimSignature, RemovesTheBValueByteForByte) {
  const struct {
    std::string_view in, out;
  } cases[] = {
      {"v=1; b=abc; bh=xyz", "v=1; b=; bh=xyz"},
      {"v=1; bh=xyz;\r\n b=abc\r\n def", "v=1; bh=xyz;\r\n b="},
      {"v=1; bh=xyz; b = abc ;", "v=1; bh=xyz; b =;"},
      {"b=\r\n abc; v=1", "b=; v=1"},
      {"v=1; bh=xyz", "v=1; bh=xyz"},
      {"v=1;\tb=;", "v=1;\tb=;"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(remove_b_value(c.in), c.out) << c.in;
  EXPECT_EQ(remove_b_value(kRfc8463Value),
            " v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
            " d=football.example.com; i=@football.example.com;\r\n"
            " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
            " subject : date : message-id : from : subject : date;\r\n"
            " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
            " b=");
}

TEST(DkimSignature, NoInputCrashesTheParser) {
  // Every prefix of a valid value, and random octet strings over the tag-list alphabet.
  for (std::size_t n = 0; n <= kRfc8463Value.size(); ++n) {
    const DkimSignatureResult r = parse(kRfc8463Value.substr(0, n));
    EXPECT_TRUE(r.signature || !r.error.empty()) << n;
  }
  std::mt19937 random(6376);
  const std::string_view alphabet = "vabhcdilqstx=;:@./- \t\r\n0123456789AZaz+\x01\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    const auto size = random() % 80;
    for (std::size_t i = 0; i < size; ++i) value += alphabet[random() % alphabet.size()];
    const DkimSignatureResult r = parse(value);
    EXPECT_TRUE(r.signature || !r.error.empty()) << value;
    (void)remove_b_value(value);
  }
}

}  // namespace
}  // namespace mxgate::auth
