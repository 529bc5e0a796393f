#include "admin/dmarc_command.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "admin/cli.hpp"
#include "admin/store_access.hpp"
#include "dns/ares_resolver.hpp"
#include "policy/dmarc_recorder.hpp"
#include "policy/history_checks.hpp"
#include "policy/rules.hpp"
#include "postmaster/dmarc_reporter.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::admin {

namespace asio = boost::asio;

namespace {

struct DmarcRequest {
  bool dry_run = false;
  std::string xml_domain;  // --xml
};

std::string utc(std::int64_t seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(seconds)));
}

asio::awaitable<void> print_period(dns::Resolver& resolver,
                                   std::vector<postmaster::PlannedReport> reports,
                                   conf::DmarcReportsConfig settings, std::string xml_domain) {
  for (const auto& report : reports) {
    const auto& published = report.published;
    if (!xml_domain.empty()) {
      if (published.domain == xml_domain) fmt::print("{}", report.xml);
      continue;
    }
    fmt::print("  {} p={} messages={} rows={} xml={} gzip={}\n", published.domain,
               auth::dmarc::policy_name(published.record.p), report.messages, report.rows.size(),
               report.xml.size(), report.gzipped.size());
    for (const auto& error : report.metadata.errors) fmt::print("    note: {}\n", error);
    const auto deliveries = co_await postmaster::plan_deliveries(resolver, report, settings);
    for (const auto& delivery : deliveries) {
      fmt::print("    {}  {}{}: {}\n", delivery.uri,
                 delivery.outcome == postmaster::Delivery::Outcome::Queue
                     ? std::string_view("queue")
                     : postmaster::outcome_name(delivery.outcome),
                 delivery.address.empty() ? "" : " " + delivery.address, delivery.why);
    }
  }
}

int run_dmarc_report(const conf::Config& config, const DmarcRequest& request) {
  if (!request.dry_run) {
    throw UsageError(
        "dmarc report: only --dry-run is offered (the server sends the reports when each "
        "period ends)");
  }
  const std::filesystem::path path = config.storage.path;
  if (!storage::database_exists(path)) {
    fmt::print(stderr, "mxgate dmarc report: {}\n",
               missing_text("reputation store", path, "storage.path", config.source));
    return kExitFailure;
  }
  if (auto denied = become_owner_of(path); !denied.empty()) {
    fmt::print(stderr, "mxgate dmarc report: {}\n", denied);
    return kExitFailure;
  }
  auto options = policy::store_options(config);
  options.read_only = true;
  options.create_if_missing = false;
  std::unique_ptr<storage::ReputationStore> store;
  try {
    store = storage::ReputationStore::open(path, options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate dmarc report: {}\n", e.what());
    return kExitFailure;
  }
  const auto& settings = config.dmarc_reports;
  const std::int64_t length = policy::period_seconds(settings);
  const std::int64_t now = policy::unix_now();
  const auto periods = postmaster::recorded_periods(*store);
  if (periods.empty() && request.xml_domain.empty()) {
    fmt::print("no DMARC report rows recorded\n");
    return kExitOk;
  }
  asio::io_context io(1);
  dns::AresSettings dns;
  for (const auto& server : config.dns.servers) dns.servers.push_back(server.text());
  dns.timeout = config.dns.timeout;
  dns.tries = static_cast<int>(config.dns.tries);
  dns::AresResolver resolver(io.get_executor(), dns);
  for (std::int64_t begin : periods) {
    const std::int64_t end = begin + length;
    if (request.xml_domain.empty()) {
      fmt::print("period {} .. {}{}\n", utc(begin), utc(end),
                 end > now ? fmt::format(" (in progress: sent after {})", utc(end)) : "");
    }
    auto reports = postmaster::plan_reports(*store, begin, end, config);
    std::exception_ptr failure;
    asio::co_spawn(io, print_period(resolver, std::move(reports), settings, request.xml_domain),
                   [&](std::exception_ptr e) { failure = e; });
    io.run();
    io.restart();
    if (failure) std::rethrow_exception(failure);
  }
  return kExitOk;
}

}  // namespace

void add_dmarc_commands(Cli& cli) {
  auto& dmarc = *cli.app().add_subcommand("dmarc", "DMARC aggregate reports (RFC 7489 §7.2)");
  dmarc.require_subcommand(1);
  const auto request = std::make_shared<DmarcRequest>();
  auto* report = dmarc.add_subcommand(
      "report", "The reports the recorded rows would make and where they would go");
  report->add_flag("--dry-run", request->dry_run, "Show them; send nothing (required)");
  report->add_option("--xml", request->xml_domain, "Print this policy domain's XML report");
  cli.add_config_options(*report);
  cli.on(*report, [&cli, request] { return run_dmarc_report(cli.load_config(), *request); });
}

}  // namespace mxgate::admin
