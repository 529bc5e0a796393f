#include "policy/dns_checks.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "policy/rules.hpp"
#include "reputation/sender_rules.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using reputation::Signal;
using reputation::Verdict;

namespace {

// PTR names checked for a forward match (a PTR RRset is rarely larger; SPF's limit is 10).
constexpr std::size_t kMaxPtrNames = 5;

CheckResult failure(std::string_view what, dns::Outcome outcome) {
  return CheckResult{{}, true, fmt::format("{}: {}", what, dns::to_string(outcome))};
}

// What the PTR lookup alone decides: no PTR, or a failure. Otherwise fills facts->ptr_names and
// returns nullopt: the names' forward lookups decide.
std::optional<CheckResult> judge_ptr(const reputation::CheckSettings& settings,
                                     const dns::Lookup<dns::NameRecord>& ptr, DnsFacts& facts) {
  if (ptr.outcome == dns::Outcome::NxDomain || ptr.outcome == dns::Outcome::NoData) {
    facts.iprev = "fail";
    return CheckResult{{Verdict::cont(settings.points_for(Signal::RdnsMissing), Signal::RdnsMissing,
                                      "no PTR record")}};
  }
  if (!ptr.ok()) {
    facts.iprev = "temperror";
    return failure("PTR lookup", ptr.outcome);
  }
  facts.ptr_names.clear();
  for (const auto& record : ptr.records) facts.ptr_names.push_back(record.name);
  return std::nullopt;
}

// The forward lookups of the PTR names are done: facts->confirmed_name is set or empty, and
// `forward_failed` says whether a lookup of a name that did not match failed.
CheckResult judge_forward(const reputation::CheckSettings& settings, const common::IpBytes& client,
                          DnsFacts& facts, bool forward_failed) {
  std::vector<Verdict> verdicts;
  facts.iprev = !facts.confirmed_name.empty() ? "pass" : forward_failed ? "temperror" : "fail";
  if (facts.confirmed_name.empty()) {
    // A failed forward lookup proves nothing: an error, not a mismatch.
    if (forward_failed) return failure("forward lookup of the PTR name", dns::Outcome::ServFail);
    verdicts.push_back(
        Verdict::cont(settings.points_for(Signal::RdnsMismatch), Signal::RdnsMismatch,
                      fmt::format("PTR {} does not resolve back to {}", facts.ptr_names.front(),
                                  common::ip_text(client))));
  }
  const std::string& name =
      facts.confirmed_name.empty() ? facts.ptr_names.front() : facts.confirmed_name;
  if (auto generic = reputation::generic_ptr_reason(client, name)) {
    verdicts.push_back(Verdict::cont(settings.points_for(Signal::RdnsGeneric), Signal::RdnsGeneric,
                                     fmt::format("PTR {}: {}", name, *generic)));
  }
  return CheckResult{std::move(verdicts)};
}

std::optional<CheckResult> rdns_now(dns::Resolver& resolver,
                                    const reputation::CheckSettings& settings,
                                    const common::IpBytes& client, DnsFacts& facts) {
  const auto ptr = resolver.peek_ptr(client);
  if (!ptr) return std::nullopt;
  if (auto decided = judge_ptr(settings, *ptr, facts)) return decided;
  bool failed = false;
  for (std::size_t i = 0; i < facts.ptr_names.size() && i < kMaxPtrNames; ++i) {
    const auto forward = resolver.peek_addresses(facts.ptr_names[i], client.family);
    if (!forward) return std::nullopt;
    if (dns::has_address(*forward, client)) {
      facts.confirmed_name = facts.ptr_names[i];
      break;
    }
    failed = failed || dns::is_failure(forward->outcome);
  }
  return judge_forward(settings, client, facts, failed);
}

asio::awaitable<CheckResult> rdns(dns::Resolver& resolver, reputation::CheckSettings settings,
                                  common::IpBytes client, std::shared_ptr<DnsFacts> facts) {
  const auto ptr = co_await resolver.ptr(client);
  auto decided = judge_ptr(settings, ptr, *facts);
  if (decided) co_return std::move(*decided);
  bool failed = false;
  for (std::size_t i = 0; i < facts->ptr_names.size() && i < kMaxPtrNames; ++i) {
    const auto forward = co_await resolver.addresses(facts->ptr_names[i], client.family);
    if (dns::has_address(forward, client)) {
      facts->confirmed_name = facts->ptr_names[i];
      break;
    }
    failed = failed || dns::is_failure(forward.outcome);
  }
  co_return judge_forward(settings, client, *facts, failed);
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

// `linked`: the linked domain a URI zone was asked about ("" for the other types).
Verdict listing_verdict(const DnsblZone& zone, const std::string& answer_text,
                        std::string_view linked) {
  const auto& c = zone.config;
  const bool uri = c.type == conf::DnsblConfig::Type::Uri;
  const auto signal = uri            ? Signal::UriDnsblListed
                      : c.weight < 0 ? Signal::DnsblAllowlisted
                                     : Signal::DnsblListed;
  std::string reason =
      uri ? fmt::format("links to {}, listed in {} ({})", linked, c.zone, answer_text)
          : fmt::format("listed in {} ({})", c.zone, answer_text);
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

reputation::DnsblResult judge_answers(const DnsblZone& zone,
                                      const std::vector<std::array<std::uint8_t, 4>>& answers) {
  return zone.config.type == conf::DnsblConfig::Type::Uri
             ? reputation::judge_uri_answer(answers, zone.filters)
             : reputation::judge_dnsbl_answer(answers, zone.filters);
}

}  // namespace

ZoneAnswer judge_zone_answer(const DnsblZone& zone, const dns::Lookup<dns::AddressRecord>& lookup,
                             std::string_view linked) {
  if (lookup.outcome == dns::Outcome::NxDomain || lookup.outcome == dns::Outcome::NoData) {
    return {};
  }
  if (!lookup.ok()) return {failure(zone.config.zone, lookup.outcome), zone.config.zone, {}};
  const auto answers = v4_answers(lookup);
  switch (judge_answers(zone, answers)) {
    case reputation::DnsblResult::NotListed:
      return {};
    case reputation::DnsblResult::ZoneError:
      if (zone.state != nullptr) zone.state->errors->Increment();
      return {};
    case reputation::DnsblResult::Listed:
      break;
  }
  if (zone.state != nullptr) zone.state->listed->Increment();
  // The first answer the filters accept names the listing (the others may be error codes).
  const auto& b = *std::find_if(answers.begin(), answers.end(), [&](const auto& answer) {
    return judge_answers(zone, {answer}) == reputation::DnsblResult::Listed;
  });
  std::string text = fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
  return {CheckResult{{listing_verdict(zone, text, linked)}}, zone.config.zone, std::move(text)};
}

namespace {

CheckResult judge_zone(const DnsblZone& zone, const dns::Lookup<dns::AddressRecord>& lookup) {
  return judge_zone_answer(zone, lookup).result;
}

asio::awaitable<CheckResult> dnsbl_zone(dns::Resolver& resolver,
                                        std::shared_ptr<const DnsblZone> zone,
                                        std::string query_name) {
  const auto lookup = co_await resolver.a(std::move(query_name));
  co_return judge_zone(*zone, lookup);
}

// What the name alone decides (judge_helo's rules, a match with the confirmed PTR name), or
// nullopt: the name's own address lookup decides (judge_helo_lookup).
std::optional<CheckResult> judge_helo_name(const reputation::CheckSettings& settings,
                                           const std::string& name, const common::IpBytes& client,
                                           const std::string& our_hostname, const DnsFacts& facts) {
  const auto verdict = reputation::judge_helo(name, client, our_hostname);
  if (verdict.problem == reputation::HeloProblem::LiteralMismatch) {
    return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloMismatch),
                                      Signal::HeloMismatch, verdict.reason)}};
  }
  if (verdict.problem != reputation::HeloProblem::None) {
    return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloInvalid), Signal::HeloInvalid,
                                      fmt::format("HELO {}: {}", name, verdict.reason))}};
  }
  if (verdict.literal) return CheckResult{};
  if (!facts.confirmed_name.empty() && reputation::helo_matches_ptr(name, facts.confirmed_name)) {
    return CheckResult{};
  }
  return std::nullopt;
}

// No PTR match: does the name at least point at the client?
CheckResult judge_helo_lookup(const reputation::CheckSettings& settings, const std::string& name,
                              const common::IpBytes& client, const DnsFacts& facts,
                              const dns::Lookup<dns::AddressRecord>& lookup) {
  if (dns::has_address(lookup, client)) return CheckResult{};
  if (dns::is_failure(lookup.outcome)) return failure("HELO lookup", lookup.outcome);
  const std::string why =
      lookup.outcome == dns::Outcome::NxDomain ? "does not exist"
      : facts.confirmed_name.empty()
          ? "does not resolve to the client"
          : "matches neither the client nor its PTR name " + facts.confirmed_name;
  return CheckResult{{Verdict::cont(settings.points_for(Signal::HeloMismatch), Signal::HeloMismatch,
                                    fmt::format("HELO {} {}", name, why))}};
}

std::optional<CheckResult> helo_now(dns::Resolver& resolver,
                                    const reputation::CheckSettings& settings,
                                    const std::string& name, const common::IpBytes& client,
                                    const std::string& our_hostname, const DnsFacts& facts) {
  if (auto decided = judge_helo_name(settings, name, client, our_hostname, facts)) return decided;
  const auto lookup = resolver.peek_addresses(name, client.family);
  if (!lookup) return std::nullopt;
  return judge_helo_lookup(settings, name, client, facts, *lookup);
}

asio::awaitable<CheckResult> helo(dns::Resolver& resolver, reputation::CheckSettings settings,
                                  std::string name, common::IpBytes client,
                                  std::string our_hostname, std::shared_ptr<const DnsFacts> facts) {
  auto decided = judge_helo_name(settings, name, client, our_hostname, *facts);
  if (decided) co_return std::move(*decided);
  const auto lookup = co_await resolver.addresses(name, client.family);
  co_return judge_helo_lookup(settings, name, client, *facts, lookup);
}

// What the MX lookup alone decides, or nullopt when the domain has no MX: then its address
// records are the implicit MX (RFC 5321 §5.1) and judge_addresses decides.
std::optional<CheckResult> judge_mx(const std::string& domain,
                                    const dns::Lookup<dns::MxRecord>& mx) {
  if (mx.ok()) {
    if (dns::is_null_mx(mx)) {
      return CheckResult{{Verdict::reject(Signal::SenderDomainNullMx,
                                          fmt::format("{} publishes a null MX", domain))}};
    }
    return CheckResult{};
  }
  if (mx.outcome == dns::Outcome::NxDomain) {
    return CheckResult{
        {Verdict::reject(Signal::SenderDomainInvalid, fmt::format("{} does not exist", domain))}};
  }
  if (mx.outcome != dns::Outcome::NoData) {
    return CheckResult{{Verdict::defer(
        Signal::SenderDomainInvalid,
        fmt::format("MX lookup of {} failed: {}", domain, dns::to_string(mx.outcome)))}};
  }
  return std::nullopt;
}

// `aaaa` is asked only when `a` found nothing.
CheckResult judge_addresses(const std::string& domain, const dns::Lookup<dns::AddressRecord>& a,
                            const dns::Lookup<dns::AddressRecord>* aaaa) {
  if (a.ok() || (aaaa != nullptr && aaaa->ok())) return CheckResult{};
  if (dns::is_failure(a.outcome) || (aaaa != nullptr && dns::is_failure(aaaa->outcome))) {
    return CheckResult{{Verdict::defer(Signal::SenderDomainInvalid,
                                       fmt::format("address lookup of {} failed", domain))}};
  }
  return CheckResult{{Verdict::reject(Signal::SenderDomainInvalid,
                                      fmt::format("{} has no MX or address records", domain))}};
}

std::optional<CheckResult> sender_domain_now(dns::Resolver& resolver, const std::string& domain) {
  const auto mx = resolver.peek_mx(domain);
  if (!mx) return std::nullopt;
  if (auto decided = judge_mx(domain, *mx)) return decided;
  const auto a = resolver.peek_a(domain);
  if (!a) return std::nullopt;
  if (a->ok()) return CheckResult{};
  const auto aaaa = resolver.peek_aaaa(domain);
  if (!aaaa) return std::nullopt;
  return judge_addresses(domain, *a, &*aaaa);
}

asio::awaitable<CheckResult> sender_domain(dns::Resolver& resolver, std::string domain) {
  const auto mx = co_await resolver.mx(domain);
  auto decided = judge_mx(domain, mx);
  if (decided) co_return std::move(*decided);
  const auto a = co_await resolver.a(domain);
  if (a.ok()) co_return CheckResult{};
  const auto aaaa = co_await resolver.aaaa(domain);
  co_return judge_addresses(domain, a, &aaaa);
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
  return PendingCheck{
      settings,
      [&resolver, settings, client, facts] { return rdns(resolver, settings, client, facts); },
      [&resolver, settings, client, facts] {
        return rdns_now(resolver, settings, client, *facts);
      }};
}

PendingCheck dnsbl_zone_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                              std::shared_ptr<const DnsblZone> zone, std::string query_name) {
  return PendingCheck{
      std::move(settings),
      [&resolver, zone, query_name] { return dnsbl_zone(resolver, zone, query_name); },
      [&resolver, zone, query_name]() -> std::optional<CheckResult> {
        auto lookup = resolver.peek_a(query_name);
        if (!lookup) return std::nullopt;
        return judge_zone(*zone, *lookup);
      }};
}

PendingCheck helo_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        std::string helo_name, common::IpBytes client, std::string our_hostname,
                        std::shared_ptr<const DnsFacts> facts) {
  return PendingCheck{settings,
                      [&resolver, settings, helo_name, client, our_hostname, facts] {
                        return helo(resolver, settings, helo_name, client, our_hostname, facts);
                      },
                      [&resolver, settings, helo_name, client, our_hostname, facts] {
                        return helo_now(resolver, settings, helo_name, client, our_hostname,
                                        *facts);
                      }};
}

PendingCheck sender_domain_dns_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                                     std::string domain) {
  return PendingCheck{std::move(settings),
                      [&resolver, domain] { return sender_domain(resolver, domain); },
                      [&resolver, domain] { return sender_domain_now(resolver, domain); }};
}

namespace {

// One check per zone of `type` that is up; `target` is the address or domain asked about.
void add_zones(const CheckContext& context, const reputation::CheckSettings& settings,
               conf::DnsblConfig::Type type, std::string_view target,
               std::vector<PendingCheck>& out) {
  if (!context.dns() || target.empty()) return;
  for (const auto& zone : context.rules.dnsbls) {
    if (zone->config.type != type || !zone->state->up.load(std::memory_order_relaxed)) continue;
    const auto name = type == conf::DnsblConfig::Type::Ip
                          ? reputation::dnsbl_query_name(*context.client.ip, zone->config.zone)
                          : reputation::rhsbl_query_name(target, zone->config.zone);
    out.push_back(dnsbl_zone_check(*context.services.resolver, settings, zone, name));
  }
}

// A client an allow listing accepted skips the connect and HELO stages' DNS checks.
bool screening(const CheckContext& context) { return context.dns() && !context.allowed; }

}  // namespace

void add_rdns(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out) {
  if (!screening(context)) return;
  out.push_back(rdns_check(*context.services.resolver, settings, *context.client.ip,
                           context.share(&SessionFacts::dns)));
}

void add_dnsbl(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out) {
  if (!screening(context)) return;
  add_zones(context, settings, conf::DnsblConfig::Type::Ip, context.client.ip_text, out);
}

void add_helo(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out) {
  if (!screening(context)) return;
  out.push_back(helo_check(*context.services.resolver, settings, std::string(context.helo),
                           *context.client.ip, context.config.server.hostname,
                           context.share(&SessionFacts::dns)));
}

void add_sender_domain(const CheckContext& context, const reputation::CheckSettings& settings,
                       std::vector<PendingCheck>& out) {
  if (!context.dns() || context.sender_domain.empty()) return;
  out.push_back(sender_domain_dns_check(*context.services.resolver, settings,
                                        std::string(context.sender_domain)));
}

void add_rhsbl(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out) {
  add_zones(context, settings, conf::DnsblConfig::Type::SenderDomain, context.sender_domain, out);
  const auto& helo = context.helo;
  const bool domain = !helo.empty() && helo.front() != '[' && !common::parse_ip(helo);
  if (domain) add_zones(context, settings, conf::DnsblConfig::Type::Helo, helo, out);
}

asio::awaitable<bool> probe_dnsbl_zone(dns::Resolver& resolver, const DnsblZone& zone) {
  const bool ip = zone.config.type == conf::DnsblConfig::Type::Ip;
  const std::string listed =
      ip ? reputation::dnsbl_query_name(*common::parse_ip("127.0.0.2"), zone.config.zone)
         : reputation::rhsbl_query_name("test", zone.config.zone);
  const std::string unlisted =
      ip ? reputation::dnsbl_query_name(*common::parse_ip("127.0.0.1"), zone.config.zone)
         : reputation::rhsbl_query_name("invalid", zone.config.zone);
  auto yes = co_await resolver.a(listed);
  auto no = co_await resolver.a(unlisted);
  const bool uri = zone.config.type == conf::DnsblConfig::Type::Uri;
  const auto answers = v4_answers(yes);
  const bool listed_ok = yes.ok() && (uri ? reputation::judge_uri_answer(answers, {})
                                          : reputation::judge_dnsbl_answer(answers, {})) ==
                                         reputation::DnsblResult::Listed;
  const bool unlisted_ok =
      no.outcome == dns::Outcome::NxDomain || no.outcome == dns::Outcome::NoData;
  co_return listed_ok&& unlisted_ok;
}

}  // namespace mxgate::policy
