// HAProxy PROXY protocol v1/v2 parser (haproxy doc/proxy-protocol.txt §2.1, §2.2).
// See proxy_protocol.hpp for the contract. Every check is made on the bytes already buffered, so
// a wrong prefix is refused without waiting for the rest of a header that can never be valid.
#include "smtp/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace mxgate::smtp {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV1Tcp4 = "TCP4 ";
constexpr std::string_view kV1Tcp6 = "TCP6 ";
constexpr std::string_view kV1Unknown = "UNKNOWN";
constexpr std::size_t kV1Fields = 5;       // protocol, source, destination, two ports
constexpr std::size_t kMaxPortDigits = 5;  // "65535"
constexpr std::uint32_t kMaxPort = 65535;

constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2VersionOffset = 12;  // version (high nibble) and command (low nibble)
constexpr std::size_t kV2FamilyOffset = 13;   // address family (high) and transport (low)
constexpr std::size_t kV2LengthOffset = 14;   // big-endian length of what follows the 16 octets
constexpr std::size_t kV2FixedBytes = 16;
constexpr std::uint8_t kV2Version = 0x2;
constexpr std::uint8_t kV2CommandLocal = 0x0;
constexpr std::uint8_t kV2CommandProxy = 0x1;
constexpr std::uint8_t kV2TcpOverIpv4 = 0x11;
constexpr std::uint8_t kV2TcpOverIpv6 = 0x21;
constexpr std::size_t kV2Ipv4Block = 12;  // 2 * 4 address octets + 2 * 2 port octets
constexpr std::size_t kV2Ipv6Block = 36;  // 2 * 16 address octets + 2 * 2 port octets
constexpr std::size_t kV2TlvHeader = 3;   // type, 16-bit length

ProxyResult need_more() { return ProxyResult{}; }

ProxyResult invalid(std::string error) {
  ProxyResult r;
  r.status = ProxyStatus::Invalid;
  r.error = std::move(error);
  return r;
}

ProxyResult complete(std::size_t consumed, const ProxyHeader& header) {
  ProxyResult r;
  r.status = ProxyStatus::Complete;
  r.consumed = consumed;
  r.header = header;
  return r;
}

// True when `input` and `expected` agree on their common length.
bool agrees(std::string_view input, std::string_view expected) {
  const std::size_t n = std::min(input.size(), expected.size());
  return input.substr(0, n) == expected.substr(0, n);
}

std::uint8_t octet(std::string_view input, std::size_t at) {
  return static_cast<std::uint8_t>(input[at]);
}

std::uint16_t be16(std::string_view input, std::size_t at) {
  return static_cast<std::uint16_t>(octet(input, at) << 8 | octet(input, at + 1));
}

// ---- v1 ------------------------------------------------------------------------------------

// Splits on single spaces; an empty field (double, leading or trailing space) is kept as such.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const std::size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) return fields;
    line.remove_prefix(space + 1);
  }
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > kMaxPortDigits) return false;
  if (text.size() > 1 && text.front() == '0') return false;
  std::uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > kMaxPort) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_address(std::string_view text, int family, std::array<std::uint8_t, 16>& out) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  if (text.find('\0') != std::string_view::npos) return false;  // would cut the C string short
  const std::string terminated(text);                           // inet_pton wants a C string
  return inet_pton(family == 4 ? AF_INET : AF_INET6, terminated.c_str(), out.data()) == 1;
}

// `line` is the header after "PROXY " and before <CRLF>.
ProxyResult parse_v1_line(std::string_view line, std::size_t consumed) {
  ProxyHeader header;
  if (line.starts_with(kV1Unknown) &&
      (line.size() == kV1Unknown.size() || line[kV1Unknown.size()] == ' ')) {
    header.local = true;  // the rest of an UNKNOWN line is ignored (spec §2.1)
    return complete(consumed, header);
  }
  const std::vector<std::string_view> fields = split_fields(line);
  if (fields.size() != kV1Fields) return invalid("PROXY v1: wrong number of fields");
  if (fields[0] == kV1Tcp4.substr(0, 4)) {
    header.family = 4;
  } else if (fields[0] == kV1Tcp6.substr(0, 4)) {
    header.family = 6;
  } else {
    return invalid("PROXY v1: unknown protocol");
  }
  if (!parse_address(fields[1], header.family, header.source) ||
      !parse_address(fields[2], header.family, header.destination)) {
    return invalid("PROXY v1: bad address");
  }
  if (!parse_port(fields[3], header.source_port) ||
      !parse_port(fields[4], header.destination_port)) {
    return invalid("PROXY v1: bad port");
  }
  return complete(consumed, header);
}

ProxyResult parse_v1(std::string_view input) {
  if (!agrees(input, kV1Prefix)) return invalid("PROXY v1: bad prefix");
  const std::string_view rest = input.substr(std::min(input.size(), kV1Prefix.size()));
  if (!agrees(rest, kV1Tcp4) && !agrees(rest, kV1Tcp6) && !agrees(rest, kV1Unknown)) {
    return invalid("PROXY v1: unknown protocol");
  }
  // The <CR> must sit within the first 106 octets so that <CRLF> ends by octet 107.
  const std::string_view window = input.substr(0, kProxyV1MaxLine - 1);
  const std::size_t end = window.find_first_of("\r\n");
  if (end == std::string_view::npos) {
    return input.size() >= kProxyV1MaxLine - 1 ? invalid("PROXY v1: no CRLF within 107 octets")
                                               : need_more();
  }
  if (input[end] == '\n') return invalid("PROXY v1: bare LF");
  if (end + 1 == input.size()) return need_more();
  if (input[end + 1] != '\n') return invalid("PROXY v1: bare CR");
  if (end < kV1Prefix.size()) return invalid("PROXY v1: truncated line");
  return parse_v1_line(input.substr(kV1Prefix.size(), end - kV1Prefix.size()), end + 2);
}

// ---- v2 ------------------------------------------------------------------------------------

// Checks the fixed 16 octets as far as they are buffered; NeedMore means "so far so good".
ProxyResult check_v2_fixed(std::string_view input, std::size_t max_header) {
  if (!agrees(input, kV2Signature)) return invalid("PROXY v2: bad signature");
  if (input.size() > kV2VersionOffset) {
    const std::uint8_t ver_cmd = octet(input, kV2VersionOffset);
    if (ver_cmd >> 4 != kV2Version) return invalid("PROXY v2: unsupported version");
    const std::uint8_t command = ver_cmd & 0x0F;
    if (command != kV2CommandLocal && command != kV2CommandProxy) {
      return invalid("PROXY v2: unknown command");
    }
    if (command == kV2CommandProxy && input.size() > kV2FamilyOffset) {
      const std::uint8_t family = octet(input, kV2FamilyOffset);
      if (family != kV2TcpOverIpv4 && family != kV2TcpOverIpv6) {
        return invalid("PROXY v2: unsupported address family or transport");
      }
    }
  }
  if (input.size() > kV2LengthOffset) {
    // The high length octet alone already gives a lower bound on the header size.
    const std::size_t at_least = kV2FixedBytes + (std::size_t{octet(input, kV2LengthOffset)} << 8);
    if (at_least > max_header) return invalid("PROXY v2: header too long");
  }
  return need_more();
}

bool tlvs_well_formed(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < kV2TlvHeader) return false;
    const std::size_t length = be16(tlvs, 1);
    if (tlvs.size() < kV2TlvHeader + length) return false;
    tlvs.remove_prefix(kV2TlvHeader + length);
  }
  return true;
}

// `block` is everything after the 16 fixed octets, of the announced length.
ProxyResult parse_v2_proxy(std::string_view block, std::uint8_t family, std::size_t total) {
  ProxyHeader header;
  header.family = family == kV2TcpOverIpv4 ? 4 : 6;
  const std::size_t address_bytes = header.family == 4 ? 4 : 16;
  const std::size_t block_bytes = header.family == 4 ? kV2Ipv4Block : kV2Ipv6Block;
  if (block.size() < block_bytes) return invalid("PROXY v2: address block too short");
  for (std::size_t i = 0; i < address_bytes; ++i) {
    header.source[i] = octet(block, i);
    header.destination[i] = octet(block, address_bytes + i);
  }
  header.source_port = be16(block, 2 * address_bytes);
  header.destination_port = be16(block, 2 * address_bytes + 2);
  if (!tlvs_well_formed(block.substr(block_bytes))) return invalid("PROXY v2: malformed TLV");
  return complete(total, header);
}

ProxyResult parse_v2(std::string_view input, std::size_t max_header) {
  ProxyResult fixed = check_v2_fixed(input, max_header);
  if (fixed.status == ProxyStatus::Invalid || input.size() < kV2FixedBytes) return fixed;
  const std::size_t total = kV2FixedBytes + be16(input, kV2LengthOffset);
  if (total > max_header) return invalid("PROXY v2: header too long");
  const bool local = (octet(input, kV2VersionOffset) & 0x0F) == kV2CommandLocal;
  const std::size_t min_block =
      octet(input, kV2FamilyOffset) == kV2TcpOverIpv4 ? kV2Ipv4Block : kV2Ipv6Block;
  if (!local && total - kV2FixedBytes < min_block) {
    return invalid("PROXY v2: address block too short");
  }
  if (input.size() < total) return need_more();
  if (local) {
    ProxyHeader header;  // LOCAL: the family and address block are ignored (spec §2.2)
    header.local = true;
    return complete(total, header);
  }
  return parse_v2_proxy(input.substr(kV2FixedBytes, total - kV2FixedBytes),
                        octet(input, kV2FamilyOffset), total);
}

}  // namespace

std::string ProxyHeader::source_text() const {
  if (family != 4 && family != 6) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == 4 ? AF_INET : AF_INET6, source.data(), text, sizeof text) == nullptr) {
    return {};
  }
  return text;
}

ProxyResult parse_proxy_header(std::string_view input, std::size_t max_v2_header) {
  if (input.empty()) return need_more();
  if (input.front() == kV1Prefix.front()) return parse_v1(input);
  if (input.front() == kV2Signature.front()) return parse_v2(input, max_v2_header);
  return invalid("PROXY: not a PROXY protocol header");
}

}  // namespace mxgate::smtp
