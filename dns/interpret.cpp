// interpret_reply(): what a reply means for one question (see message.hpp).
#include <algorithm>
#include <limits>

#include "dns/message.hpp"

namespace mxgate::dns {
namespace {

constexpr std::uint16_t kClassIn = 1;  // RFC 1035 §3.2.4

bool is_in(const WireRecord& r) { return r.rclass == kClassIn; }

// RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM); without an SOA in the
// authority section it should not be cached at all (0).
std::uint32_t negative_ttl(const Message& reply) {
  for (const WireRecord& r : reply.authority) {
    if (!is_in(r) || r.record.type != RecordType::SOA) continue;
    const auto* soa = std::get_if<SoaData>(&r.record.data);
    if (soa != nullptr) return std::min(r.record.ttl, soa->minimum);
  }
  return 0;
}

// A referral: the server answered "ask them" (NS records, no SOA) because it does not recurse.
bool is_referral(const Message& reply) {
  bool ns = false;
  for (const WireRecord& r : reply.authority) {
    if (r.record.type == RecordType::SOA) return false;
    ns = ns || r.record.type == RecordType::NS;
  }
  return ns;
}

// The target of the CNAME owned by `owner` in the answer section, or nullptr.
const NameData* find_cname(const Message& reply, std::string_view owner, std::uint32_t& ttl) {
  for (const WireRecord& r : reply.answers) {
    if (!is_in(r) || r.record.type != RecordType::CNAME || r.record.name != owner) continue;
    ttl = r.record.ttl;
    return std::get_if<NameData>(&r.record.data);
  }
  return nullptr;
}

Outcome outcome_of_rcode(std::uint8_t rcode) {
  switch (static_cast<Rcode>(rcode)) {
    case Rcode::NoError:
      return Outcome::Answer;  // refined by the caller
    case Rcode::NxDomain:
      return Outcome::NxDomain;
    case Rcode::ServFail:
      return Outcome::ServFail;
    case Rcode::Refused:
      return Outcome::Refused;
    case Rcode::FormErr:
    case Rcode::NotImp:
      break;
  }
  return Outcome::Error;
}

bool answers_question(const Message& reply, std::string_view qname, RecordType qtype) {
  if (!reply.header.qr || reply.header.opcode != 0 || reply.header.tc) return false;
  if (reply.questions.size() != 1) return false;
  const Question& q = reply.questions.front();
  return q.name == qname && q.type == qtype && q.qclass == kClassIn;
}

// Follows CNAMEs from qname through the answer section (RFC 1034 §3.6.2: a resolver returns
// the chain, then the records of the final name). Returns the final owner, or nullopt when
// the chain is longer than allowed or loops.
std::optional<std::string> follow_chain(const Message& reply, std::string_view qname,
                                        RecordType qtype, std::size_t max_chain, Response& out) {
  std::string owner(qname);
  if (qtype == RecordType::CNAME) return owner;  // the CNAME itself is the answer
  std::uint32_t ttl = 0;
  while (const NameData* cname = find_cname(reply, owner, ttl)) {
    const std::string& target = cname->name;
    const bool loops = target == qname || std::find(out.cname_chain.begin(), out.cname_chain.end(),
                                                    target) != out.cname_chain.end();
    if (loops || out.cname_chain.size() >= max_chain) return std::nullopt;
    out.cname_chain.push_back(target);
    out.ttl = std::min(out.ttl, ttl);
    owner = target;
  }
  return owner;
}

// NOERROR or NXDOMAIN: the chain, then the records of its last name or a negative answer.
Response interpret_chain(const Message& reply, std::string_view qname, RecordType qtype,
                         std::size_t max_chain, bool nxdomain) {
  Response out;
  out.ttl = std::numeric_limits<std::uint32_t>::max();
  const std::optional<std::string> owner = follow_chain(reply, qname, qtype, max_chain, out);
  if (!owner) return make_response(Outcome::Error);
  for (const WireRecord& r : reply.answers) {
    if (!nxdomain && is_in(r) && r.record.type == qtype && r.record.name == *owner) {
      out.ttl = std::min(out.ttl, r.record.ttl);
      out.records.push_back(r.record);
    }
  }
  if (!out.records.empty()) {
    out.outcome = Outcome::Answer;
    return out;
  }
  if (!nxdomain && is_referral(reply)) return make_response(Outcome::Error);
  out.outcome = nxdomain ? Outcome::NxDomain : Outcome::NoData;
  out.ttl = std::min(out.ttl, negative_ttl(reply));
  return out;
}

}  // namespace

Response interpret_reply(const Message& reply, std::string_view qname, RecordType qtype,
                         std::size_t max_cname_chain) {
  const std::optional<std::string> name = normalize_name(qname);
  if (!name || !answers_question(reply, *name, qtype)) return make_response(Outcome::Error);
  const Outcome outcome = outcome_of_rcode(reply.header.rcode);
  if (outcome != Outcome::Answer && outcome != Outcome::NxDomain) return make_response(outcome);
  // NXDOMAIN after CNAMEs is about the chain's last name (RFC 6604 §2); follow it the same way.
  return interpret_chain(reply, *name, qtype, max_cname_chain, outcome == Outcome::NxDomain);
}

Response interpret_reply(std::span<const std::uint8_t> wire, std::string_view qname,
                         RecordType qtype, std::size_t max_cname_chain) {
  const ParseResult parsed = parse_message(wire);
  if (!parsed.ok()) return make_response(Outcome::Error);
  return interpret_reply(parsed.message, qname, qtype, max_cname_chain);
}

}  // namespace mxgate::dns
