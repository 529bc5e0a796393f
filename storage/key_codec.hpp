// The one codec for reputation keys, with an explicit byte layout so that keys sort usefully in
// RocksDB's bytewise order:
//   IP and network keys: [family tag: 4 or 6][prefix length][address bytes, network byte order],
//     host bits zeroed; an IP key is the network key of a /32 or /128. IPv4-mapped IPv6
//     addresses (::ffff:192.0.2.1) are treated as IPv4. Keys of one prefix length sort by
//     address (192.0.2.1 < 192.0.2.2 < 192.0.3.0).
//   Domain keys: the domain in ASCII lower case without a trailing dot.
//   Linked-domain keys (Family::LinkedDomain, the "uri:" listings of issue 17: domains that
//     messages link to): a domain's key as above; an IP literal's key is the address's canonical
//     text ("192.0.2.7", "2001:db8::7": lower case, zeros compressed, IPv4-mapped as IPv4),
//     never bracketed. A domain never contains ':' and a registrable domain never ends in a
//     digit label alone, so the two cannot collide; text keys keep `rep export` and the logs
//     readable, and the content checks make them with linked_domain_key() without parsing twice.
// Pure functions, thread-safe; they never throw on input text (nullopt instead).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::storage {

// The column family a key belongs to.
// LinkedDomain (issue 17) came fifth: a store made with four families gets its column family
// when it is next opened for writing.
enum class Family { Ip, Network, SenderDomain, AuthDomain, LinkedDomain };
inline constexpr int kFamilyCount = 5;

inline constexpr int kDefaultV4NetworkPrefix = 24;
inline constexpr int kDefaultV6NetworkPrefixes[] = {48, 64};

// "ip", "network", "sender_domain", "auth_domain", "linked_domain" (also the column families').
std::string_view family_name(Family family);

// The key of one address (/32 or /128).
std::string ip_key(const boost::asio::ip::address& address);

// The key of the network of `prefix_len` bits around `address`; a prefix longer than the
// address family's width (32 or 128) is clamped to it, a negative one counts as 0.
std::string network_key(const boost::asio::ip::address& address, int prefix_len);

// Lower case, one trailing dot removed ("Example.COM." -> "example.com").
std::string domain_key(std::string_view domain);

// The LinkedDomain key of a linked domain or IP literal as found in a message or typed by an
// operator: "Evil.Example." -> "evil.example", "[2001:DB8::7]" or "2001:db8:0::7" ->
// "2001:db8::7", "::ffff:192.0.2.7" -> "192.0.2.7". Anything that is not an address is a domain.
std::string linked_domain_key(std::string_view text);

struct Cidr {
  boost::asio::ip::address network;  // host bits zero; IPv4-mapped IPv6 becomes IPv4
  int prefix_len = 0;
};

// "192.0.2.0/24", "2001:db8::/48", or a bare address (a /32 or /128). Host bits are cleared.
// nullopt for anything else, including a prefix out of range.
std::optional<Cidr> parse_cidr(std::string_view text);

// The key of `text` in `family` ("192.0.2.7", "192.0.2.0/24", "example.com"), for `rep get` and
// imports. An Ip key needs a bare address; a Network key needs a prefix; a LinkedDomain key is
// linked_domain_key(text) (not empty).
std::optional<std::string> key_from_text(Family family, std::string_view text);

// The text of a key: "192.0.2.7" (Ip), "192.0.2.0/24" (Network), the domain (domains), the
// domain or address text (LinkedDomain).
// nullopt if the bytes are not a valid key of that family.
std::optional<std::string> key_to_text(Family family, std::string_view key);

}  // namespace mxgate::storage
