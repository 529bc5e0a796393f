#include "storage/key_codec.hpp"

#include <gtest/gtest.h>

namespace mxgate::storage {
namespace {

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(KeyCodec, IpKeysSortByAddress) {
  EXPECT_LT(ip_key(ip("192.0.2.1")), ip_key(ip("192.0.2.2")));
  EXPECT_LT(ip_key(ip("192.0.2.2")), ip_key(ip("192.0.3.0")));
  EXPECT_LT(ip_key(ip("192.0.3.0")), ip_key(ip("198.51.100.1")));
  EXPECT_LT(ip_key(ip("2001:db8::1")), ip_key(ip("2001:db8::2")));
  EXPECT_LT(ip_key(ip("2001:db8::ffff")), ip_key(ip("2001:db8:0:1::")));
}

TEST(KeyCodec, IpKeyLayoutIsTagPrefixThenNetworkOrderBytes) {
  EXPECT_EQ(ip_key(ip("192.0.2.1")), std::string("\x04\x20\xc0\x00\x02\x01", 6));
  const std::string v6 = ip_key(ip("2001:db8::1"));
  ASSERT_EQ(v6.size(), 18u);
  EXPECT_EQ(v6[0], 6);
  EXPECT_EQ(static_cast<unsigned char>(v6[1]), 128);
  EXPECT_EQ(static_cast<unsigned char>(v6[2]), 0x20);
  EXPECT_EQ(v6[17], 1);
}

TEST(KeyCodec, V4MappedAddressIsIpv4) {
  EXPECT_EQ(ip_key(ip("::ffff:192.0.2.1")), ip_key(ip("192.0.2.1")));
  EXPECT_EQ(network_key(ip("::ffff:192.0.2.1"), 24), network_key(ip("192.0.2.200"), 24));
}

struct MaskCase {
  const char* address;
  int prefix;
  const char* text;
};

class NetworkMasking : public testing::TestWithParam<MaskCase> {};

TEST_P(NetworkMasking, ZeroesHostBits) {
  const MaskCase& c = GetParam();
  const std::string key = network_key(ip(c.address), c.prefix);
  EXPECT_EQ(key_to_text(Family::Network, key), c.text);
  EXPECT_EQ(key_from_text(Family::Network, c.text), key);
}

INSTANTIATE_TEST_SUITE_P(
    KeyCodec, NetworkMasking,
    testing::Values(MaskCase{"192.0.2.77", 24, "192.0.2.0/24"},
                    MaskCase{"192.0.2.77", 20, "192.0.0.0/20"},
                    MaskCase{"2001:db8:abcd:1234:5678::1", 48, "2001:db8:abcd::/48"},
                    MaskCase{"2001:db8:abcd:1234:5678::1", 64, "2001:db8:abcd:1234::/64"},
                    MaskCase{"2001:db8:abcd:1234:5678::1", 0, "::/0"},
                    MaskCase{"192.0.2.77", 99, "192.0.2.77/32"}));

TEST(KeyCodec, DifferentPrefixesAreDifferentKeys) {
  EXPECT_NE(network_key(ip("2001:db8::1"), 48), network_key(ip("2001:db8::1"), 64));
}

TEST(KeyCodec, DomainKeyIsLowerCaseWithoutTrailingDot) {
  EXPECT_EQ(domain_key("Mail.Example.COM."), "mail.example.com");
  EXPECT_EQ(domain_key("example.com"), "example.com");
  EXPECT_EQ(key_from_text(Family::SenderDomain, "EXAMPLE.org."), "example.org");
  EXPECT_EQ(key_to_text(Family::AuthDomain, "example.org"), "example.org");
}

TEST(KeyCodec, IpKeyRoundTripsThroughText) {
  for (const char* text : {"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1"}) {
    const auto key = key_from_text(Family::Ip, text);
    ASSERT_TRUE(key) << text;
    EXPECT_EQ(key_to_text(Family::Ip, *key), text);
  }
}

TEST(KeyCodec, ParseCidr) {
  const auto cidr = parse_cidr("192.0.2.9/24");
  ASSERT_TRUE(cidr);
  EXPECT_EQ(cidr->network.to_string(), "192.0.2.0");
  EXPECT_EQ(cidr->prefix_len, 24);
  const auto bare = parse_cidr("2001:db8::1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->prefix_len, 128);
  for (const char* bad : {"", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/24x",
                          "example.com", "2001:db8::/129", "192.0.2/24"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(KeyCodec, RejectsWrongTextForFamily) {
  EXPECT_FALSE(key_from_text(Family::Ip, "192.0.2.0/24"));
  EXPECT_FALSE(key_from_text(Family::Network, "192.0.2.1"));
  EXPECT_FALSE(key_from_text(Family::SenderDomain, ""));
}

TEST(KeyCodec, LinkedDomainKeysAreDomainsOrCanonicalAddressText) {
  EXPECT_EQ(family_name(Family::LinkedDomain), "linked_domain");
  EXPECT_EQ(linked_domain_key("Evil.Example."), "evil.example");
  EXPECT_EQ(linked_domain_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(linked_domain_key("[2001:DB8:0::7]"), "2001:db8::7");
  EXPECT_EQ(linked_domain_key("2001:db8:0:0::7"), "2001:db8::7");
  EXPECT_EQ(linked_domain_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(key_from_text(Family::LinkedDomain, "EVIL.example"), "evil.example");
  EXPECT_EQ(key_from_text(Family::LinkedDomain, "[192.0.2.7]"), "192.0.2.7");
  EXPECT_FALSE(key_from_text(Family::LinkedDomain, ""));
  EXPECT_EQ(key_to_text(Family::LinkedDomain, "evil.example"), "evil.example");
  EXPECT_EQ(key_to_text(Family::LinkedDomain, "2001:db8::7"), "2001:db8::7");
}

TEST(KeyCodec, DecodingGarbageKeysIsNullopt) {
  EXPECT_FALSE(key_to_text(Family::Ip, ""));
  EXPECT_FALSE(key_to_text(Family::Ip, std::string("\x05\x20\x01\x02\x03\x04", 6)));
  EXPECT_FALSE(key_to_text(Family::Ip, std::string("\x04\x20\x01\x02\x03", 5)));
  EXPECT_FALSE(key_to_text(Family::Ip, std::string("\x04\x18\x01\x02\x03\x00", 6)));  // a /24
  EXPECT_FALSE(key_to_text(Family::Network, std::string("\x04\x21\x01\x02\x03\x04", 6)));
}

}  // namespace
}  // namespace mxgate::storage
