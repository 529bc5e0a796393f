#include "server/dns_checks.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "reputation/sender_rules.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using reputation::Signal;
using reputation::Verdict;

namespace {

// PTR names checked for a forward match (a PTR RRset is rarely larger; SPF's limit is 10).
constexpr std::size_t kMaxPtrNames = 5;

CheckResult failure(std::string_view what, dns::Outcome outcome) {
  return CheckResult{{}, true, fmt::format("{}: {}", what, dns::to_string(outcome))};
}

std::string address_text(const common::IpBytes& ip) {
  common::Cidr host{ip, ip.family == 4 ? 32 : 128};
  auto text = host.text();
  return text.substr(0, text.find('/'));
}

// Whether `name` has an address record equal to `client` (A for IPv4, AAAA for IPv6).
asio::awaitable<dns::Outcome> resolves_to(dns::Resolver& resolver, std::string name,
                                          common::IpBytes client, bool& match) {
  match = false;
  dns::Lookup<dns::AddressRecord> lookup;
  if (client.family == 4) {
    lookup = co_await resolver.a(std::move(name));
  } else {
    lookup = co_await resolver.aaaa(std::move(name));
  }
  for (const auto& record : lookup.records) {
    match = match || (record.address.family == client.family &&
                      record.address.bytes == client.bytes);
  }
  co_return lookup.outcome;
}

asio::awaitable<CheckResult> rdns(dns::Resolver& resolver, reputation::CheckSettings settings,
                                  common::IpBytes client, std::shared_ptr<DnsFacts> facts) {
  auto ptr = co_await resolver.ptr(client);
  if (ptr.outcome == dns::Outcome::NxDomain || ptr.outcome == dns::Outcome::NoData) {
    co_return CheckResult{{Verdict::cont(settings.points_for(Signal::RdnsMissing),
                                         Signal::RdnsMissing, "no PTR record")}};
  }
  if (!ptr.ok()) co_return failure("PTR lookup", ptr.outcome);
  for (const auto& record : ptr.records) facts->ptr_names.push_back(record.name);
  bool failed = false;
  for (std::size_t i = 0; i < facts->ptr_names.size() && i < kMaxPtrNames; ++i) {
    bool match = false;
    const auto outcome = co_await resolves_to(resolver, facts->ptr_names[i], client, match);
    if (match) {
      facts->confirmed_name = facts->ptr_names[i];
      break;
    }
    failed = failed || dns::is_failure(outcome);
  }
  std::vector<Verdict> verdicts;
  if (facts->confirmed_name.empty()) {
    // A failed forward lookup proves nothing: an error, not a mismatch.
    if (failed) co_return failure("forward lookup of the PTR name", dns::Outcome::ServFail);
    verdicts.push_back(Verdict::cont(
        settings.points_for(Signal::RdnsMismatch), Signal::RdnsMismatch,
        fmt::format("PTR {} does not resolve back to {}", facts->ptr_names.front(),
                    address_text(client))));
  }
  const std::string& name =
      facts->confirmed_name.empty() ? facts->ptr_names.front() : facts->confirmed_name;
  if (auto generic = reputation::generic_ptr_reason(client, name)) {
    verdicts.push_back(Verdict::cont(settings.points_for(Signal::RdnsGeneric),
                                     Signal::RdnsGeneric,
                                     fmt::format("PTR {}: {}", name, *generic)));
  }
  co_return CheckResult{std::move(verdicts)};
}

std::vector<std::array<std::uint8_t, 4>> v4_answers(const dns::Lookup<dns::AddressRecord>& a) {
  std::vector<std::array<std::uint8_t, 4>> out;
  for (const auto& record : a.records) {
    if (record.address.family != 4) continue;
    const auto& b = record.address.bytes;
    out.push_back({b[0], b[1], b[2], b[3]});
  }
  return out;
}

Verdict listing_verdict(const DnsblZone& zone, const std::string& answer_text) {
  const auto& c = zone.config;
  const bool allow = c.weight < 0;
  const auto signal = allow ? Signal::DnsblAllowlisted : Signal::DnsblListed;
  std::string reason = fmt::format("listed in {} ({})", c.zone, answer_text);
  switch (c.action) {
    case conf::DnsblConfig::Action::Reject:
      return Verdict::reject(signal, std::move(reason));
    case conf::DnsblConfig::Action::Defer:
      return Verdict::defer(signal, std::move(reason));
    case conf::DnsblConfig::Action::Score:
      break;
  }
  return Verdict::cont(c.weight, signal, std::move(reason));
}

asio::awaitable<CheckResult> dnsbl_zone(dns::Resolver& resolver,
                                        std::shared_ptr<const DnsblZone> zone,
                                        std::string query_name) {
  auto lookup = co_await resolver.a(std::move(query_name));
  if (lookup.outcome == dns::Outcome::NxDomain || lookup.outcome == dns::Outcome::NoData) {
    co_return CheckResult{};
  }
  if (!lookup.ok()) co_return failure(zone->config.zone, lookup.outcome);
  const auto answers = v4_answers(lookup);
  switch (reputation::judge_dnsbl_answer(answers, zone->filters)) {
    case reputation::DnsblResult::NotListed:
      co_return CheckResult{};
    case reputation::DnsblResult::ZoneError:
      if (zone->state != nullptr) zone->state->errors->Increment();
      co_return CheckResult{};
    case reputation::DnsblResult::Listed:
      break;
  }
  if (zone->state != nullptr) zone->state->listed->Increment();
  const auto& b = answers.front();
  co_return CheckResult{
      {listing_verdict(*zone, fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))}};
}

asio::awaitable<CheckResult> helo(dns::Resolver& resolver, reputation::CheckSettings settings,
                                  std::string name, common::IpBytes client,
                                  std::string our_hostname,
                                  std::shared_ptr<const DnsFacts> facts) {
  const auto verdict = reputation::judge_helo(name, client, our_hostname);
  if (verdict.problem == reputation::HeloProblem::LiteralMismatch) {
    co_return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloMismatch),
                                         Signal::HeloMismatch, verdict.reason)}};
  }
  if (verdict.problem != reputation::HeloProblem::None) {
    co_return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloInvalid),
                                         Signal::HeloInvalid,
                                         fmt::format("HELO {}: {}", name, verdict.reason))}};
  }
  if (verdict.literal) co_return CheckResult{};
  if (!facts->confirmed_name.empty() &&
      reputation::helo_matches_ptr(name, facts->confirmed_name)) {
    co_return CheckResult{};
  }
  // No PTR match: does the name at least point at the client?
  bool match = false;
  const auto outcome = co_await resolves_to(resolver, name, client, match);
  if (match) co_return CheckResult{};
  if (dns::is_failure(outcome)) co_return failure("HELO lookup", outcome);
  const std::string why =
      outcome == dns::Outcome::NxDomain ? "does not exist"
      : facts->confirmed_name.empty()   ? "does not resolve to the client"
                                        : "matches neither the client nor its PTR name " +
                                              facts->confirmed_name;
  co_return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloMismatch),
                                       Signal::HeloMismatch,
                                       fmt::format("HELO {} {}", name, why))}};
}

asio::awaitable<CheckResult> sender_domain(dns::Resolver& resolver, std::string domain) {
  auto mx = co_await resolver.mx(domain);
  if (mx.ok()) {
    if (dns::is_null_mx(mx)) {
      co_return CheckResult{{Verdict::reject(Signal::SenderDomainNullMx,
                                             fmt::format("{} publishes a null MX", domain))}};
    }
    co_return CheckResult{};
  }
  if (mx.outcome == dns::Outcome::NxDomain) {
    co_return CheckResult{{Verdict::reject(Signal::SenderDomainInvalid,
                                           fmt::format("{} does not exist", domain))}};
  }
  if (mx.outcome != dns::Outcome::NoData) {
    co_return CheckResult{{Verdict::defer(
        Signal::SenderDomainInvalid,
        fmt::format("MX lookup of {} failed: {}", domain, dns::to_string(mx.outcome)))}};
  }
  // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
  auto a = co_await resolver.a(domain);
  if (a.ok()) co_return CheckResult{};
  auto aaaa = co_await resolver.aaaa(domain);
  if (aaaa.ok()) co_return CheckResult{};
  if (dns::is_failure(a.outcome) || dns::is_failure(aaaa.outcome)) {
    co_return CheckResult{{Verdict::defer(Signal::SenderDomainInvalid,
                                          fmt::format("address lookup of {} failed", domain))}};
  }
  co_return CheckResult{{Verdict::reject(Signal::SenderDomainInvalid,
                                         fmt::format("{} has no MX or address records", domain))}};
}

}  // namespace

DnsblMonitor::DnsblMonitor(prometheus::Registry& registry)
    : hits_(prometheus::BuildCounter()
                .Name("mxgate_dnsbl_hits_total")
                .Help("DNSBL/DNSWL listings found, by configured zone")
                .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("mxgate_dnsbl_zone_errors_total")
                  .Help("Error answers from a zone (127.255.255.x, outside 127/8)")
                  .Register(registry)),
      up_(prometheus::BuildGauge()
              .Name("mxgate_dnsbl_zone_up")
              .Help("1 while the zone answers its test entries correctly")
              .Register(registry)) {}

DnsblMonitor::Zone& DnsblMonitor::zone(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = zones_[name];
  if (!slot) {
    slot = std::make_unique<Zone>();
    slot->listed = &hits_.Add({{"zone", name}});
    slot->errors = &errors_.Add({{"zone", name}});
    slot->up_gauge = &up_.Add({{"zone", name}});
    slot->up_gauge->Set(1);
  }
  return *slot;
}

std::vector<std::shared_ptr<const DnsblZone>> make_dnsbl_zones(
    const std::vector<conf::DnsblConfig>& configs, DnsblMonitor& monitor) {
  std::vector<std::shared_ptr<const DnsblZone>> zones;
  for (const auto& config : configs) {
    DnsblZone zone{config, {}, &monitor.zone(config.zone)};
    for (const auto& pattern : config.returns) {
      if (auto filter = reputation::ReturnFilter::parse(pattern)) zone.filters.push_back(*filter);
    }
    zones.push_back(std::make_shared<const DnsblZone>(std::move(zone)));
  }
  return zones;
}

PendingCheck rdns_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        common::IpBytes client, std::shared_ptr<DnsFacts> facts) {
  auto s = settings;
  return PendingCheck{std::move(settings), [&resolver, s, client, facts] {
                        return rdns(resolver, s, client, facts);
                      }};
}

PendingCheck dnsbl_zone_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                              std::shared_ptr<const DnsblZone> zone, std::string query_name) {
  return PendingCheck{std::move(settings), [&resolver, zone, query_name] {
                        return dnsbl_zone(resolver, zone, query_name);
                      }};
}

PendingCheck helo_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        std::string helo_name, common::IpBytes client, std::string our_hostname,
                        std::shared_ptr<const DnsFacts> facts) {
  auto s = settings;
  return PendingCheck{std::move(settings),
                      [&resolver, s, helo_name, client, our_hostname, facts] {
                        return helo(resolver, s, helo_name, client, our_hostname, facts);
                      }};
}

PendingCheck sender_domain_dns_check(dns::Resolver& resolver,
                                     reputation::CheckSettings settings, std::string domain) {
  return PendingCheck{std::move(settings),
                      [&resolver, domain] { return sender_domain(resolver, domain); }};
}

asio::awaitable<bool> probe_dnsbl_zone(dns::Resolver& resolver, const DnsblZone& zone) {
  const bool ip = zone.config.type == conf::DnsblConfig::Type::Ip;
  const std::string listed = ip ? reputation::dnsbl_query_name(*common::parse_ip("127.0.0.2"), zone.config.zone)
                                : reputation::rhsbl_query_name("test", zone.config.zone);
  const std::string unlisted =
      ip ? reputation::dnsbl_query_name(*common::parse_ip("127.0.0.1"), zone.config.zone)
         : reputation::rhsbl_query_name("invalid", zone.config.zone);
  auto yes = co_await resolver.a(listed);
  auto no = co_await resolver.a(unlisted);
  const bool listed_ok =
      yes.ok() && reputation::judge_dnsbl_answer(v4_answers(yes), {}) ==
                      reputation::DnsblResult::Listed;
  const bool unlisted_ok =
      no.outcome == dns::Outcome::NxDomain || no.outcome == dns::Outcome::NoData;
  co_return listed_ok && unlisted_ok;
}

}  // namespace mxgate::server
