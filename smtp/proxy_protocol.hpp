// HAProxy PROXY protocol header parser, versions 1 (text) and 2 (binary), as specified in
// haproxy's doc/proxy-protocol.txt (§2.1 v1, §2.2 v2). A listener that enables it reads this
// header before the SMTP greeting, only from trusted source networks (the caller checks trust);
// the source address it carries then stands for the client in every check, log and reply.
// Pure: no I/O, no state, no exceptions on network bytes; safe to call from any thread.
// On failure it returns Invalid with a short reason (never echoing client bytes) as soon as the
// buffered prefix cannot start a valid header, so a client speaking SMTP directly is refused at
// its first octet; the caller then closes the connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mxgate::smtp {

// Longest v1 header, <CRLF> included (spec §2.1: "at most 107 bytes").
inline constexpr std::size_t kProxyV1MaxLine = 107;
// Default bound on a whole v2 header (16 fixed octets + address block + TLVs). The wire format
// allows 16 + 65535; a larger header than this is refused. Callers pass the configured value.
inline constexpr std::size_t kProxyV2DefaultMaxHeader = 4096;

struct ProxyHeader {
  bool local = false;  // v2 LOCAL command or v1 "UNKNOWN": use the real peer address
  int family = 0;      // 4 or 6 (0 when local/unknown)
  std::array<std::uint8_t, 16> source{};  // network byte order; IPv4 in the first 4 bytes
  std::array<std::uint8_t, 16> destination{};
  std::uint16_t source_port = 0, destination_port = 0;

  // "192.0.2.7" or canonical IPv6 text ("2001:db8::1"); empty when family is neither 4 nor 6.
  std::string source_text() const;
};

enum class ProxyStatus {
  NeedMore,  // the input is a proper prefix of a possible header; read more and call again
  Complete,  // `header` is set; drop `consumed` octets, the rest is the client's SMTP stream
  Invalid,   // the input cannot start a valid header; `error` says why
};

struct ProxyResult {
  ProxyStatus status = ProxyStatus::NeedMore;
  std::size_t consumed = 0;  // octets of the header, <CRLF> or TLVs included; 0 unless Complete
  ProxyHeader header;
  std::string error;
};

// Looks at the front of `input` (all buffered, unconsumed octets) and parses one v1 or v2
// header. v1 is strict: single spaces, addresses checked with inet_pton for the announced
// family, decimal ports 0-65535 without sign or leading zeros. v2 accepts LOCAL with any family
// (address block ignored) and PROXY with AF_INET/AF_INET6 over STREAM only; TLVs must be
// well-formed and are skipped. A v2 header longer than `max_v2_header` octets is Invalid.
ProxyResult parse_proxy_header(std::string_view input,
                               std::size_t max_v2_header = kProxyV2DefaultMaxHeader);

}  // namespace mxgate::smtp
