#include "relay/outbound.hpp"

#include <algorithm>
#include <array>
#include <random>

#include "common/cidr.hpp"
#include "common/idna.hpp"

namespace mxgate::relay {
namespace asio = boost::asio;

namespace {

Destination refused(Destination::Kind kind, int code, std::string_view enhanced,
                    std::string text) {
  return {kind, {}, smtp::Reply::make(code, enhanced, std::move(text))};
}

bool same(const common::IpBytes& a, const common::IpBytes& b) {
  return a.family == b.family && a.bytes == b.bytes;
}

bool is_loopback(const common::IpBytes& ip) {
  static constexpr std::array<std::uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                            0, 0, 0, 0, 0, 0, 0, 1};
  return ip.family == 4 ? ip.bytes[0] == 127 : ip.bytes == kV6Loopback;
}

constexpr std::array<int, 2> kFamilies{4, 6};  // IPv4 first: not every MX host has IPv6 routes

bool is_wildcard(const common::IpBytes& ip) {
  return std::all_of(ip.bytes.begin(), ip.bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

std::string_view to_string(Destination::Kind kind) {
  static constexpr std::array<std::string_view, 8> kNames{
      "bounce_relay", "mx", "implicit_mx", "null_mx", "no_domain", "no_address", "loop",
      "dns_error"};
  return kNames.at(static_cast<std::size_t>(kind));
}

std::vector<std::string> exchanger_order(std::vector<dns::MxRecord> records,
                                         std::uint64_t random) {
  std::mt19937_64 shuffle(random);
  std::stable_sort(records.begin(), records.end(),
                   [](const auto& a, const auto& b) { return a.preference < b.preference; });
  for (auto group = records.begin(); group != records.end();) {
    const auto end = std::find_if(group, records.end(), [&](const auto& r) {
      return r.preference != group->preference;
    });
    std::shuffle(group, end, shuffle);
    group = end;
  }
  std::vector<std::string> names;
  for (auto& record : records) {
    if (std::find(names.begin(), names.end(), record.exchange) == names.end()) {
      names.push_back(std::move(record.exchange));
    }
  }
  return names;
}

bool is_own_listener(const common::IpBytes& address, std::uint16_t port,
                     const std::vector<conf::HostPort>& listeners) {
  return std::any_of(listeners.begin(), listeners.end(), [&](const conf::HostPort& listener) {
    if (listener.port != port) return false;
    const auto ip = common::parse_ip(listener.host);
    return ip && (same(*ip, address) || (is_wildcard(*ip) && is_loopback(address)));
  });
}

asio::awaitable<Destination> find_destination(dns::Resolver& resolver, std::string domain,
                                              const conf::OutboundConfig& outbound,
                                              const std::vector<conf::HostPort>& listeners) {
  using Kind = Destination::Kind;
  if (!outbound.bounce_relay.empty()) co_return Destination{Kind::BounceRelay, outbound.bounce_relay};
  // An internationalized domain is looked up by its A-label (RFC 5890).
  std::optional<std::string> ascii = common::a_label(domain);
  if (!ascii) {
    co_return refused(Kind::NoDomain, 550, "5.1.2", "Domain " + domain + " is not a valid name");
  }
  domain = std::move(*ascii);
  const auto mx = co_await resolver.mx(domain);
  if (mx.outcome == dns::Outcome::NxDomain) {
    co_return refused(Kind::NoDomain, 550, "5.1.2", "Domain " + domain + " does not exist");
  }
  if (dns::is_failure(mx.outcome)) {
    co_return refused(Kind::DnsError, 451, "4.4.3",
                      "MX lookup for " + domain + " failed: " + std::string(to_string(mx.outcome)));
  }
  if (dns::is_null_mx(mx)) {
    // RFC 7505 §4.2: the domain accepts no mail.
    co_return refused(Kind::NullMx, 556, "5.1.10", "Domain " + domain + " has a null MX");
  }
  // RFC 5321 §5.1: no MX record at all: the domain itself is the exchanger (the implicit MX).
  const Kind kind = mx.ok() ? Kind::Mx : Kind::ImplicitMx;
  const std::vector<std::string> exchangers =
      mx.ok() ? exchanger_order(mx.records, std::random_device{}()) : std::vector{domain};
  Destination found{kind, {}, {}};
  bool failed = false, looped = false;
  for (const std::string& exchanger : exchangers) {
    if (exchanger == ".") continue;  // a null MX among others names no host
    for (const int family : kFamilies) {
      if (found.hosts.size() >= kMaxAddresses) break;
      const auto addresses = co_await resolver.addresses(exchanger, family);
      failed = failed || dns::is_failure(addresses.outcome);
      for (const auto& record : addresses.records) {
        if (is_own_listener(record.address, outbound.port, listeners)) {
          looped = true;
          continue;
        }
        const conf::HostPort host{common::ip_text(record.address), outbound.port};
        if (found.hosts.size() < kMaxAddresses &&
            std::find(found.hosts.begin(), found.hosts.end(), host) == found.hosts.end()) {
          found.hosts.push_back(host);
        }
      }
    }
  }
  if (found.deliverable()) co_return found;
  // Nothing to try: a lookup that failed may yet find one; otherwise it is for good.
  if (failed) {
    co_return refused(Kind::DnsError, 451, "4.4.3",
                      "Address lookup for the exchangers of " + domain + " failed");
  }
  if (looped) {
    co_return refused(Kind::Loop, 550, "5.4.6",
                      "Mail for " + domain + " loops back to myself");
  }
  co_return refused(Kind::NoAddress, 550, "5.4.4",
                    "No address for the mail exchangers of " + domain);
}

}  // namespace mxgate::relay
