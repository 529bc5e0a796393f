// The vocabulary of mxgate's DNS library: record types, the typed outcome of every lookup, the
// decoded records (RFC 1035 §3.3, RFC 3596 §2.2) and the Response that every Resolver returns.
// A lookup never just "finds nothing": it says Answer, NxDomain or NoData when the DNS gave a
// definite reply, and ServFail, Refused, Timeout or Error when it did not. Callers must treat
// the latter as a temporary failure (4xx, a *_FAIL signal), never as "not listed".
// Names are in presentation form (RFC 1035 §5.1): lower case, no trailing dot, the root is ".",
// a label octet that is '.', '\' or outside printable ASCII is escaped as "\." or "\DDD".
// Pure value types; no I/O, safe on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/cidr.hpp"

namespace mxgate::dns {

// RR TYPE values (RFC 1035 §3.2.2; AAAA RFC 3596 §2.1). Any 16-bit value is a valid
// RecordType for a generic query; the named ones are those the library decodes.
enum class RecordType : std::uint16_t {
  A = 1,
  NS = 2,
  CNAME = 5,
  SOA = 6,
  PTR = 12,
  MX = 15,
  TXT = 16,
  AAAA = 28,
};

enum class Outcome : std::uint8_t {
  Answer,    // NOERROR with records of the asked type (after following CNAMEs)
  NxDomain,  // RCODE 3: the name does not exist (RFC 2308 §2.1)
  NoData,    // NOERROR without a record of that type: the name exists (RFC 2308 §2.2)
  ServFail,  // RCODE 2, from every server tried
  Refused,   // RCODE 5, from every server tried
  Timeout,   // no reply within timeout x tries
  Error,     // malformed or mismatched reply, FORMERR/NOTIMP, a CNAME chain too long or
             // looping, a name that cannot be queried, a local failure
};
inline constexpr std::size_t kOutcomeCount = 7;

// True for outcomes that say nothing about the name (the caller answers 4xx, never 5xx).
constexpr bool is_failure(Outcome outcome) { return outcome >= Outcome::ServFail; }

std::string_view to_string(Outcome outcome);  // "answer", "nxdomain", ... (metric labels)
std::string to_string(RecordType type);       // "A", "MX", ..., "TYPE99" (RFC 3597 §5)

struct NameData {  // CNAME, PTR, NS
  std::string name;
};
struct MxData {  // RFC 1035 §3.3.9; exchange "." is a null MX (RFC 7505)
  std::uint16_t preference = 0;
  std::string exchange;
};
struct TxtData {  // RFC 1035 §3.3.14: one or more <character-string>s, kept apart here
  std::vector<std::string> strings;
};
struct SoaData {  // RFC 1035 §3.3.13
  std::string mname, rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
struct RawData {  // any other type: the RDATA octets as received
  std::string octets;
};
// A and AAAA decode to common::IpBytes (family 4 or 6).
using RData = std::variant<RawData, common::IpBytes, NameData, MxData, TxtData, SoaData>;

struct Record {
  std::string name;  // owner
  RecordType type{};
  std::uint32_t ttl = 0;  // seconds; RFC 2181 §8: a value with the top bit set reads as 0
  RData data;
};

struct Response {
  Outcome outcome = Outcome::Error;
  // Answer: the records of the asked type owned by the last name of the CNAME chain. Empty for
  // every other outcome.
  std::vector<Record> records;
  // The names the answer's CNAMEs led to, in order, at most the configured bound; the last one
  // owns `records` (or does not exist, or has no such record).
  std::vector<std::string> cname_chain;
  // Seconds this result may be reused: the smallest TTL of the records and the CNAMEs followed
  // (RFC 2181 §5.2); for NxDomain/NoData min(SOA TTL, SOA MINIMUM) (RFC 2308 §5), 0 without
  // an SOA; 0 for failures. The cache clamps it.
  std::uint32_t ttl = 0;
};

// A Response with `outcome` and nothing else (failures, and fakes in tests).
Response make_response(Outcome outcome);

}  // namespace mxgate::dns
