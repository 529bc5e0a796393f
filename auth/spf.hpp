// SPF evaluation (RFC 7208): check_host() for the MAIL FROM and HELO identities, over a
// dns::Resolver (the worker's cache in the server, c-ares for `mxgate spf`), never blocking.
//   - Every mechanism and modifier of spf_record.hpp; macros (spf_macro.hpp), including the
//     explanation of a fail (exp=, §6.2).
//   - Limits (§4.6.4): at most `max_dns_terms` (10) of include, a, mx, ptr, exists and redirect
//     in the whole evaluation, at most `max_void_lookups` (2) lookups that found nothing, at
//     most 10 names per mx (more: permerror) and per ptr (the rest ignored); beyond: permerror.
//   - An IPv4-mapped client address (::ffff:192.0.2.1) is an IPv4 client (§5): A records, ip4,
//     %{i} and %{v} as IPv4; ip6 never matches it. A trailing dot is not part of <domain>.
//   - A DNS failure (SERVFAIL, timeout) is temperror; a record with a syntax error, several SPF
//     records, an include or redirect without a record: permerror.
// Threading: one evaluation runs on one executor; the resolver must outlive it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "auth/spf_record.hpp"
#include "common/cidr.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth::spf {

struct Limits {
  unsigned max_dns_terms = 10;
  unsigned max_void_lookups = 2;
  unsigned max_mx_names = 10;
  unsigned max_ptr_names = 10;
};

struct Identity {
  common::IpBytes ip;  // the SMTP client
  std::string helo;    // the HELO/EHLO name
  std::string sender;  // the MAIL FROM address without brackets; empty: the null sender
};

struct Evaluation {
  Result result = Result::None;
  std::string domain;       // the domain checked: the sender's, or the HELO name
  std::string mechanism;    // the mechanism that matched, as written ("-all"), if any
  std::string explanation;  // for a fail, from exp= (macro-expanded), if any
  std::string problem;      // why a permerror or temperror happened
};

struct Options {
  Limits limits;
  std::string receiver;  // our host name, for %{r}
  std::int64_t now = 0;  // Unix seconds, for %{t}
};

// check_host(<ip>, <domain of the sender>, <sender>); the null sender is checked as
// postmaster@<HELO name> (RFC 7208 §2.4).
boost::asio::awaitable<Evaluation> check_mail_from(dns::Resolver& resolver, Identity identity,
                                                   Options options);

// check_host(<ip>, <HELO name>, postmaster@<HELO name>) (§2.3); none for an address literal.
boost::asio::awaitable<Evaluation> check_helo(dns::Resolver& resolver, Identity identity,
                                              Options options);

// Whether `name` can be an SPF <domain>: at least two labels of 1 to 63 octets, 253 in all
// (§4.3); a trailing dot is allowed.
bool valid_domain(std::string_view name);

}  // namespace mxgate::auth::spf
