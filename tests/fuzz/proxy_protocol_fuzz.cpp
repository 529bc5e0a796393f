// libFuzzer target of the HAProxy PROXY protocol header parser, v1 and v2 (smtp/proxy_protocol.hpp;
// haproxy doc/proxy-protocol.txt §2.1, §2.2). Byte 0 chooses the v2 size bound; the rest is what
// a load balancer (or anyone else) sent first. Checked: a complete header consumes no more than
// the input and the bound allows (107 octets for v1); every proper prefix of a complete header,
// and of a pending one, is NeedMore (the parser never refuses or accepts early); a header that
// was read, written again in v1 text and in v2 binary, reads back to the same addresses.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/proxy_protocol.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace smtp = mxgate::smtp;
using mxgate::fuzz::check;

constexpr std::size_t kV2Fixed = 16;
constexpr std::size_t kPrefixChecks = 64;  // proper prefixes tried, spread evenly
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

std::string address_text(int family, const std::array<std::uint8_t, 16>& address) {
  char text[INET6_ADDRSTRLEN] = {};
  check(inet_ntop(family == 4 ? AF_INET : AF_INET6, address.data(), text, sizeof text) != nullptr);
  return text;
}

std::string v1(const smtp::ProxyHeader& h) {
  return std::string("PROXY ") + (h.family == 4 ? "TCP4 " : "TCP6 ") +
         address_text(h.family, h.source) + " " + address_text(h.family, h.destination) + " " +
         std::to_string(h.source_port) + " " + std::to_string(h.destination_port) + "\r\n";
}

std::string v2(const smtp::ProxyHeader& h) {
  const std::size_t bytes = h.family == 4 ? 4 : 16;
  std::string out(kV2Signature);
  out += '\x21';                           // version 2, PROXY
  out += h.family == 4 ? '\x11' : '\x21';  // TCP over IPv4 / IPv6
  const std::size_t length = 2 * bytes + 4;
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length & 0xff);
  out.append(reinterpret_cast<const char*>(h.source.data()), bytes);
  out.append(reinterpret_cast<const char*>(h.destination.data()), bytes);
  for (const std::uint16_t port : {h.source_port, h.destination_port}) {
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
  }
  return out;
}

void check_same(const smtp::ProxyHeader& a, std::string_view wire) {
  const auto r = smtp::parse_proxy_header(wire);
  check(r.status == smtp::ProxyStatus::Complete && r.consumed == wire.size());
  const auto& b = r.header;
  check(a.family == b.family && a.local == b.local && a.source == b.source &&
        a.destination == b.destination && a.source_port == b.source_port &&
        a.destination_port == b.destination_port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t max_v2 = kV2Fixed + std::size_t{data[0]} * 16;
  const std::string_view input = mxgate::fuzz::text(data + 1, size - 1);
  const smtp::ProxyResult r = smtp::parse_proxy_header(input, max_v2);

  std::size_t pending = input.size();  // the prefixes that must all be NeedMore
  if (r.status == smtp::ProxyStatus::Complete) {
    check(r.consumed > 0 && r.consumed <= input.size());
    check(input.front() == 'P' ? r.consumed <= smtp::kProxyV1MaxLine : r.consumed <= max_v2);
    check(r.error.empty());
    pending = r.consumed;
  } else {
    check(r.consumed == 0);
    check((r.status == smtp::ProxyStatus::Invalid) == !r.error.empty());
    if (r.status == smtp::ProxyStatus::Invalid) pending = 0;
  }
  const std::size_t step = std::max<std::size_t>(1, pending / kPrefixChecks);
  for (std::size_t n = 0; n < pending; n += step) {
    check(smtp::parse_proxy_header(input.substr(0, n), max_v2).status ==
          smtp::ProxyStatus::NeedMore);
  }
  if (pending > 0) {
    check(smtp::parse_proxy_header(input.substr(0, pending - 1), max_v2).status ==
          smtp::ProxyStatus::NeedMore);
  }
  if (r.status != smtp::ProxyStatus::Complete) return 0;
  if (r.header.local) {
    check(r.header.family == 0 && r.header.source_text().empty());
    return 0;
  }
  check(r.header.family == 4 || r.header.family == 6);
  check(!r.header.source_text().empty());
  check_same(r.header, v1(r.header));
  check_same(r.header, v2(r.header));
  return 0;
}
