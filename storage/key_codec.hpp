// The one codec for reputation keys, with an explicit byte layout so that keys sort usefully in
// RocksDB's bytewise order:
//   IP and network keys: [family tag: 4 or 6][prefix length][address bytes, network byte order],
//     host bits zeroed; an IP key is the network key of a /32 or /128. IPv4-mapped IPv6
//     addresses (::ffff:192.0.2.1) are treated as IPv4. Keys of one prefix length sort by
//     address (192.0.2.1 < 192.0.2.2 < 192.0.3.0).
//   Domain keys: the domain in ASCII lower case without a trailing dot.
// Pure functions, thread-safe; they never throw on input text (nullopt instead).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::storage {

// The column family a key belongs to.
enum class Family { Ip, Network, SenderDomain, AuthDomain };
inline constexpr int kFamilyCount = 4;

inline constexpr int kDefaultV4NetworkPrefix = 24;
inline constexpr int kDefaultV6NetworkPrefixes[] = {48, 64};

std::string_view family_name(Family family);  // "ip", "network", "sender_domain", "auth_domain"

// The key of one address (/32 or /128).
std::string ip_key(const boost::asio::ip::address& address);

// The key of the network of `prefix_len` bits around `address`; a prefix longer than the
// address family's width (32 or 128) is clamped to it, a negative one counts as 0.
std::string network_key(const boost::asio::ip::address& address, int prefix_len);

// Lower case, one trailing dot removed ("Example.COM." -> "example.com").
std::string domain_key(std::string_view domain);

struct Cidr {
  boost::asio::ip::address network;  // host bits zero; IPv4-mapped IPv6 becomes IPv4
  int prefix_len = 0;
};

// "192.0.2.0/24", "2001:db8::/48", or a bare address (a /32 or /128). Host bits are cleared.
// nullopt for anything else, including a prefix out of range.
std::optional<Cidr> parse_cidr(std::string_view text);

// The key of `text` in `family` ("192.0.2.7", "192.0.2.0/24", "example.com"), for `rep get` and
// imports. An Ip key needs a bare address; a Network key needs a prefix.
std::optional<std::string> key_from_text(Family family, std::string_view text);

// The text of a key: "192.0.2.7" (Ip), "192.0.2.0/24" (Network), the domain (domains).
// nullopt if the bytes are not a valid key of that family.
std::optional<std::string> key_to_text(Family family, std::string_view key);

}  // namespace mxgate::storage
