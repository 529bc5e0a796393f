#include "dns/message.hpp"

#include <algorithm>
#include <cstring>

namespace mxgate::dns {
namespace {

constexpr std::size_t kHeaderOctets = 12;       // RFC 1035 §4.1.1
constexpr std::size_t kRecordFixedOctets = 10;  // TYPE, CLASS, TTL, RDLENGTH (§4.1.3)

using Wire = std::span<const std::uint8_t>;

std::uint16_t u16_at(Wire wire, std::size_t pos) {
  return static_cast<std::uint16_t>((wire[pos] << 8) | wire[pos + 1]);
}

std::uint32_t u32_at(Wire wire, std::size_t pos) {
  return (std::uint32_t{wire[pos]} << 24) | (std::uint32_t{wire[pos + 1]} << 16) |
         (std::uint32_t{wire[pos + 2]} << 8) | std::uint32_t{wire[pos + 3]};
}

bool fits(Wire wire, std::size_t pos, std::size_t count) {
  return pos <= wire.size() && count <= wire.size() - pos;
}

// Presentation form of one label (RFC 1035 §5.1): ASCII letters lower-cased (names compare
// case-insensitively, RFC 4343), '.' and '\' escaped, other non-printables as \DDD.
void append_label(std::string& out, Wire label) {
  if (!out.empty()) out.push_back('.');
  for (std::uint8_t c : label) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c == '.' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c > 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      const char digits[] = {'\\', static_cast<char>('0' + c / 100),
                             static_cast<char>('0' + c / 10 % 10), static_cast<char>('0' + c % 10)};
      out.append(digits, sizeof digits);
    }
  }
}

// Reads the (possibly compressed) name at `pos` and moves `pos` past its in-place part.
// Every pointer must point before the run of labels it ends, so the positions visited strictly
// decrease at each jump and any chain of pointers terminates (no loop counter needed).
ParseError read_name(Wire wire, std::size_t& pos, std::string& out) {
  out.clear();
  std::size_t cursor = pos, run_start = pos, wire_octets = 0;
  std::optional<std::size_t> resume;  // where the caller continues after the first pointer
  for (;;) {
    if (cursor >= wire.size()) return ParseError::Truncated;
    const std::uint8_t length = wire[cursor];
    if ((length & 0xC0) == 0xC0) {
      if (cursor + 1 >= wire.size()) return ParseError::Truncated;
      const std::size_t target = static_cast<std::size_t>(u16_at(wire, cursor) & 0x3FFF);
      if (target >= run_start) return ParseError::BadPointer;
      if (!resume) resume = cursor + 2;
      cursor = run_start = target;
      continue;
    }
    if ((length & 0xC0) != 0) return ParseError::BadLabel;
    wire_octets += std::size_t{length} + 1;
    if (wire_octets > kMaxNameWireOctets) return ParseError::NameTooLong;
    if (length == 0) {
      ++cursor;
      break;
    }
    if (!fits(wire, cursor + 1, length)) return ParseError::Truncated;
    append_label(out, wire.subspan(cursor + 1, length));
    cursor += 1 + std::size_t{length};
  }
  pos = resume.value_or(cursor);
  if (out.empty()) out.push_back('.');  // the root (push_back: GCC 12 -Wrestrict false alarm)
  return ParseError::None;
}

// A name inside RDATA: it must start and (its in-place part) end within [pos, end).
ParseError read_rdata_name(Wire wire, std::size_t& pos, std::size_t end, std::string& out) {
  if (const ParseError e = read_name(wire, pos, out); e != ParseError::None) {
    return e == ParseError::Truncated ? ParseError::BadRdata : e;
  }
  return pos <= end ? ParseError::None : ParseError::BadRdata;
}

ParseError decode_address(Wire rdata, int family, RData& out) {
  const std::size_t want = family == 4 ? 4 : 16;
  if (rdata.size() != want) return ParseError::BadRdata;
  common::IpBytes ip;
  ip.family = family;
  std::copy(rdata.begin(), rdata.end(), ip.bytes.begin());
  out = ip;
  return ParseError::None;
}

ParseError decode_txt(Wire rdata, RData& out) {
  TxtData txt;
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    const std::size_t length = rdata[pos];
    if (!fits(rdata, pos + 1, length)) return ParseError::BadRdata;
    txt.strings.emplace_back(reinterpret_cast<const char*>(rdata.data() + pos + 1), length);
    pos += 1 + length;
  }
  out = std::move(txt);
  return ParseError::None;
}

ParseError decode_soa(Wire wire, std::size_t pos, std::size_t end, RData& out) {
  SoaData soa;
  ParseError e = read_rdata_name(wire, pos, end, soa.mname);
  if (e == ParseError::None) e = read_rdata_name(wire, pos, end, soa.rname);
  if (e != ParseError::None) return e;
  if (end - pos != 20) return ParseError::BadRdata;
  soa.serial = u32_at(wire, pos);
  soa.refresh = u32_at(wire, pos + 4);
  soa.retry = u32_at(wire, pos + 8);
  soa.expire = u32_at(wire, pos + 12);
  soa.minimum = u32_at(wire, pos + 16);
  out = std::move(soa);
  return ParseError::None;
}

ParseError decode_rdata(Wire wire, std::size_t pos, std::size_t length, RecordType type,
                        RData& out) {
  const std::size_t end = pos + length;
  const Wire rdata = wire.subspan(pos, length);
  switch (type) {
    case RecordType::A:
      return decode_address(rdata, 4, out);
    case RecordType::AAAA:
      return decode_address(rdata, 6, out);
    case RecordType::CNAME:
    case RecordType::PTR:
    case RecordType::NS: {
      NameData name;
      const ParseError e = read_rdata_name(wire, pos, end, name.name);
      if (e != ParseError::None) return e;
      if (pos != end) return ParseError::BadRdata;
      out = std::move(name);
      return ParseError::None;
    }
    case RecordType::MX: {
      if (length < 3) return ParseError::BadRdata;
      MxData mx;
      mx.preference = u16_at(wire, pos);
      pos += 2;
      const ParseError e = read_rdata_name(wire, pos, end, mx.exchange);
      if (e != ParseError::None) return e;
      if (pos != end) return ParseError::BadRdata;
      out = std::move(mx);
      return ParseError::None;
    }
    case RecordType::TXT:
      return decode_txt(rdata, out);
    case RecordType::SOA:
      return decode_soa(wire, pos, end, out);
  }
  out = RawData{std::string(reinterpret_cast<const char*>(rdata.data()), rdata.size())};
  return ParseError::None;
}

ParseError read_record(Wire wire, std::size_t& pos, WireRecord& out) {
  if (const ParseError e = read_name(wire, pos, out.record.name); e != ParseError::None) return e;
  if (!fits(wire, pos, kRecordFixedOctets)) return ParseError::Truncated;
  out.record.type = static_cast<RecordType>(u16_at(wire, pos));
  out.rclass = u16_at(wire, pos + 2);
  const std::uint32_t ttl = u32_at(wire, pos + 4);
  out.record.ttl = (ttl & 0x80000000u) != 0 ? 0 : ttl;  // RFC 2181 §8
  const std::size_t length = u16_at(wire, pos + 8);
  pos += kRecordFixedOctets;
  if (!fits(wire, pos, length)) return ParseError::Truncated;
  const ParseError e = decode_rdata(wire, pos, length, out.record.type, out.record.data);
  pos += length;
  return e;
}

ParseError read_section(Wire wire, std::size_t& pos, std::size_t count,
                        std::vector<WireRecord>& out) {
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    WireRecord record;
    if (const ParseError e = read_record(wire, pos, record); e != ParseError::None) return e;
    out.push_back(std::move(record));
  }
  return ParseError::None;
}

Header read_header(Wire wire) {
  Header h;
  h.id = u16_at(wire, 0);
  const std::uint8_t flags1 = wire[2], flags2 = wire[3];
  h.qr = (flags1 & 0x80) != 0;
  h.opcode = static_cast<std::uint8_t>((flags1 >> 3) & 0x0F);
  h.aa = (flags1 & 0x04) != 0;
  h.tc = (flags1 & 0x02) != 0;
  h.rd = (flags1 & 0x01) != 0;
  h.ra = (flags2 & 0x80) != 0;
  h.rcode = flags2 & 0x0F;
  h.qdcount = u16_at(wire, 4);
  h.ancount = u16_at(wire, 6);
  h.nscount = u16_at(wire, 8);
  h.arcount = u16_at(wire, 10);
  return h;
}

ParseError read_questions(Wire wire, std::size_t& pos, std::size_t count,
                          std::vector<Question>& out) {
  for (std::size_t i = 0; i < count; ++i) {
    Question q;
    if (const ParseError e = read_name(wire, pos, q.name); e != ParseError::None) return e;
    if (!fits(wire, pos, 4)) return ParseError::Truncated;
    q.type = static_cast<RecordType>(u16_at(wire, pos));
    q.qclass = u16_at(wire, pos + 2);
    pos += 4;
    out.push_back(std::move(q));
  }
  return ParseError::None;
}

bool valid_query_octet(char c) { return c > 0x20 && c < 0x7f && c != '\\'; }

}  // namespace

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::None:
      return "none";
    case ParseError::Truncated:
      return "truncated";
    case ParseError::BadLabel:
      return "bad label";
    case ParseError::BadPointer:
      return "bad compression pointer";
    case ParseError::NameTooLong:
      return "name too long";
    case ParseError::BadRdata:
      return "bad rdata";
    case ParseError::TooManyRecords:
      return "too many records";
  }
  return "unknown";
}

ParseResult parse_message(std::span<const std::uint8_t> wire) {
  ParseResult result;
  if (wire.size() < kHeaderOctets) {
    result.error = ParseError::Truncated;
    return result;
  }
  Message& m = result.message;
  m.header = read_header(wire);
  if (m.header.qdcount > kMaxQuestions ||
      std::size_t{m.header.ancount} + m.header.nscount > kMaxSectionRecords) {
    result.error = ParseError::TooManyRecords;
    return result;
  }
  std::size_t pos = kHeaderOctets;
  result.error = read_questions(wire, pos, m.header.qdcount, m.questions);
  if (result.ok()) result.error = read_section(wire, pos, m.header.ancount, m.answers);
  if (result.ok()) result.error = read_section(wire, pos, m.header.nscount, m.authority);
  return result;
}

std::optional<std::string> normalize_name(std::string_view name) {
  if (name == ".") return std::string(".");
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxNameTextOctets) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if (!valid_query_octet(c) || ++label > kMaxLabelOctets) {
      return std::nullopt;
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (label == 0) return std::nullopt;
  return out;
}

}  // namespace mxgate::dns
