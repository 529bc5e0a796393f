#include "admin/content_command.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "admin/cli.hpp"
#include "admin/store_access.hpp"
#include "auth/message_auth.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "content/message_parser.hpp"
#include "policy/check_table.hpp"
#include "policy/content_checks.hpp"
#include "policy/rules.hpp"
#include "reputation/dnsbl.hpp"

namespace mxgate::admin {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxSignatures = 20;  // verified per message, as `mxgate dkim` does

// The uri: listings of the store at storage.path, opened read-only (a running server keeps it
// open for writing; RocksDB lets a reader in beside it).
class UriListings {
 public:
  explicit UriListings(const conf::Config& config) {
    const std::filesystem::path path = config.storage.path;
    if (!storage::database_exists(path)) {
      problem_ = missing_text("reputation store", path, "storage.path", config.source);
      return;
    }
    if (auto denied = become_owner_of(path); !denied.empty()) {
      problem_ = denied;
      return;
    }
    auto options = policy::store_options(config);
    options.read_only = true;
    options.create_if_missing = false;
    try {
      store_ = storage::ReputationStore::open(path, options);
    } catch (const std::exception& e) {
      problem_ = e.what();
    }
  }

  // "" when the store is readable; else why not (printed once).
  const std::string& problem() const { return problem_; }

  policy::LinkedDomainAnswers lookup(const std::string& domain) {
    policy::LinkedDomainAnswers answers{domain, storage::Lookup::Missing, {}, {}};
    if (store_) {
      answers.store = store_->read(storage::Family::LinkedDomain, storage::linked_domain_key(domain),
                                   answers.record);
    }
    return answers;
  }

 private:
  std::unique_ptr<storage::ReputationStore> store_;
  std::string problem_;
};

std::vector<policy::DnsblZone> uri_zones(const conf::Config& config) {
  std::vector<policy::DnsblZone> zones;
  for (const auto& dnsbl : config.dnsbls) {
    if (dnsbl.type != conf::DnsblConfig::Type::Uri) continue;
    policy::DnsblZone zone{dnsbl, {}, nullptr};
    for (const auto& pattern : dnsbl.returns) {
      if (auto filter = reputation::ReturnFilter::parse(pattern)) zone.filters.push_back(*filter);
    }
    zones.push_back(std::move(zone));
  }
  return zones;
}

std::string store_text(const policy::LinkedDomainAnswers& answers, bool readable,
                       std::int64_t now) {
  if (!readable || answers.store == storage::Lookup::Error) return "store=unavailable";
  const auto& listing = answers.record.listing;
  if (answers.store != storage::Lookup::Found || !listing.active(now)) return "store=none";
  std::string text =
      listing.action == reputation::ListingAction::Block ? "store=block" : "store=allow";
  if (!listing.reason.empty()) common::append_kv(text, "reason", listing.reason);
  return text;
}

std::string zone_text(const policy::DnsblZone& zone, const dns::Lookup<dns::AddressRecord>& a,
                      const policy::ZoneAnswer& answer) {
  const std::string& name = zone.config.zone;
  if (answer.result.error) return fmt::format("{}=failed:{}", name, dns::to_string(a.outcome));
  if (!answer.result.verdicts.empty()) return fmt::format("{}=listed:{}", name, answer.answer);
  // Answers that are neither a listing nor an absence: the zone's error codes.
  for (const auto& record : a.records) {
    const auto& b = record.address.bytes;
    if (record.address.family == 4 &&
        reputation::judge_uri_answer({{b[0], b[1], b[2], b[3]}}, {}) ==
            reputation::DnsblResult::ZoneError) {
      return fmt::format("{}=error:{}", name, common::ip_text(record.address));
    }
  }
  return fmt::format("{}=clean", name);
}

struct Report {
  std::vector<std::string> lines;
  double format_points = 0;
  double bulk_points = 0;
};

void add_verdicts(const policy::CheckResult& result, const reputation::CheckSettings& settings,
                  Report& report, double& points) {
  for (const auto& verdict : result.verdicts) {
    report.lines.push_back(
        fmt::format("{} {}", reputation::signal_name(verdict.signal), verdict.reason));
    points += verdict.score * settings.weight;
  }
}

std::string yes(bool value) { return value ? "yes" : "no"; }

// One line per linked domain: its store listing and each uri zone's answer.
asio::awaitable<std::vector<std::string>> look_up_domains(dns::Resolver& resolver,
                                                          const conf::Config& config,
                                                          const content::MessageParser& parser) {
  std::vector<std::string> lines;
  UriListings listings(config);
  if (!listings.problem().empty()) {
    fmt::print(stderr, "mxgate content check: uri: listings not looked up: {}\n",
               listings.problem());
  }
  const auto zones = uri_zones(config);
  const auto now = common::unix_seconds();
  for (const auto& linked : parser.linked_domains()) {
    auto answers = listings.lookup(linked.domain);
    std::string line = fmt::format("uri {} {} {}", linked.domain, linked.url,
                                   store_text(answers, listings.problem().empty(), now));
    for (const auto& zone : zones) {
      const auto a =
          co_await resolver.a(reputation::uri_query_name(linked.domain, zone.config.zone));
      const auto answer = policy::judge_zone_answer(zone, a, linked.domain);
      line += ' ' + zone_text(zone, a, answer);
    }
    lines.push_back(std::move(line));
  }
  if (parser.linked_domains_dropped() > 0) {
    lines.push_back(fmt::format("uri_dropped {}", parser.linked_domains_dropped()));
  }
  co_return lines;
}

}  // namespace

int run_content_check(const conf::Config& config, const ContentRequest& request,
                      std::istream& input) {
  const std::string raw{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  const std::string message = auth::normalize_line_endings(raw);
  content::MessageParser parser(policy::parse_options(config, request.smtputf8));
  parser.feed(message);
  parser.finish();
  auth::MessageScanner scanner("", auth::ScanLimits{kMaxSignatures});
  std::string passed_on;
  scanner.feed(message, passed_on);
  scanner.finish(passed_on);

  Report report;
  const auto& format = policy::check_settings(config, "format");
  add_verdicts(policy::judge_format(format, parser.findings()), format, report,
               report.format_points);
  std::vector<auth::DkimCheck> dkim;
  std::vector<std::string> uri_lines;
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    auth::DkimKeyCache keys;
    auth::DkimVerifyOptions options;
    options.now = static_cast<std::uint64_t>(common::unix_seconds());
    dkim = co_await scanner.verify_signatures(resolver, keys, options);
    uri_lines = co_await look_up_domains(resolver, config, parser);
  });
  const auto& bulk_settings = policy::check_settings(config, "bulk_unsubscribe");
  const auto& bulk = parser.bulk();
  // The sender domain's volume is the store's business at MAIL; here only the header decides.
  add_verdicts(policy::judge_bulk(bulk_settings, bulk, 0, 0, dkim), bulk_settings, report,
               report.bulk_points);
  for (auto& line : uri_lines) report.lines.push_back(std::move(line));
  std::string bulk_line = "bulk " + yes(bulk.bulk_by_header());
  common::append_kv(bulk_line, "because", policy::bulk_because(bulk, 0, 0));
  bulk_line +=
      fmt::format(" https_unsubscribe={} one_click={} dkim_signed={}", yes(bulk.https_unsubscribe),
                  yes(bulk.one_click), yes(policy::one_click_signed(dkim)));
  report.lines.push_back(std::move(bulk_line));
  report.lines.push_back(fmt::format("score format={:g} bulk_unsubscribe={:g} total={:g}",
                                     report.format_points, report.bulk_points,
                                     report.format_points + report.bulk_points));
  for (const auto& line : report.lines) fmt::print("{}\n", line);
  return kExitOk;
}

void add_content_commands(Cli& cli) {
  auto& content = *cli.app().add_subcommand("content", "The message content checks (issue 17)");
  content.require_subcommand(1);
  const auto request = std::make_shared<ContentRequest>();
  auto& check = *content.add_subcommand(
      "check",
      "Print the content findings, linked domains and their listings of the message "
      "on standard input");
  cli.add_config_options(check);
  add_dns_options(check, request->dns);
  check.add_flag("--smtputf8", request->smtputf8,
                 "Read the message as sent with SMTPUTF8 (8-bit header bytes allowed)");
  cli.on(check,
         [&cli, request] { return run_content_check(cli.load_config(), *request, std::cin); });
}

}  // namespace mxgate::admin
