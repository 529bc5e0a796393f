// Test helper: builds DNS messages (RFC 1035 §4.1) byte by byte, for the parser tests and the
// in-test DNS servers. Names are written uncompressed unless a test writes a pointer itself.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"

namespace mxgate::dns::testing {

using Bytes = std::vector<std::uint8_t>;

struct Rr {
  std::string name;
  std::uint16_t type = 1;
  std::uint32_t ttl = 300;
  Bytes rdata;
  std::uint16_t rclass = 1;
};

struct Reply {
  std::uint16_t id = 0x1234;
  bool qr = true, tc = false, rd = true, ra = true, aa = false;
  std::uint8_t rcode = 0;
  std::string qname;
  std::uint16_t qtype = 1;
  std::vector<Rr> answers, authority, additional;
};

class Writer {
 public:
  Bytes bytes;
  void u8(std::uint8_t v) { bytes.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void name(std::string_view dotted);  // "a.example" or "." ; no escapes
  void pointer(std::uint16_t offset) { u16(static_cast<std::uint16_t>(0xC000 | offset)); }
  void raw(const Bytes& data) { bytes.insert(bytes.end(), data.begin(), data.end()); }
};

Bytes encode(const Reply& reply);
Bytes encode_query(std::string_view name, std::uint16_t type, std::uint16_t id = 0x1234);

// RDATA helpers.
Bytes a_rdata(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
Bytes aaaa_rdata(std::initializer_list<std::uint8_t> sixteen);
Bytes name_rdata(std::string_view name);  // CNAME, PTR, NS
Bytes mx_rdata(std::uint16_t preference, std::string_view exchange);
Bytes txt_rdata(std::initializer_list<std::string_view> strings);
Bytes soa_rdata(std::uint32_t minimum, std::string_view mname = "ns.test",
                std::string_view rname = "hostmaster.test");

// A reply to `query` (its ID and question) with the given rcode and sections.
Bytes answer_query(const Message& query, std::uint8_t rcode, std::vector<Rr> answers = {},
                   std::vector<Rr> authority = {}, bool tc = false);

}  // namespace mxgate::dns::testing
