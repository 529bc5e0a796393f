// Where a DSN goes when no [[route]] serves its recipient's domain ([outbound], issue 20): the
// bounce_relay smarthosts when configured, else the domain's mail exchangers (RFC 5321 §5.1):
// the MX hosts by preference, equal preferences shuffled, each host's IPv4 then IPv6
// addresses, at most kMaxAddresses in all; a domain without MX records is its own exchanger
// (the implicit MX). Addresses that are one of our listeners are skipped: mail to them would
// loop back into mxgate.
// What cannot be delivered is part of the answer, as the reply its recipient gets:
//   DNS failure             451 4.4.3  retried on the queue's schedule
//   null MX (RFC 7505)      556 5.1.10 the DSN is dropped (RFC 7505 §4.2's code)
//   no such domain          550 5.1.2  (RFC 3463: bad destination system address)
//   exchangers, no address  550 5.4.4  (unable to route)
//   only our own addresses  550 5.4.6  (routing loop detected)
// Threading: on the caller's worker, with that worker's resolver.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "dns/resolver.hpp"
#include "smtp/reply.hpp"

namespace mxgate::relay {

inline constexpr std::size_t kMaxAddresses = 10;  // Postfix tries 5 (smtp_mx_address_limit)

struct Destination {
  enum class Kind { BounceRelay, Mx, ImplicitMx, NullMx, NoDomain, NoAddress, Loop, DnsError };
  Kind kind = Kind::DnsError;
  std::vector<conf::HostPort> hosts;  // BounceRelay, Mx, ImplicitMx: in the order to try
  smtp::Reply refusal;                // the others: the recipient's reply

  bool deliverable() const { return !hosts.empty(); }
};

std::string_view to_string(Destination::Kind kind);  // "mx", "null_mx", ... (metric labels)

// The exchangers in the order to try: ascending preference, each group of equal preference
// shuffled (RFC 5321 §5.1); names deduplicated. `random` is the shuffle's source.
std::vector<std::string> exchanger_order(std::vector<dns::MxRecord> records,
                                         std::uint64_t random);

// Whether delivering to `address` on `port` would reach one of `listeners`: the same address,
// or a wildcard listener ("0.0.0.0", "::") on that port and a loopback address.
bool is_own_listener(const common::IpBytes& address, std::uint16_t port,
                     const std::vector<conf::HostPort>& listeners);

// Where a DSN to `domain` goes (see above). `listeners`: server.listen.
boost::asio::awaitable<Destination> find_destination(dns::Resolver& resolver, std::string domain,
                                                     const conf::OutboundConfig& outbound,
                                                     const std::vector<conf::HostPort>& listeners);

}  // namespace mxgate::relay
