#include "common/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace mxgate::common {
namespace {

constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int max_prefix(int family) { return family == 4 ? 32 : 128; }

void clear_host_bits(IpBytes& ip, int prefix) {
  const int bytes = ip.family == 4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    const int keep = std::min(8, std::max(0, prefix - 8 * i));
    ip.bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);
  IpBytes ip;
  if (inet_pton(AF_INET, copy.c_str(), ip.bytes.data()) == 1) {
    ip.family = 4;
    return ip;
  }
  if (inet_pton(AF_INET6, copy.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  ip.family = 6;
  return unmapped(ip);
}

IpBytes unmapped(const IpBytes& ip) {
  if (ip.family != 6 || !std::equal(std::begin(kMapped), std::end(kMapped), ip.bytes.begin())) {
    return ip;
  }
  IpBytes v4;
  v4.family = 4;
  std::copy(ip.bytes.begin() + 12, ip.bytes.end(), v4.bytes.begin());
  return v4;
}

bool Cidr::contains(const IpBytes& ip) const {
  if (ip.family != network.family) return false;
  IpBytes masked = ip;
  clear_host_bits(masked, prefix);
  return masked.bytes == network.bytes;
}

std::string ip_text(const IpBytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string Cidr::text() const { return ip_text(network) + "/" + std::to_string(prefix); }

Cidr network_of(const IpBytes& ip, int prefix) {
  Cidr cidr{ip, prefix};
  clear_host_bits(cidr.network, cidr.prefix);
  return cidr;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return std::nullopt;
  Cidr cidr{*ip, max_prefix(ip->family)};
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cidr.prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        cidr.prefix < 0 || cidr.prefix > max_prefix(ip->family)) {
      return std::nullopt;
    }
  }
  clear_host_bits(cidr.network, cidr.prefix);
  return cidr;
}

}  // namespace mxgate::common
