#include "tests/dns/wire.hpp"

namespace mxgate::dns::testing {

void Writer::u16(std::uint16_t v) {
  u8(static_cast<std::uint8_t>(v >> 8));
  u8(static_cast<std::uint8_t>(v & 0xFF));
}

void Writer::u32(std::uint32_t v) {
  u16(static_cast<std::uint16_t>(v >> 16));
  u16(static_cast<std::uint16_t>(v & 0xFFFF));
}

void Writer::name(std::string_view dotted) {
  while (!dotted.empty() && dotted != ".") {
    const std::size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    u8(static_cast<std::uint8_t>(label.size()));
    bytes.insert(bytes.end(), label.begin(), label.end());
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  u8(0);
}

namespace {

void write_rr(Writer& w, const Rr& rr) {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.rclass);
  w.u32(rr.ttl);
  w.u16(static_cast<std::uint16_t>(rr.rdata.size()));
  w.raw(rr.rdata);
}

}  // namespace

Bytes encode(const Reply& reply) {
  Writer w;
  w.u16(reply.id);
  w.u8(static_cast<std::uint8_t>((reply.qr ? 0x80 : 0) | (reply.aa ? 0x04 : 0) |
                                 (reply.tc ? 0x02 : 0) | (reply.rd ? 0x01 : 0)));
  w.u8(static_cast<std::uint8_t>((reply.ra ? 0x80 : 0) | (reply.rcode & 0x0F)));
  w.u16(reply.qname.empty() ? 0 : 1);
  w.u16(static_cast<std::uint16_t>(reply.answers.size()));
  w.u16(static_cast<std::uint16_t>(reply.authority.size()));
  w.u16(static_cast<std::uint16_t>(reply.additional.size()));
  if (!reply.qname.empty()) {
    w.name(reply.qname);
    w.u16(reply.qtype);
    w.u16(1);
  }
  for (const Rr& rr : reply.answers) write_rr(w, rr);
  for (const Rr& rr : reply.authority) write_rr(w, rr);
  for (const Rr& rr : reply.additional) write_rr(w, rr);
  return w.bytes;
}

Bytes encode_query(std::string_view name, std::uint16_t type, std::uint16_t id) {
  Reply query;
  query.id = id;
  query.qr = false;
  query.ra = false;
  query.qname = std::string(name);
  query.qtype = type;
  return encode(query);
}

Bytes a_rdata(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {a, b, c, d};
}

Bytes aaaa_rdata(std::initializer_list<std::uint8_t> sixteen) { return Bytes(sixteen); }

Bytes name_rdata(std::string_view name) {
  Writer w;
  w.name(name);
  return w.bytes;
}

Bytes mx_rdata(std::uint16_t preference, std::string_view exchange) {
  Writer w;
  w.u16(preference);
  w.name(exchange);
  return w.bytes;
}

Bytes txt_rdata(std::initializer_list<std::string_view> strings) {
  Writer w;
  for (std::string_view s : strings) {
    w.u8(static_cast<std::uint8_t>(s.size()));
    w.bytes.insert(w.bytes.end(), s.begin(), s.end());
  }
  return w.bytes;
}

Bytes soa_rdata(std::uint32_t minimum, std::string_view mname, std::string_view rname) {
  Writer w;
  w.name(mname);
  w.name(rname);
  w.u32(2026010101);
  w.u32(7200);
  w.u32(900);
  w.u32(1209600);
  w.u32(minimum);
  return w.bytes;
}

Bytes answer_query(const Message& query, std::uint8_t rcode, std::vector<Rr> answers,
                   std::vector<Rr> authority, bool tc) {
  Reply reply;
  reply.id = query.header.id;
  reply.rcode = rcode;
  reply.tc = tc;
  if (!query.questions.empty()) {
    reply.qname = query.questions.front().name;
    reply.qtype = static_cast<std::uint16_t>(query.questions.front().type);
  }
  reply.answers = std::move(answers);
  reply.authority = std::move(authority);
  return encode(reply);
}

}  // namespace mxgate::dns::testing
