#include "storage/key_codec.hpp"

#include "common/cidr.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace mxgate::storage {
namespace {

namespace ip = boost::asio::ip;

constexpr char kTagV4 = 4;
constexpr char kTagV6 = 6;
constexpr int kV4Bits = 32;
constexpr int kV6Bits = 128;
constexpr std::size_t kHeader = 2;  // tag + prefix length

// The address as (tag, bytes in network order); IPv4-mapped IPv6 becomes IPv4.
std::pair<char, std::array<unsigned char, 16>> raw_bytes(const ip::address& address) {
  std::array<unsigned char, 16> out{};
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    const auto v4 = ip::make_address_v4(ip::v4_mapped, address.to_v6()).to_bytes();
    std::copy(v4.begin(), v4.end(), out.begin());
    return {kTagV4, out};
  }
  if (address.is_v4()) {
    const auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), out.begin());
    return {kTagV4, out};
  }
  const auto v6 = address.to_v6().to_bytes();
  std::copy(v6.begin(), v6.end(), out.begin());
  return {kTagV6, out};
}

void clear_host_bits(unsigned char* bytes, std::size_t size, int prefix_len) {
  for (std::size_t i = 0; i < size; ++i) {
    const int keep = std::clamp(prefix_len - static_cast<int>(8 * i), 0, 8);
    bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

ip::address make_address(char tag, const unsigned char* bytes) {
  if (tag == kTagV4) {
    ip::address_v4::bytes_type b;
    std::copy(bytes, bytes + b.size(), b.begin());
    return ip::address_v4(b);
  }
  ip::address_v6::bytes_type b;
  std::copy(bytes, bytes + b.size(), b.begin());
  return ip::address_v6(b);
}

std::string encode(const ip::address& address, int prefix_len) {
  auto [tag, bytes] = raw_bytes(address);
  const int width = tag == kTagV4 ? kV4Bits : kV6Bits;
  const int prefix = std::clamp(prefix_len, 0, width);
  const std::size_t size = static_cast<std::size_t>(width / 8);
  clear_host_bits(bytes.data(), size, prefix);
  std::string key;
  key.reserve(kHeader + size);
  key.push_back(tag);
  key.push_back(static_cast<char>(prefix));
  key.append(reinterpret_cast<const char*>(bytes.data()), size);
  return key;
}

}  // namespace

std::string_view family_name(Family family) {
  switch (family) {
    case Family::Ip:
      return "ip";
    case Family::Network:
      return "network";
    case Family::SenderDomain:
      return "sender_domain";
    case Family::AuthDomain:
      return "auth_domain";
    case Family::LinkedDomain:
      return "linked_domain";
  }
  return "unknown";
}

std::string ip_key(const ip::address& address) { return encode(address, kV6Bits); }

std::string network_key(const ip::address& address, int prefix_len) {
  return encode(address, prefix_len);
}

std::string domain_key(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string key(domain);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

std::string linked_domain_key(std::string_view text) {
  std::string_view inner = text;
  if (inner.size() > 2 && inner.front() == '[' && inner.back() == ']') {
    inner = inner.substr(1, inner.size() - 2);
  }
  if (const auto ip = common::parse_ip(inner)) return common::ip_text(*ip);
  return domain_key(text);
}

// The text is parsed by common::parse_cidr (the one CIDR grammar); this only changes the type.
std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto cidr = common::parse_cidr(text);
  if (!cidr) return std::nullopt;
  const char tag = cidr->network.family == 4 ? kTagV4 : kTagV6;
  return Cidr{make_address(tag, cidr->network.bytes.data()), cidr->prefix};
}

std::optional<std::string> key_from_text(Family family, std::string_view text) {
  if (family == Family::LinkedDomain) {
    if (text.empty()) return std::nullopt;
    return linked_domain_key(text);
  }
  if (family == Family::SenderDomain || family == Family::AuthDomain) {
    if (text.empty()) return std::nullopt;
    return domain_key(text);
  }
  const auto cidr = parse_cidr(text);
  if (!cidr) return std::nullopt;
  const bool has_prefix = text.find('/') != std::string_view::npos;
  if (family == Family::Ip) {
    if (has_prefix) return std::nullopt;
    return ip_key(cidr->network);
  }
  if (!has_prefix) return std::nullopt;
  return network_key(cidr->network, cidr->prefix_len);
}

std::optional<std::string> key_to_text(Family family, std::string_view key) {
  if (family == Family::SenderDomain || family == Family::AuthDomain ||
      family == Family::LinkedDomain) {
    return std::string(key);
  }
  if (key.size() < kHeader) return std::nullopt;
  const char tag = key[0];
  const int prefix = static_cast<unsigned char>(key[1]);
  const int width = tag == kTagV4 ? kV4Bits : kV6Bits;
  if ((tag != kTagV4 && tag != kTagV6) || key.size() != kHeader + width / 8 || prefix > width) {
    return std::nullopt;
  }
  const auto address =
      make_address(tag, reinterpret_cast<const unsigned char*>(key.data()) + kHeader);
  if (family == Family::Ip) {
    if (prefix != width) return std::nullopt;
    return address.to_string();
  }
  return address.to_string() + "/" + std::to_string(prefix);
}

}  // namespace mxgate::storage
