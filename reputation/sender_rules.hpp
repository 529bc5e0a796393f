// Pure rules about what a sender's names say, for the DNS checks (issue 4): whether a reverse
// DNS name looks generic (a dynamic or residential address rather than a mail server), and
// whether a HELO/EHLO name is an acceptable claim. No DNS here: the checks resolve, these
// rules judge. Thread-safe (no state).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/cidr.hpp"

namespace mxgate::reputation {

// Why `ptr_name` looks generic for `address`, or nullopt when it looks like a named server.
// Generic: the address is embedded in the host part (all four IPv4 octets in order or reversed,
// in decimal, or as 8 hex digits; for IPv6 the last 64 bits as hex groups), or a label carries
// a word such as dynamic, dhcp, pool, dsl, cable, ppp, dialup, broadband or customer (alone or
// with digits: "dsl123", "pool-"). The last two labels (the registered domain) are not judged:
// "cable.example" is a company, "1-2-3-4.cable.example" a subscriber line.
std::optional<std::string> generic_ptr_reason(const common::IpBytes& address,
                                              std::string_view ptr_name);

enum class HeloProblem {
  None,
  Empty,
  BareAddress,      // "192.0.2.1" without brackets (RFC 5321 §4.1.3 requires a literal)
  BadLiteral,       // "[...]" that is no address literal
  NotFqdn,          // one label, or a numeric top-level label
  BadSyntax,        // characters or label lengths a domain cannot have (RFC 1035 §2.3.1)
  Localhost,        // localhost, *.localdomain, *.local, *.localhost
  ClaimsToBeUs,     // our own host name (or one of our addresses) from an outside client
  LiteralMismatch,  // an address literal that is not the client's address
};

struct HeloVerdict {
  HeloProblem problem = HeloProblem::None;
  bool literal = false;  // the name is an address literal that matches the client
  std::string reason;    // for the log and the portal
};

// Judges the HELO/EHLO argument by syntax alone (RFC 5321 §4.1.1.1, §4.1.3, §2.3.5).
// `our_hostname` is server.hostname (compared case-insensitively).
HeloVerdict judge_helo(std::string_view helo, const common::IpBytes& client,
                       std::string_view our_hostname);

// Whether a HELO name matches a PTR name: equal, or the HELO's parent domain (the name without
// its first label, when that still has two labels) is a suffix of the PTR name at a label
// boundary ("mail.example.com" matches "out3.example.com"). Case-insensitive; trailing dots
// ignored.
bool helo_matches_ptr(std::string_view helo, std::string_view ptr_name);

}  // namespace mxgate::reputation
