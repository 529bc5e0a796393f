// IP networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32"; a bare address is a /32 or
// /128), for trusted-network lists and listings. Pure; parse_cidr never throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::common {

struct IpBytes {
  int family = 0;                       // 4 or 6
  std::array<std::uint8_t, 16> bytes{};  // network byte order; IPv4 in the first 4 bytes
};

// "192.0.2.7", "2001:db8::7" (RFC 5952 form, as inet_ntop writes it).
std::string ip_text(const IpBytes& ip);

// Parses a textual IPv4 or IPv6 address; an IPv4-mapped IPv6 address becomes IPv4.
std::optional<IpBytes> parse_ip(std::string_view text);

// `ip`, or the IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2)
// stands for: what an IPv6 socket reports for an IPv4 peer.
IpBytes unmapped(const IpBytes& ip);

struct Cidr {
  IpBytes network;  // host bits zero
  int prefix = 0;

  bool contains(const IpBytes& ip) const;
  std::string text() const;  // canonical: "192.0.2.0/24", "2001:db8::/32"
};

// The network of `prefix` bits that holds `ip` (host bits cleared). prefix must be in range.
Cidr network_of(const IpBytes& ip, int prefix);

// nullopt for anything that is not an address with an optional "/prefix" in range.
std::optional<Cidr> parse_cidr(std::string_view text);

}  // namespace mxgate::common
