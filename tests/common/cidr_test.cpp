#include "common/cidr.hpp"

#include <gtest/gtest.h>

namespace mxgate::common {
namespace {

TEST(ParseCidr, CanonicalisesNetworksAndBareAddresses) {
  struct Case {
    const char* input;
    const char* text;
  } cases[] = {
      {"192.0.2.77/24", "192.0.2.0/24"},
      {"192.0.2.7", "192.0.2.7/32"},
      {"2001:DB8::1/32", "2001:db8::/32"},
      {"::1", "::1/128"},
      {"10.1.2.3/0", "0.0.0.0/0"},
      {"::ffff:192.0.2.1", "192.0.2.1/32"},
      {"2001:db8:1:2::/63", "2001:db8:1:2::/63"},
  };
  for (const auto& c : cases) {
    auto cidr = parse_cidr(c.input);
    ASSERT_TRUE(cidr) << c.input;
    EXPECT_EQ(cidr->text(), c.text) << c.input;
  }
}

TEST(ParseCidr, RefusesGarbage) {
  for (const char* input : {"", "192.0.2.0/33", "::/129", "192.0.2.0/", "192.0.2/24", "a/8",
                            "192.0.2.0/2x", "192.0.2.0/-1", "example.com"}) {
    EXPECT_FALSE(parse_cidr(input)) << input;
  }
}

TEST(Cidr, ContainsOnlyAddressesOfItsNetworkAndFamily) {
  auto net = *parse_cidr("192.0.2.0/24");
  EXPECT_TRUE(net.contains(*parse_ip("192.0.2.255")));
  EXPECT_FALSE(net.contains(*parse_ip("192.0.3.1")));
  EXPECT_FALSE(net.contains(*parse_ip("::1")));
  EXPECT_TRUE(net.contains(*parse_ip("::ffff:192.0.2.9")));
  auto v6 = *parse_cidr("2001:db8::/33");
  EXPECT_TRUE(v6.contains(*parse_ip("2001:db8:7fff::1")));
  EXPECT_FALSE(v6.contains(*parse_ip("2001:db8:8000::1")));
}

// RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is the IPv4 address a.b.c.d; other IPv6 addresses (the
// deprecated IPv4-compatible ::a.b.c.d among them) and IPv4 ones stay as they are.
TEST(Unmapped, TurnsOnlyIpv4MappedAddressesIntoIpv4) {
  IpBytes mapped;
  mapped.family = 6;
  mapped.bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(ip_text(unmapped(mapped)), "192.0.2.1");
  EXPECT_EQ(unmapped(mapped).family, 4);
  IpBytes compatible = mapped;
  compatible.bytes[10] = compatible.bytes[11] = 0;
  EXPECT_EQ(ip_text(unmapped(compatible)), "::192.0.2.1");
  EXPECT_EQ(ip_text(unmapped(*parse_ip("192.0.2.1"))), "192.0.2.1");
  EXPECT_EQ(ip_text(unmapped(*parse_ip("2001:db8::1"))), "2001:db8::1");
}

}  // namespace
}  // namespace mxgate::common
