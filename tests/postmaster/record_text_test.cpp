// The feed format of `mxgate rep import|export` and the texts around it: every bad line gets a
// message that names the problem, nothing throws, and an exported line reads back as the same
// listing.
#include "postmaster/record_text.hpp"

#include <gtest/gtest.h>

#include <random>

#include "content/message_parser.hpp"

namespace mxgate::postmaster {
namespace {

using reputation::Listing;
using reputation::ListingAction;
using storage::Family;

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z

storage::StoreOptions defaults() { return {}; }

FeedParser parser() { return FeedParser(defaults(), kNow, "import:test.csv"); }

TEST(RepTarget, AddressesNetworksAndTheirCanonicalText) {
  std::string error;
  struct Case {
    const char* text;
    Family family;
    const char* canonical;
  };
  for (const Case& c :
       {Case{"192.0.2.7", Family::Ip, "192.0.2.7"}, Case{" 192.0.2.7 ", Family::Ip, "192.0.2.7"},
        Case{"192.0.2.7/32", Family::Ip, "192.0.2.7"},
        Case{"2001:DB8:0::7", Family::Ip, "2001:db8::7"},
        Case{"::ffff:192.0.2.7", Family::Ip, "192.0.2.7"},
        Case{"192.0.2.99/24", Family::Network, "192.0.2.0/24"},
        Case{"2001:db8:1:2::/64", Family::Network, "2001:db8:1:2::/64"},
        Case{"2001:db8:1::/48", Family::Network, "2001:db8:1::/48"}}) {
    const auto target = parse_target(c.text, defaults(), error);
    ASSERT_TRUE(target) << c.text << ": " << error;
    EXPECT_EQ(target->family, c.family) << c.text;
    EXPECT_EQ(target_text(*target), c.canonical);
  }
}

TEST(RepTarget, SenderDomainsAreNamedWithTheirPrefix) {
  std::string error;
  const auto target = parse_target("domain:Mail.Example.COM.", defaults(), error);
  ASSERT_TRUE(target) << error;
  EXPECT_EQ(target->family, storage::Family::SenderDomain);
  EXPECT_EQ(target_text(*target), "domain:mail.example.com");
  for (const char* bad :
       {"domain:", "domain:localhost", "domain:a..b", "domain:<x>.com", "domain:.example.com"}) {
    EXPECT_FALSE(parse_target(bad, defaults(), error)) << bad;
    EXPECT_NE(error.find("is not a domain name"), std::string::npos) << error;
  }
}

TEST(RepTarget, LinkedDomainsAreNamedWithTheUriPrefix) {
  std::string error;
  struct Case {
    const char* text;
    const char* key;
    const char* canonical;
  };
  for (const Case& c : {Case{"uri:Evil.Example.", "evil.example", "uri:evil.example"},
                        Case{" uri:evil.example ", "evil.example", "uri:evil.example"},
                        Case{"uri:192.0.2.66", "192.0.2.66", "uri:192.0.2.66"},
                        Case{"uri:[2001:DB8::66]", "2001:db8::66", "uri:2001:db8::66"},
                        Case{"uri:2001:db8:0::66", "2001:db8::66", "uri:2001:db8::66"},
                        // an internationalized name: its A-label, the form links are looked up by
                        Case{"uri:B\xc3\xbc"
                             "cher.example",
                             "xn--bcher-kva.example", "uri:xn--bcher-kva.example"}}) {
    const auto target = parse_target(c.text, defaults(), error);
    ASSERT_TRUE(target) << c.text << ": " << error;
    EXPECT_EQ(target->family, Family::LinkedDomain) << c.text;
    EXPECT_EQ(target->key, c.key) << c.text;
    EXPECT_EQ(target_text(*target), c.canonical);
  }
  for (const char* bad : {"uri:", "uri:localhost", "uri:a..b", "uri:<x>.com", "uri:192.0.2.0/24"}) {
    EXPECT_FALSE(parse_target(bad, defaults(), error)) << bad;
    EXPECT_NE(error.find("is not a domain name or an IP address"), std::string::npos) << error;
  }
}

// Links are reduced to their registrable domain before they are looked up: a listing of a
// name below it would never match, and the refusal names the listing that would.
TEST(RepTarget, LinkedDomainsMustBeRegistrable) {
  std::string error;
  const std::string host = "www.evil.example.co.uk";
  const std::string registrable = "example.co.uk";
  ASSERT_EQ(content::registrable_domain(host), registrable);
  const auto target = parse_target("uri:" + host, defaults(), error);
  EXPECT_FALSE(target);
  EXPECT_EQ(error, "'" + host + "': links are looked up by their registrable domain; list uri:" +
                       registrable + " instead");
  EXPECT_FALSE(parse_target("uri:co.uk", defaults(), error));
  EXPECT_NE(error.find("is a public suffix"), std::string::npos) << error;
}

TEST(RepTarget, RefusalsSayWhy) {
  std::string error;
  EXPECT_FALSE(parse_target("mail.example.com", defaults(), error));
  EXPECT_EQ(error, "'mail.example.com' is not an IP address or a network");
  EXPECT_FALSE(parse_target("10.0.0.0/8", defaults(), error));
  EXPECT_EQ(error,
            "'10.0.0.0/8': networks are looked up as /24 (IPv4) and /48 or /64 (IPv6); list "
            "each of those instead");
  storage::StoreOptions options;
  options.v4_network_prefixes = {16, 24};
  EXPECT_TRUE(parse_target("10.1.0.0/16", options, error));
  EXPECT_FALSE(parse_target("192.0.2.0/33", defaults(), error));
  EXPECT_FALSE(parse_target("", defaults(), error));
}

TEST(RepExpiry, EveryAcceptedForm) {
  std::string error;
  struct Case {
    const char* text;
    std::int64_t expected;
  };
  for (const Case& c :
       {Case{"", 0}, Case{"  ", 0}, Case{"7d", kNow + 7 * 86400}, Case{"90s", kNow + 90},
        Case{"1500ms", kNow + 2}, Case{"12h", kNow + 43200}, Case{"1798675200", 1798675200},
        Case{"0", 0}, Case{"2026-12-31T00:00:00Z", 1798675200},
        Case{"2026-12-31t00:00:00z", 1798675200}, Case{"2026-12-31 00:00:00Z", 1798675200},
        Case{"2026-12-31T02:30:00+02:30", 1798675200},
        Case{"2026-12-30T23:00:00.75-01:00", 1798675200},
        Case{"2024-02-29T00:00:00Z", 1709164800}}) {
    const auto at = parse_expiry(c.text, kNow, error);
    ASSERT_TRUE(at) << c.text << ": " << error;
    EXPECT_EQ(*at, c.expected) << c.text;
  }
}

TEST(RepExpiry, BadFormsAreNamed) {
  for (const char* text : {"5x", "-1d", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                           "2026-12-31", "2026-12-31T00:00:00", "2026-12-31T24:00:00Z",
                           "2026-12-31T00:00:00+2:00", "99999999999999999999", "d"}) {
    std::string error;
    EXPECT_FALSE(parse_expiry(text, kNow, error)) << text;
    EXPECT_NE(error.find("expected empty (never), a duration"), std::string::npos) << error;
  }
}

TEST(RepTime, FormatIsRfc3339Utc) {
  EXPECT_EQ(format_time(1798675200), "2026-12-31T00:00:00Z");
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00Z");
}

TEST(FeedParser, GoodLines) {
  auto p = parser();
  FeedLine line;
  std::string error;
  ASSERT_EQ(p.parse("192.0.2.7,block,\"spam, lots of \"\"it\"\"\",7d", line, error),
            FeedParser::Status::Listing)
      << error;
  EXPECT_EQ(line.target.family, Family::Ip);
  EXPECT_EQ(line.listing, (Listing{ListingAction::Block, "spam, lots of \"it\"", "import:test.csv",
                                   kNow, kNow + 7 * 86400}));
  ASSERT_EQ(
      p.parse(" 198.51.100.0/24 , ALLOW , range ,2026-12-31T00:00:00Z, feed-x \r", line, error),
      FeedParser::Status::Listing)
      << error;
  EXPECT_EQ(line.target.family, Family::Network);
  EXPECT_EQ(line.listing, (Listing{ListingAction::Allow, "range", "feed-x", kNow, 1798675200}));
  ASSERT_EQ(p.parse("2001:db8::7,none", line, error), FeedParser::Status::Listing);
  EXPECT_EQ(line.listing.action, ListingAction::None);
  EXPECT_EQ(line.listing.reason, "");
  EXPECT_EQ(line.listing.expires, 0);
  ASSERT_EQ(p.parse("192.0.2.8,block,,,", line, error), FeedParser::Status::Listing);
  EXPECT_EQ(line.listing.source, "import:test.csv");
  ASSERT_EQ(p.parse("192.0.2.9,block,\"  padded  \"", line, error), FeedParser::Status::Listing);
  EXPECT_EQ(line.listing.reason, "  padded  ");
}

TEST(FeedParser, CommentsAndBlankLinesAreSkipped) {
  auto p = parser();
  FeedLine line;
  std::string error;
  for (const char* text : {"", "   ", "\r", "# ip_or_cidr,action", "  # indented comment"}) {
    EXPECT_EQ(p.parse(text, line, error), FeedParser::Status::Skipped) << text;
  }
}

TEST(FeedParser, BadLinesNameTheProblem) {
  struct Case {
    const char* line;
    const char* error;
  };
  for (const Case& c : {
           Case{"192.0.2.7",
                "expected ip_or_cidr,action,reason,expiry,source (at least the "
                "first two)"},
           Case{"ip_or_cidr,action,reason,expiry",
                "'ip_or_cidr' is not an IP address or a "
                "network"},
           Case{"192.0.2.7,blok", "action 'blok': expected block, allow or none"},
           Case{"192.0.2.7,,", "action '': expected block, allow or none"},
           Case{"10.0.0.0/8,block",
                "'10.0.0.0/8': networks are looked up as /24 (IPv4) and /48 "
                "or /64 (IPv6); list each of those instead"},
           Case{"192.0.2.7,block,r,soon",
                "expiry 'soon': expected empty (never), a duration "
                "(7d, 12h, 30m, 90s), an RFC 3339 time "
                "(2026-12-31T00:00:00Z) or Unix seconds"},
           Case{"192.0.2.7,block,\"open", "field 3: no closing quote (a field ends on its line)"},
           Case{"192.0.2.7,block,\"a\"b", "field 3: text after the closing quote"},
           Case{"192.0.2.7,block,a\"b",
                "field 3: a quote in an unquoted field (quote the whole "
                "field)"},
           Case{"192.0.2.7,block,a,,b,c",
                "more than 5 fields "
                "(ip_or_cidr,action,reason,expiry,source)"},
           Case{"192.0.2.7,block,tab\there", "control character in the reason"},
           Case{"192.0.2.7,block,,,\"x\x01\"", "control character in the source"},
       }) {
    auto p = parser();
    FeedLine line;
    std::string error;
    EXPECT_EQ(p.parse(c.line, line, error), FeedParser::Status::Bad) << c.line;
    EXPECT_EQ(error, c.error) << c.line;
  }
  auto p = parser();
  FeedLine line;
  std::string error;
  const std::string long_reason = "192.0.2.7,block," + std::string(1025, 'r');
  EXPECT_EQ(p.parse(long_reason, line, error), FeedParser::Status::Bad);
  EXPECT_EQ(error, "reason longer than 1024 bytes");
}

TEST(FeedParser, RandomBytesNeverCrashAndBadLinesAlwaysSayWhy) {
  std::mt19937 random(7);
  const std::string alphabet = "0123456789abcdef.:/,\"# \t\r\x01\xff-TZblockalow";
  auto p = parser();
  FeedLine line;
  for (int i = 0; i < 20000; ++i) {
    std::string text(random() % 60, ' ');
    for (char& c : text) c = alphabet[random() % alphabet.size()];
    std::string error;
    if (p.parse(text, line, error) == FeedParser::Status::Bad) {
      EXPECT_FALSE(error.empty()) << text;
    }
  }
}

TEST(FeedLine, ExportedLinesReadBackAsTheSameListing) {
  std::string error;
  const auto target = *parse_target("2001:db8::/48", defaults(), error);
  for (const Listing& listing :
       {Listing{ListingAction::Block, "plain", "cli", kNow, 0},
        Listing{ListingAction::Allow, "comma, and \"quotes\"", "import:a.csv", kNow, 1798675200},
        Listing{ListingAction::Block, " leading space", "feed,x", kNow, kNow + 1},
        Listing{ListingAction::Block, "", "", kNow, 0}}) {
    std::string out;
    append_feed_line(out, target, listing);
    ASSERT_EQ(out.back(), '\n');
    out.pop_back();
    auto p = FeedParser(defaults(), kNow, "");
    FeedLine line;
    ASSERT_EQ(p.parse(out, line, error), FeedParser::Status::Listing) << out << ": " << error;
    EXPECT_EQ(line.listing, listing) << out;
    EXPECT_EQ(target_text(line.target), "2001:db8::/48");
  }
  std::string out;
  append_feed_line(out, target, {ListingAction::Block, "line\nbreak", "s", kNow, 0});
  EXPECT_EQ(out, "2001:db8::/48,block,line break,,s\n");
}

TEST(FeedLine, LinkedAndSenderDomainsReadBackAndHaveNoRamp) {
  std::string error;
  for (const char* name : {"uri:evil.example", "uri:192.0.2.66", "domain:spam.example"}) {
    const auto target = *parse_target(name, defaults(), error);
    const Listing listing{ListingAction::Block, "malware host", "feed", kNow, 0};
    std::string out;
    append_feed_line(out, target, listing);
    EXPECT_EQ(out, std::string(name) + ",block,malware host,,feed\n");
    out.pop_back();
    auto p = FeedParser(defaults(), kNow, "");
    FeedLine line;
    ASSERT_EQ(p.parse(out, line, error), FeedParser::Status::Listing) << out << ": " << error;
    EXPECT_EQ(line.target.family, target.family);
    EXPECT_EQ(line.target.key, target.key);
    EXPECT_EQ(line.listing, listing);
    conf::ThrottleConfig throttle;
    throttle.enabled = true;
    EXPECT_FALSE(ramp_shown(throttle, target, nullptr, kNow)) << name;
  }
}

TEST(DescribeRecord, ALinkedDomainShowsItsListingAndNoCounters) {
  reputation::Record record;
  record.listing = {ListingAction::Block, "malware", "cli", kNow, 0};
  const auto text = describe_record("uri:evil.example", &record, kNow);
  EXPECT_TRUE(text.starts_with("uri:evil.example\n")) << text;
  EXPECT_NE(text.find("listing    block reason=\"malware\" source=cli expires=never"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("a linked domain: block refuses messages that link to it"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("last 30 days"), std::string::npos) << text;
}

TEST(DescribeRecord, ListingAndNoRecord) {
  EXPECT_EQ(describe_record("192.0.2.7", nullptr, kNow), "192.0.2.7\n  no record\n");
  reputation::Record record;
  record.listing = {ListingAction::Block, "spam", "cli", kNow, kNow - 1};
  const auto text = describe_record("192.0.2.7", &record, kNow);
  EXPECT_NE(text.find("listing    block reason=\"spam\" source=cli "
                      "expires=2027-01-15T07:59:59Z (expired)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace mxgate::postmaster
