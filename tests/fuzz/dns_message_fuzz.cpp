// libFuzzer target of DNS message parsing (dns/message.hpp: RFC 1035 §4.1, name compression
// §4.1.4, RFC 2308 negative TTLs), which reads every reply c-ares hands back. The input is a
// reply as it came off the wire; it is parsed, then interpreted as the answer to its own first
// question (and to a CNAME target it names, and to a fixed name, which must not match).
// Checked: TTLs never have the top bit set (RFC 2181 §8); an Answer holds records of the asked
// type only and lives no longer than any of them; every other outcome holds no records and a
// failure lives 0 seconds; the CNAME chain stays within its bound; interpreting the bytes and
// interpreting the parsed message agree; normalize_name() gives a name it leaves unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dns/message.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace dns = mxgate::dns;
using mxgate::fuzz::check;

constexpr std::uint32_t kTtlTopBit = 0x80000000u;
constexpr std::size_t kSmallChain = 2;

void check_name(std::string_view name) {
  const auto normal = dns::normalize_name(name);
  if (!normal) return;
  check(!normal->empty() && normal->size() <= dns::kMaxNameTextOctets);
  check(dns::normalize_name(*normal) == normal);
}

void check_records(const std::vector<dns::WireRecord>& records) {
  for (const auto& r : records) {
    check((r.record.ttl & kTtlTopBit) == 0);
    check_name(r.record.name);
    (void)dns::to_string(r.record.type);
    if (const auto* ip = std::get_if<mxgate::common::IpBytes>(&r.record.data)) {
      check(ip->family == 4 || ip->family == 6);
    }
  }
}

void check_response(const dns::Response& r, dns::RecordType qtype, std::size_t max_chain) {
  check(r.cname_chain.size() <= max_chain);
  if (r.outcome == dns::Outcome::Answer) {
    check(!r.records.empty());
    for (const auto& record : r.records) {
      check(record.type == qtype && r.ttl <= record.ttl);
      check(r.cname_chain.empty() ? true : record.name == r.cname_chain.back());
    }
    return;
  }
  check(r.records.empty());
  if (dns::is_failure(r.outcome)) check(r.ttl == 0 && r.cname_chain.empty());
}

void interpret(std::span<const std::uint8_t> wire, const dns::Message& message,
               std::string_view qname, dns::RecordType qtype, std::size_t max_chain) {
  const dns::Response a = dns::interpret_reply(wire, qname, qtype, max_chain);
  const dns::Response b = dns::interpret_reply(message, qname, qtype, max_chain);
  check(a.outcome == b.outcome && a.ttl == b.ttl && a.cname_chain == b.cname_chain);
  check(a.records.size() == b.records.size());
  check_response(a, qtype, max_chain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> wire(data, size);
  check_name(mxgate::fuzz::text(data, std::min<std::size_t>(size, dns::kMaxNameWireOctets)));
  const dns::ParseResult parsed = dns::parse_message(wire);
  if (!parsed.ok()) {
    check(dns::interpret_reply(wire, "example.com", dns::RecordType::A).outcome ==
          dns::Outcome::Error);
    check(!dns::to_string(parsed.error).empty());
    return 0;
  }
  const dns::Message& m = parsed.message;
  check(m.questions.size() == m.header.qdcount && m.questions.size() <= dns::kMaxQuestions);
  check(m.answers.size() == m.header.ancount && m.authority.size() == m.header.nscount);
  check_records(m.answers);
  check_records(m.authority);
  for (const auto& q : m.questions) check_name(q.name);

  const dns::RecordType qtype = m.questions.empty() ? dns::RecordType::A : m.questions.front().type;
  const std::string qname = m.questions.empty() ? "example.com" : m.questions.front().name;
  interpret(wire, m, qname, qtype, dns::kDefaultMaxCnameChain);
  interpret(wire, m, qname, qtype, kSmallChain);
  interpret(wire, m, qname, dns::RecordType::CNAME, dns::kDefaultMaxCnameChain);
  for (const auto& r : m.answers) {
    if (const auto* target = std::get_if<dns::NameData>(&r.record.data)) {
      interpret(wire, m, target->name, qtype, dns::kDefaultMaxCnameChain);
      break;
    }
  }
  const auto other = dns::interpret_reply(m, "not-asked.invalid", qtype);
  check(other.outcome == dns::Outcome::Error || qname == "not-asked.invalid");
  return 0;
}
