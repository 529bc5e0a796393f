#include "smtp/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "split.hpp"

namespace mxgate::smtp {
namespace {

using testing::show;

const std::string kSignature{"\r\n\r\n\0\r\nQUIT\n", 12};
const std::string kPipelined = "EHLO x\r\n";

std::string octets(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// A v2 header: signature, version/command, family/transport, length, then `body`.
std::string v2(int ver_cmd, int family, const std::string& body) {
  return kSignature +
         octets({ver_cmd, family, static_cast<int>(body.size() >> 8),
                 static_cast<int>(body.size() & 0xFF)}) +
         body;
}

// 192.0.2.7:12345 -> 198.51.100.1:25
const std::string kIpv4Block = octets({192, 0, 2, 7, 198, 51, 100, 1, 0x30, 0x39, 0x00, 0x19});
// [2001:db8::1]:12345 -> [2001:db8::2]:25
const std::string kIpv6Block =
    octets({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  //
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,  //
            0x30, 0x39, 0x00, 0x19});
// PP2_TYPE_ALPN "smtp", then PP2_TYPE_NOOP with no value.
const std::string kTlvs = octets({0x01, 0x00, 0x04, 's', 'm', 't', 'p', 0x04, 0x00, 0x00});

std::string destination_text(const ProxyHeader& h) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(h.family == 4 ? AF_INET : AF_INET6, h.destination.data(), text, sizeof text);
  return text;
}

std::string unknown_line(std::size_t total) {  // "PROXY UNKNOWN aaa...\r\n" of `total` octets
  return "PROXY UNKNOWN " + std::string(total - 16, 'a') + "\r\n";
}

struct ValidCase {
  const char* name;
  std::string input;
  bool local;
  int family;
  std::string source;  // as source_text() prints it
  std::string destination;
  std::uint16_t source_port;
  std::uint16_t destination_port;
};

std::vector<ValidCase> valid_cases() {
  const std::string full6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  return {
      {"v1 TCP4", "PROXY TCP4 192.0.2.7 198.51.100.1 12345 25\r\n", false, 4, "192.0.2.7",
       "198.51.100.1", 12345, 25},
      {"v1 TCP6", "PROXY TCP6 2001:db8::1 2001:db8::2 12345 25\r\n", false, 6, "2001:db8::1",
       "2001:db8::2", 12345, 25},
      {"v1 TCP6 non-canonical", "PROXY TCP6 2001:0DB8:0:0::0001 ::ffff:192.0.2.7 0 65535\r\n",
       false, 6, "2001:db8::1", "::ffff:192.0.2.7", 0, 65535},
      {"v1 UNKNOWN", "PROXY UNKNOWN\r\n", true, 0, "", "", 0, 0},
      {"v1 UNKNOWN with addresses", "PROXY UNKNOWN " + full6 + " " + full6 + " 65535 65535\r\n",
       true, 0, "", "", 0, 0},
      {"v1 UNKNOWN of 107 octets", unknown_line(107), true, 0, "", "", 0, 0},
      {"v2 PROXY IPv4", v2(0x21, 0x11, kIpv4Block), false, 4, "192.0.2.7", "198.51.100.1", 12345,
       25},
      {"v2 PROXY IPv4 with TLVs", v2(0x21, 0x11, kIpv4Block + kTlvs), false, 4, "192.0.2.7",
       "198.51.100.1", 12345, 25},
      {"v2 PROXY IPv6", v2(0x21, 0x21, kIpv6Block), false, 6, "2001:db8::1", "2001:db8::2", 12345,
       25},
      {"v2 PROXY IPv6 with TLVs", v2(0x21, 0x21, kIpv6Block + kTlvs), false, 6, "2001:db8::1",
       "2001:db8::2", 12345, 25},
      {"v2 LOCAL UNSPEC", v2(0x20, 0x00, ""), true, 0, "", "", 0, 0},
      {"v2 LOCAL ignores an IPv4 block", v2(0x20, 0x11, kIpv4Block), true, 0, "", "", 0, 0},
      {"v2 LOCAL ignores a UNIX block", v2(0x20, 0x31, std::string(216, 'u')), true, 0, "", "", 0,
       0},
  };
}

TEST(ProxyProtocol, ParsesValidHeadersAndLeavesPipelinedBytes) {
  for (const ValidCase& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    const std::string buffer = c.input + kPipelined;
    const ProxyResult r = parse_proxy_header(buffer);
    ASSERT_EQ(r.status, ProxyStatus::Complete) << r.error;
    EXPECT_EQ(r.consumed, c.input.size());
    EXPECT_EQ(buffer.substr(r.consumed), kPipelined);
    EXPECT_EQ(r.header.local, c.local);
    EXPECT_EQ(r.header.family, c.family);
    EXPECT_EQ(r.header.source_text(), c.source);
    if (c.family != 0) {
      EXPECT_EQ(destination_text(r.header), c.destination);
    }
    EXPECT_EQ(r.header.source_port, c.source_port);
    EXPECT_EQ(r.header.destination_port, c.destination_port);
    EXPECT_TRUE(r.error.empty());
  }
}

TEST(ProxyProtocol, NeedsMoreForEveryPrefixOfAValidHeader) {
  for (const ValidCase& c : valid_cases()) {
    for (std::size_t n = 0; n < c.input.size(); ++n) {
      const ProxyResult r = parse_proxy_header(std::string_view(c.input).substr(0, n));
      ASSERT_EQ(r.status, ProxyStatus::NeedMore) << c.name << " cut at " << n << ": " << r.error;
      EXPECT_EQ(r.consumed, 0u);
    }
    EXPECT_EQ(parse_proxy_header(c.input).status, ProxyStatus::Complete) << c.name;
  }
}

struct InvalidCase {
  const char* name;
  std::string input;
  std::size_t decided_at = 0;  // shortest prefix already refused; 0 means the whole input
};

std::vector<InvalidCase> invalid_cases() {
  const std::string ok4 = "PROXY TCP4 192.0.2.7 198.51.100.1 ";
  std::string bad_signature = v2(0x21, 0x11, kIpv4Block);
  bad_signature[7] = 'q';
  return {
      {"plain SMTP", "EHLO x\r\n", 1},
      {"lowercase proxy", "proxy TCP4 192.0.2.7 198.51.100.1 12345 25\r\n", 1},
      {"double space after PROXY", "PROXY  TCP4 192.0.2.7 198.51.100.1 12345 25\r\n", 7},
      {"unknown protocol", "PROXY TCP5 192.0.2.7 198.51.100.1 12345 25\r\n", 10},
      {"double space between fields", "PROXY TCP4 192.0.2.7  198.51.100.1 12345 25\r\n"},
      {"trailing space", ok4 + "12345 25 \r\n"},
      {"bad IPv4 address", "PROXY TCP4 192.0.2.256 198.51.100.1 12345 25\r\n"},
      {"IPv6 address in TCP4", "PROXY TCP4 2001:db8::1 198.51.100.1 12345 25\r\n"},
      {"IPv4 address in TCP6", "PROXY TCP6 192.0.2.7 2001:db8::2 12345 25\r\n"},
      {"NUL inside an address",
       "PROXY TCP4 192.0.2.7" + std::string(1, '\0') + "x " + "198.51.100.1 12345 25\r\n"},
      {"port 65536", ok4 + "65536 25\r\n"},
      {"port with plus sign", ok4 + "+12345 25\r\n"},
      {"port with minus sign", ok4 + "-1 25\r\n"},
      {"port with leading zero", ok4 + "12345 025\r\n"},
      {"port with garbage", ok4 + "12345 25x\r\n"},
      {"missing port", ok4 + "12345\r\n"},
      {"extra field", ok4 + "12345 25 7\r\n"},
      {"UNKNOWN glued to garbage", "PROXY UNKNOWNX\r\n"},
      {"bare LF", ok4 + "12345 25\n"},
      {"bare CR", ok4 + "12345 25\rx"},
      {"no CRLF within 107 octets", "PROXY UNKNOWN " + std::string(200, 'a'), 106},
      {"v1 line of 108 octets", unknown_line(108), 106},
      {"v2 wrong signature", bad_signature, 8},
      {"v2 version 1", v2(0x11, 0x11, kIpv4Block), 13},
      {"v2 version 3", v2(0x31, 0x11, kIpv4Block), 13},
      {"v2 unknown command", v2(0x22, 0x11, kIpv4Block), 13},
      {"v2 PROXY with AF_UNSPEC", v2(0x21, 0x00, ""), 14},
      {"v2 PROXY with AF_UNIX", v2(0x21, 0x31, std::string(216, 'u')), 14},
      {"v2 PROXY over DGRAM", v2(0x21, 0x12, kIpv4Block), 14},
      {"v2 IPv4 block too short", v2(0x21, 0x11, kIpv4Block.substr(0, 8)), 16},
      {"v2 IPv6 length of an IPv4 block", v2(0x21, 0x21, kIpv4Block), 16},
      {"v2 TLV longer than the header", v2(0x21, 0x11, kIpv4Block + octets({1, 0, 9, 'a'}))},
      {"v2 TLV header cut short", v2(0x21, 0x11, kIpv4Block + octets({4, 0}))},
      {"v2 length over the cap", v2(0x21, 0x11, std::string(4081, 'x')), 16},
      {"v2 length 65535", v2(0x21, 0x11, std::string(65535, 'x')), 15},
  };
}

TEST(ProxyProtocol, RefusesMalformedHeadersAsSoonAsTheyCannotBeValid) {
  for (const InvalidCase& c : invalid_cases()) {
    const std::size_t decided_at = c.decided_at == 0 ? c.input.size() : c.decided_at;
    for (std::size_t n = 0; n <= c.input.size(); ++n) {
      const ProxyResult r = parse_proxy_header(std::string_view(c.input).substr(0, n));
      const ProxyStatus want = n < decided_at ? ProxyStatus::NeedMore : ProxyStatus::Invalid;
      ASSERT_EQ(r.status, want) << c.name << " cut at " << n << ": "
                                << show(c.input.substr(0, std::min<std::size_t>(n, 60)));
      EXPECT_EQ(r.consumed, 0u);
      EXPECT_EQ(r.error.empty(), want != ProxyStatus::Invalid) << c.name;
    }
  }
}

TEST(ProxyProtocol, AcceptsAV2HeaderUpToTheCapAndRefusesOneOctetMore) {
  const std::size_t tlv_room = kProxyV2DefaultMaxHeader - 16 - kIpv4Block.size() - 3;
  const std::string noop =
      octets({4, static_cast<int>(tlv_room >> 8), static_cast<int>(tlv_room & 0xFF)}) +
      std::string(tlv_room, 'n');
  const std::string at_cap = v2(0x21, 0x11, kIpv4Block + noop);
  ASSERT_EQ(at_cap.size(), kProxyV2DefaultMaxHeader);
  EXPECT_EQ(parse_proxy_header(at_cap).status, ProxyStatus::Complete);
  EXPECT_EQ(parse_proxy_header(at_cap).consumed, kProxyV2DefaultMaxHeader);

  const std::string small = v2(0x21, 0x11, kIpv4Block + octets({4, 0, 0}));  // 31 octets
  EXPECT_EQ(parse_proxy_header(small, small.size()).status, ProxyStatus::Complete);
  EXPECT_EQ(parse_proxy_header(small, small.size() - 1).status, ProxyStatus::Invalid);
}

}  // namespace
}  // namespace mxgate::smtp
