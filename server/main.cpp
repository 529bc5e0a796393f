// mxgate's command line (CLI11):
//   mxgate serve -c FILE [-o key=value ...]         run the gateway
//   mxgate check-config -c FILE [-o key=value ...]  validate, print the effective config
//   mxgate rep get|set|del TARGET -c FILE            reputation listings
//   mxgate rep import FILE [--source NAME] -c FILE   bulk listings from CSV
//   mxgate rep export [--family ip|network|all]      active listings as CSV
//   (rep works on the store, or through a running mxgate's admin API: rep_command.hpp)
//   mxgate queue list|show ID|retry ID|--all|delete ID|stats -c FILE   queue mode's spool
//   mxgate admin delist list|approve IP|deny IP, arf FILE, reload, drain -c FILE   the admin API
//   mxgate version
// Exit codes: 0 ok; 1 usage or runtime failure; 78 (EX_CONFIG) configuration error.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "admin/admin_command.hpp"
#include "admin/auth_command.hpp"
#include "admin/queue_command.hpp"
#include "admin/rep_command.hpp"
#include "conf/config.hpp"
#include "server/runtime.hpp"
#include "server/version.hpp"

namespace {

constexpr int kExitConfig = 78;
constexpr const char* kDefaultConfig = "/etc/mxgate/mxgate.toml";

void add_config_options(CLI::App& command, std::string& path, std::vector<std::string>& overrides) {
  command.add_option("-c,--config", path, "Configuration file (TOML)")->capture_default_str();
  command
      .add_option("-o,--option", overrides,
                  "Override a configuration key, e.g. -o server.max_recipients=50")
      ->type_name("KEY=VALUE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mxgate: an edge-MX SMTP gateway"};
  app.require_subcommand(1);
  std::string path = kDefaultConfig;
  std::vector<std::string> overrides;

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  add_config_options(*serve, path, overrides);
  auto* check = app.add_subcommand("check-config", "Validate a configuration and print it");
  add_config_options(*check, path, overrides);
  auto* version = app.add_subcommand("version", "Print the version");

  auto* rep = app.add_subcommand(
      "rep", "Read and change reputation listings (in the store, or through a running mxgate)");
  rep->require_subcommand(1);
  mxgate::admin::RepRequest request;
  auto* rep_get = rep->add_subcommand("get", "Show the record of an IP or a network");
  auto* rep_set = rep->add_subcommand("set", "List an IP or a network as blocked or allowed");
  auto* rep_del = rep->add_subcommand("del", "Delete the record of an IP or a network");
  for (auto* command : {rep_get, rep_set, rep_del}) {
    command->add_option("target", request.target, "IP address or network (CIDR)")->required();
    add_config_options(*command, path, overrides);
  }
  auto* block = rep_set->add_flag("--block", request.block, "Refuse it at connect (554 5.7.1)");
  bool allow = false;
  auto* allow_flag = rep_set->add_flag("--allow", allow, "Let it bypass score-based refusals");
  block->excludes(allow_flag);
  rep_set->add_option("--reason", request.reason, "Why (shown to the sender on the portal)");
  rep_set->add_option("--expires", request.expires,
                      "Listing lifetime (7d, 12h) or end (2026-12-31T00:00:00Z, Unix seconds); "
                      "default: never");
  auto* rep_import = rep->add_subcommand(
      "import", "Load listings in bulk from CSV: ip_or_cidr,action,reason,expiry[,source]");
  rep_import->add_option("file", request.file, "CSV file, - for standard input")->required();
  rep_import->add_option("--source", request.source,
                         "Source of the listings (default: import:<file name>)");
  add_config_options(*rep_import, path, overrides);
  auto* rep_export = rep->add_subcommand("export", "Write the active listings as CSV to stdout");
  rep_export->add_option("--family", request.family, "ip, network or all")
      ->check(CLI::IsMember({"ip", "network", "all"}))
      ->capture_default_str();
  add_config_options(*rep_export, path, overrides);

  mxgate::admin::SpfRequest spf_request;
  mxgate::admin::QueueRequest queue_request;
  auto* queue = app.add_subcommand(
      "queue",
      "Inspect and change the spool of queue mode (through the admin API while mxgate runs)");
  queue->require_subcommand(1);
  auto* queue_list = queue->add_subcommand("list", "Every queued message and its recipients");
  auto* queue_show = queue->add_subcommand("show", "One message: envelope and content");
  queue_show->add_option("id", queue_request.id, "Queue id")->required();
  auto* queue_retry = queue->add_subcommand("retry", "Make a message (or all) due now");
  queue_retry->add_option("id", queue_request.id, "Queue id");
  queue_retry->add_flag("--all", queue_request.all, "Every queued message");
  auto* queue_delete = queue->add_subcommand("delete", "Remove a message without a bounce");
  queue_delete->add_option("id", queue_request.id, "Queue id")->required();
  auto* queue_stats = queue->add_subcommand("stats", "Depth, oldest message, dead letters");
  for (auto* command : {queue_list, queue_show, queue_retry, queue_delete, queue_stats}) {
    add_config_options(*command, path, overrides);
  }

  mxgate::admin::AdminCommand admin_command{};
  auto* admin = app.add_subcommand("admin", "The admin API of a running mxgate");
  admin->require_subcommand(1);
  auto* admin_delist = admin->add_subcommand("delist", "The portal's delisting requests");
  admin_delist->require_subcommand(1);
  auto* delist_list = admin_delist->add_subcommand("list", "Requests, newest first");
  delist_list->add_option("--state", admin_command.state, "open, approved, denied or all")
      ->check(CLI::IsMember({"open", "approved", "denied", "all"}))
      ->capture_default_str();
  auto* delist_approve =
      admin_delist->add_subcommand("approve", "Approve: clear the listing, soften the history");
  auto* delist_deny = admin_delist->add_subcommand("deny", "Deny the request");
  for (auto* command : {delist_approve, delist_deny}) {
    command->add_option("ip", admin_command.ip, "The IP of the request")->required();
    command->add_option("--note", admin_command.note, "Why (kept with the request)");
  }
  auto* admin_arf = admin->add_subcommand("arf", "Count a complaint report (RFC 5965)");
  admin_arf->add_option("file", admin_command.file, "The report (\"-\": standard input)")
      ->required();
  auto* admin_reload = admin->add_subcommand("reload", "Re-read the configuration (as SIGHUP)");
  auto* admin_drain = admin->add_subcommand("drain", "Stop gracefully (as SIGTERM)");
  for (auto* command :
       {delist_list, delist_approve, delist_deny, admin_arf, admin_reload, admin_drain}) {
    add_config_options(*command, path, overrides);
  }

  auto* spf = app.add_subcommand("spf", "Evaluate SPF (RFC 7208) for a client and a sender");
  spf->add_option("--ip", spf_request.ip, "The SMTP client's address")->required();
  spf->add_option("--sender", spf_request.sender, "MAIL FROM address (\"<>\": null sender)")
      ->required();
  spf->add_option("--helo", spf_request.helo, "HELO/EHLO name")->required();
  mxgate::admin::DnsOptions dkim_dns;
  auto* dkim = app.add_subcommand(
      "dkim", "Verify the DKIM signatures (RFC 6376) of the message on standard input");
  auto* auth = app.add_subcommand(
      "auth", "Print the Authentication-Results value for the message on standard input");
  auth->add_option("--ip", spf_request.ip, "The SMTP client's address")->required();
  auth->add_option("--helo", spf_request.helo, "HELO/EHLO name")->required();
  auth->add_option("--sender", spf_request.sender, "MAIL FROM address (\"<>\": null sender)")
      ->required();
  for (auto [command, dns] : {std::pair{spf, &spf_request.dns}, std::pair{dkim, &dkim_dns},
                              std::pair{auth, &spf_request.dns}}) {
    command->add_option("--dns", dns->server, "DNS server HOST:PORT (default: resolv.conf)");
    command->add_option("--dns-timeout-ms", dns->timeout_ms, "Per-query DNS timeout")
        ->check(CLI::Range(1, 60000))
        ->capture_default_str();
  }

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    fmt::print("mxgate {}\n", mxgate::server::kVersion);
    return 0;
  }
  try {
    if (spf->parsed()) return mxgate::admin::run_spf(spf_request);
    if (dkim->parsed()) return mxgate::admin::run_dkim(dkim_dns, std::cin);
    if (auth->parsed()) return mxgate::admin::run_auth(spf_request, std::cin);
    if (admin->parsed()) {
      using Verb = mxgate::admin::AdminCommand::Verb;
      admin_command.verb = delist_list->parsed()      ? Verb::DelistList
                           : delist_approve->parsed() ? Verb::DelistApprove
                           : delist_deny->parsed()    ? Verb::DelistDeny
                           : admin_arf->parsed()      ? Verb::Arf
                           : admin_reload->parsed()   ? Verb::Reload
                                                      : Verb::Drain;
      return mxgate::admin::run_admin_command(mxgate::conf::load_config(path, overrides),
                                              admin_command);
    }
    if (queue->parsed()) {
      using Verb = mxgate::admin::QueueRequest::Verb;
      if (queue_retry->parsed() && queue_request.all == !queue_request.id.empty()) {
        fmt::print(stderr, "mxgate queue retry: give an id or --all\n");
        return 1;
      }
      queue_request.verb = queue_list->parsed()     ? Verb::List
                           : queue_show->parsed()   ? Verb::Show
                           : queue_retry->parsed()  ? Verb::Retry
                           : queue_delete->parsed() ? Verb::Delete
                                                    : Verb::Stats;
      return mxgate::admin::run_queue_command(mxgate::conf::load_config(path, overrides),
                                              queue_request);
    }
    if (rep->parsed()) {
      if (rep_set->parsed() && !request.block && !allow) {
        fmt::print(stderr, "mxgate rep set: give --block or --allow\n");
        return 1;
      }
      using Verb = mxgate::admin::RepRequest::Verb;
      request.verb = rep_get->parsed()      ? Verb::Get
                     : rep_set->parsed()    ? Verb::Set
                     : rep_del->parsed()    ? Verb::Del
                     : rep_import->parsed() ? Verb::Import
                                            : Verb::Export;
      return mxgate::admin::run_rep(mxgate::conf::load_config(path, overrides), request);
    }
    if (check->parsed()) {
      auto config = mxgate::conf::load_config(path, overrides);
      fmt::print("{}", mxgate::conf::describe(config));
      fmt::print(stderr, "{}: configuration ok\n", path);
      return 0;
    }
    return mxgate::server::run_server({path, overrides});
  } catch (const mxgate::conf::ConfigError& e) {
    fmt::print(stderr, "mxgate: configuration error: {}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate: {}\n", e.what());
    return 1;
  }
}
