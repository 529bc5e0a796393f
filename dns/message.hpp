// DNS wire format (RFC 1035 §4.1): a bounded parser for the replies c-ares hands back, and the
// interpretation of a reply to one question as a typed Response (RCODE, CNAME chain, negative
// TTL from the SOA per RFC 2308 §5).
// Fuzz-safe by construction: every read is bounds-checked, names are at most 255 octets on the
// wire (RFC 1035 §2.3.4), labels at most 63, and a compression pointer must point before the
// run of labels it interrupts (RFC 1035 §4.1.4 "a prior occurrence"), so pointer chains end.
// The question, answer and authority sections are decoded; the additional section is not read.
// Malformed input is a ParseError value, never an exception or undefined behaviour.
// Pure: no I/O, no state; safe on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/types.hpp"

namespace mxgate::dns {

inline constexpr std::size_t kMaxNameWireOctets = 255;   // RFC 1035 §2.3.4
inline constexpr std::size_t kMaxLabelOctets = 63;       // RFC 1035 §2.3.4
inline constexpr std::size_t kMaxNameTextOctets = 253;   // a 255-octet wire name as text
inline constexpr std::size_t kMaxSectionRecords = 1024;  // answer + authority, beyond: hostile
inline constexpr std::size_t kMaxQuestions = 4;          // real replies carry one
inline constexpr std::size_t kDefaultMaxCnameChain = 8;  // CNAMEs followed in one answer

enum class Rcode : std::uint8_t {  // RFC 1035 §4.1.1
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5,
};

struct Header {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;  // the 4-bit header RCODE
  std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

struct Question {
  std::string name;
  RecordType type{};
  std::uint16_t qclass = 0;
};

struct WireRecord {
  Record record;
  std::uint16_t rclass = 0;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<WireRecord> answers;
  std::vector<WireRecord> authority;
};

enum class ParseError : std::uint8_t {
  None,
  Truncated,       // a section, name or RDATA runs past the end of the message
  BadLabel,        // label type 01 or 10 (RFC 6891 §5 retired extended labels)
  BadPointer,      // a compression pointer that does not point to a prior occurrence
  NameTooLong,     // more than 255 octets on the wire
  BadRdata,        // RDATA of a known type with the wrong length or shape
  TooManyRecords,  // more questions or records than any real reply carries
};

std::string_view to_string(ParseError error);

struct ParseResult {
  ParseError error = ParseError::None;
  Message message;  // meaningful only when error == None

  bool ok() const { return error == ParseError::None; }
};

ParseResult parse_message(std::span<const std::uint8_t> wire);

// A name as the library queries it: lower case, without the trailing dot, each label 1-63
// printable ASCII octets other than '\' (no escapes), at most 253 octets; "." stays ".".
// nullopt when the name cannot be queried safely.
std::optional<std::string> normalize_name(std::string_view name);

// The reply in `wire` to (qname, qtype) as a Response (qname normalized). RCODE 3 → NxDomain,
// 2 → ServFail, 5 → Refused, other errors → Error; a reply that is malformed, truncated (TC),
// not a reply, or for another question → Error. NOERROR: CNAMEs from qname are followed
// through the answer section (at most max_cname_chain, no loops, else Error); records of
// qtype at the end → Answer, none → NoData. A referral (NS in authority, no SOA) → Error: the
// server did not recurse, so it knows nothing about the name.
Response interpret_reply(std::span<const std::uint8_t> wire, std::string_view qname,
                         RecordType qtype, std::size_t max_cname_chain = kDefaultMaxCnameChain);
Response interpret_reply(const Message& reply, std::string_view qname, RecordType qtype,
                         std::size_t max_cname_chain = kDefaultMaxCnameChain);

}  // namespace mxgate::dns
