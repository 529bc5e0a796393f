// The Resolver interface every DNS user takes (checks, SPF, the composition root), with typed
// lookups for A, AAAA (RFC 3596), PTR (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa),
// TXT (strings joined as RFC 7208 §3.3 says) and MX (RFC 1035 §3.3.9, null MX RFC 7505).
// Implementations: AresResolver (c-ares on a worker's io_context), CachingResolver (TTL cache
// in front of another Resolver) and the fakes in tests. Only query() is virtual; the typed
// lookups are built on it, so a fake implements one function.
// Failure: every lookup completes, with a typed Outcome (see types.hpp); none throws for a DNS
// or network problem. A failure outcome must be treated as temporary, never as "no record".
// Threading: a Resolver belongs to one worker; call it from that worker's coroutines only. It
// must outlive every lookup in progress.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "dns/types.hpp"

namespace mxgate::dns {

struct AddressRecord {
  common::IpBytes address;  // family 4 for A, 6 for AAAA
  std::uint32_t ttl = 0;
};
struct NameRecord {  // PTR targets
  std::string name;
  std::uint32_t ttl = 0;
};
struct TxtRecord {
  std::string text;  // the record's <character-string>s concatenated without spaces
  std::uint32_t ttl = 0;
};
struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // "." for a null MX
  std::uint32_t ttl = 0;
};

// A typed view of a Response: same outcome, chain and TTL, the records decoded.
template <typename T>
struct Lookup {
  Outcome outcome = Outcome::Error;
  std::vector<T> records;  // non-empty exactly when outcome == Answer
  std::vector<std::string> cname_chain;
  std::uint32_t ttl = 0;

  bool ok() const { return outcome == Outcome::Answer; }
};

Lookup<AddressRecord> addresses_of(const Response& response);
Lookup<NameRecord> names_of(const Response& response);
Lookup<TxtRecord> texts_of(const Response& response);
Lookup<MxRecord> exchanges_of(const Response& response);  // by preference (RFC 5321 §5.1)

// RFC 7505 §3: the domain's only MX is the null MX ("0 ."): it accepts no mail. The
// preference is not checked (a "10 ." alone means the same to every MTA).
bool is_null_mx(const Lookup<MxRecord>& mx);

// "7.2.0.192" for 192.0.2.7; for IPv6 the 32 nibbles, least significant first, dot-separated.
// The prefix of the PTR name (and of a DNSBL query name). Empty for family 0.
std::string reversed_labels(const common::IpBytes& address);
// "7.2.0.192.in-addr.arpa" (RFC 1035 §3.5), "...ip6.arpa" (RFC 3596 §2.5). Empty for family 0.
std::string reverse_name(const common::IpBytes& address);

class Resolver {
 public:
  virtual ~Resolver() = default;

  // The records of `type` for `name` (presentation form; any case; trailing dot optional).
  // A name that normalize_name() refuses gives Error without a query.
  virtual boost::asio::awaitable<Response> query(std::string name, RecordType type) = 0;

  // The answer query() would give at once from a cache, or nullopt: the caller must query().
  // Lets a check that finds everything cached answer without starting a coroutine. Default:
  // no cache.
  virtual std::optional<Response> peek(const std::string& name, RecordType type);

  boost::asio::awaitable<Lookup<AddressRecord>> a(std::string name);
  boost::asio::awaitable<Lookup<AddressRecord>> aaaa(std::string name);
  boost::asio::awaitable<Lookup<NameRecord>> ptr(common::IpBytes address);
  boost::asio::awaitable<Lookup<TxtRecord>> txt(std::string name);
  boost::asio::awaitable<Lookup<MxRecord>> mx(std::string name);

  std::optional<Lookup<AddressRecord>> peek_a(const std::string& name);
  std::optional<Lookup<AddressRecord>> peek_aaaa(const std::string& name);
  std::optional<Lookup<NameRecord>> peek_ptr(const common::IpBytes& address);
  std::optional<Lookup<MxRecord>> peek_mx(const std::string& name);
  std::optional<Lookup<TxtRecord>> peek_txt(const std::string& name);

  // The records that can hold a client address of `family`: A for 4, AAAA for 6.
  boost::asio::awaitable<Lookup<AddressRecord>> addresses(std::string name, int family);
  std::optional<Lookup<AddressRecord>> peek_addresses(const std::string& name, int family);
};

// Whether `lookup` holds the address `ip` (forward confirmation of a PTR or HELO name).
bool has_address(const Lookup<AddressRecord>& lookup, const common::IpBytes& ip);

}  // namespace mxgate::dns
