#include "policy/content_checks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "common/cidr.hpp"
#include "io/blocking.hpp"
#include "policy/history_checks.hpp"
#include "policy/rules.hpp"
#include "reputation/dnsbl.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using reputation::Signal;
using reputation::Verdict;

static_assert(static_cast<int>(Signal::MimeOverLimit) - static_cast<int>(Signal::DateMissing) ==
                  static_cast<int>(content::Finding::MimeOverLimit),
              "the format signals follow content::Finding's order");

content::ParseOptions parse_options(const conf::Config& config, bool smtputf8) {
  const auto& c = config.content;
  content::ParseOptions options;
  options.limits = content::Limits{.max_depth = c.max_depth,
                                   .max_parts = c.max_parts,
                                   .max_header_fields = c.max_header_fields,
                                   .max_header_bytes = config.auth.max_header_size,
                                   .max_line_length = c.max_line_length,
                                   .max_decoded_bytes = c.max_decoded_bytes,
                                   .max_uri_domains = c.max_uri_domains};
  options.smtputf8 = smtputf8;
  return options;
}

Signal finding_signal(content::Finding finding) {
  return static_cast<Signal>(static_cast<int>(Signal::DateMissing) + static_cast<int>(finding));
}

CheckResult judge_format(const reputation::CheckSettings& settings,
                         const std::vector<content::FindingDetail>& findings) {
  CheckResult result;
  for (const auto& finding : findings) {
    const auto signal = finding_signal(finding.finding);
    result.verdicts.push_back(Verdict::cont(settings.points_for(signal), signal, finding.detail));
  }
  return result;
}

std::optional<CheckResult> judge_uri_listing(const LinkedDomainAnswers& answers, std::int64_t now) {
  if (answers.store != storage::Lookup::Found) return std::nullopt;
  const auto& listing = answers.record.listing;
  if (!listing.active(now)) return std::nullopt;
  if (listing.action == reputation::ListingAction::Allow) return CheckResult{};
  return CheckResult{{Verdict::reject(
      Signal::UriListed, fmt::format("links to {}, listed: {}", answers.domain,
                                     listing.reason.empty() ? "blocked" : listing.reason))}};
}

CheckResult judge_linked(const LinkedDomainAnswers& answers, std::int64_t now,
                         ContentFindings& findings) {
  auto note = [&](std::string by, std::string reason, bool refuses) {
    if (!refuses && !findings.listed_domain.empty()) return;
    findings = ContentFindings{answers.domain, std::move(by), std::move(reason)};
  };
  if (auto decided = judge_uri_listing(answers, now)) {
    if (!decided->verdicts.empty()) {
      note("uri:" + answers.domain, answers.record.listing.reason, true);
    }
    return std::move(*decided);
  }
  CheckResult result;
  std::string errors;
  if (answers.store == storage::Lookup::Error) errors = "reputation store read failed";
  for (const auto& zone : answers.zones) {
    if (zone.result.error) {
      errors += (errors.empty() ? "" : "; ") + zone.result.error_text;
      continue;
    }
    for (const auto& verdict : zone.result.verdicts) {
      note(zone.zone, zone.answer, verdict.action != reputation::Action::Continue);
      result.verdicts.push_back(verdict);
    }
  }
  if (result.verdicts.empty() && !errors.empty()) {
    result.error = true;
    result.error_text = fmt::format("linked domain {}: {}", answers.domain, errors);
  }
  return result;
}

std::string bulk_because(const content::BulkFacts& bulk, std::uint64_t sender_accepted_today,
                         std::uint32_t daily_volume) {
  std::vector<std::string> why;
  if (bulk.list_id) why.emplace_back("List-Id");
  if (bulk.list_unsubscribe) why.emplace_back("List-Unsubscribe");
  if (bulk.precedence_bulk) why.emplace_back("Precedence: bulk");
  if (daily_volume > 0 && sender_accepted_today > daily_volume) {
    why.push_back(fmt::format("{} messages from the sender domain today", sender_accepted_today));
  }
  return fmt::format("{}", fmt::join(why, ", "));
}

bool one_click_signed(const std::vector<auth::DkimCheck>& dkim) {
  auto signs = [](const auth::DkimCheck& check, std::string_view field) {
    return std::find(check.signed_fields.begin(), check.signed_fields.end(), field) !=
           check.signed_fields.end();
  };
  return std::any_of(dkim.begin(), dkim.end(), [&](const auth::DkimCheck& check) {
    return check.verdict.status == auth::DkimStatus::Pass && signs(check, "list-unsubscribe") &&
           signs(check, "list-unsubscribe-post");
  });
}

CheckResult judge_bulk(const reputation::CheckSettings& settings, const content::BulkFacts& bulk,
                       std::uint64_t sender_accepted_today, std::uint32_t daily_volume,
                       const std::vector<auth::DkimCheck>& dkim) {
  const auto because = bulk_because(bulk, sender_accepted_today, daily_volume);
  if (because.empty()) return {};
  std::string missing;
  if (!bulk.https_unsubscribe) {
    missing = "no https List-Unsubscribe";
  } else if (!bulk.one_click) {
    missing = "no List-Unsubscribe-Post: List-Unsubscribe=One-Click";
  } else if (!one_click_signed(dkim)) {
    missing = "List-Unsubscribe and List-Unsubscribe-Post not signed by a passing DKIM signature";
  } else {
    return {};
  }
  return CheckResult{{Verdict::cont(
      settings.points_for(Signal::BulkNoOneClick), Signal::BulkNoOneClick,
      fmt::format("bulk mail ({}) without one-click unsubscribe: {}", because, missing))}};
}

namespace {

// The parsed message, when this message's content is judged.
const content::MessageParser* judged(const CheckContext& context) {
  return context.judging_content() && context.content ? context.content.get() : nullptr;
}

// One linked domain's lookups, by value for its coroutine.
struct LinkedLookup {
  std::string domain;
  std::string key;                                      // its uri: listing's key
  std::vector<std::shared_ptr<const DnsblZone>> zones;  // type "uri", up
  std::shared_ptr<ContentFindings> findings;
};

LinkedDomainAnswers store_answer(const LinkedLookup& lookup, storage::Lookup state,
                                 reputation::Record record) {
  return LinkedDomainAnswers{lookup.domain, state, std::move(record), {}};
}

// The store's answer from its caches (NotCached: it must be read).
LinkedDomainAnswers store_now(const Services& services, const LinkedLookup& lookup) {
  reputation::Record record;
  const auto state = services.store.try_get(storage::Family::LinkedDomain, lookup.key, record);
  return store_answer(lookup, state, std::move(record));
}

// Everything from the caches, or nullopt when a store read or a DNS lookup must wait.
std::optional<CheckResult> linked_domain_now(const Services& services, const LinkedLookup& lookup) {
  auto answers = store_now(services, lookup);
  if (answers.store == storage::Lookup::NotCached) return std::nullopt;
  const auto now = unix_now();
  if (auto decided = judge_uri_listing(answers, now)) {
    return judge_linked(answers, now, *lookup.findings);
  }
  // Peek at every zone before judging any: a zone's answer is counted once, when judged.
  std::vector<dns::Lookup<dns::AddressRecord>> cached;
  for (const auto& zone : lookup.zones) {
    auto a =
        services.resolver->peek_a(reputation::uri_query_name(lookup.domain, zone->config.zone));
    if (!a) return std::nullopt;
    cached.push_back(std::move(*a));
  }
  for (std::size_t i = 0; i < cached.size(); ++i) {
    answers.zones.push_back(judge_zone_answer(*lookup.zones[i], cached[i], lookup.domain));
  }
  return judge_linked(answers, now, *lookup.findings);
}

asio::awaitable<CheckResult> linked_domain(const Services& services, LinkedLookup lookup) {
  auto answers = store_now(services, lookup);
  if (answers.store == storage::Lookup::NotCached) {
    answers.store = co_await io::run_blocking(services.blocking, [&] {
      return services.store.read(storage::Family::LinkedDomain, lookup.key, answers.record);
    });
  }
  const auto now = unix_now();
  if (judge_uri_listing(answers, now)) co_return judge_linked(answers, now, *lookup.findings);
  for (const auto& zone : lookup.zones) {
    const auto a =
        co_await services.resolver->a(reputation::uri_query_name(lookup.domain, zone->config.zone));
    answers.zones.push_back(judge_zone_answer(*zone, a, lookup.domain));
  }
  co_return judge_linked(answers, now, *lookup.findings);
}

PendingCheck linked_domain_check(const Services& services, reputation::CheckSettings settings,
                                 LinkedLookup lookup) {
  return PendingCheck{std::move(settings),
                      [&services, lookup] { return linked_domain(services, lookup); },
                      [&services, lookup] { return linked_domain_now(services, lookup); }};
}

std::vector<std::shared_ptr<const DnsblZone>> uri_zones(const CheckContext& context) {
  std::vector<std::shared_ptr<const DnsblZone>> zones;
  if (!context.dns()) return zones;
  for (const auto& zone : context.rules.dnsbls) {
    if (zone->config.type != conf::DnsblConfig::Type::Uri) continue;
    if (zone->state != nullptr && !zone->state->up.load(std::memory_order_relaxed)) continue;
    zones.push_back(zone);
  }
  return zones;
}

// A check that needs nothing but what it is given: answered at once, never a coroutine.
PendingCheck immediate(reputation::CheckSettings settings, CheckResult result) {
  return PendingCheck{std::move(settings),
                      [result]() -> asio::awaitable<CheckResult> { co_return result; },
                      [result]() -> std::optional<CheckResult> { return result; }};
}

}  // namespace

void add_format(const CheckContext& context, const reputation::CheckSettings& settings,
                std::vector<PendingCheck>& out) {
  const auto* message = judged(context);
  if (message == nullptr) return;
  out.push_back(immediate(settings, judge_format(settings, message->findings())));
}

void add_linked_domains(const CheckContext& context, const reputation::CheckSettings& settings,
                        std::vector<PendingCheck>& out) {
  const auto* message = judged(context);
  if (message == nullptr || !context.facts->content) return;
  const auto zones = uri_zones(context);
  const auto& linked = message->linked_domains();
  const std::size_t count =
      std::min<std::size_t>(linked.size(), context.config.content.max_uri_domains);
  for (std::size_t i = 0; i < count; ++i) {
    LinkedLookup lookup{linked[i].domain, storage::linked_domain_key(linked[i].domain), zones,
                        context.facts->content};
    out.push_back(linked_domain_check(context.services, settings, std::move(lookup)));
  }
}

void add_bulk_unsubscribe(const CheckContext& context, const reputation::CheckSettings& settings,
                          std::vector<PendingCheck>& out) {
  const auto* message = judged(context);
  if (message == nullptr) return;
  const auto& sender = context.facts->history.sender_domain;
  const std::uint64_t today = sender ? sender->accepted_today : 0;
  static const std::vector<auth::DkimCheck> kNone;
  const auto& auth = context.facts->auth;
  const auto& dkim = auth && auth->dkim ? *auth->dkim : kNone;
  out.push_back(immediate(settings, judge_bulk(settings, message->bulk(), today,
                                               context.config.content.bulk_daily_volume, dkim)));
}

}  // namespace mxgate::policy
