#include "admin/auth_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <istream>
#include <iterator>
#include <memory>
#include <optional>

#include "admin/cli.hpp"
#include "auth/iprev.hpp"
#include "auth/message_auth.hpp"
#include "common/clock.hpp"
#include "dns/ares_resolver.hpp"

namespace mxgate::admin {
namespace {

namespace asio = boost::asio;
constexpr std::size_t kMaxSignatures = 20;  // verified per message; the rest are listed neutral

dns::AresSettings resolver_settings(const DnsOptions& options) {
  dns::AresSettings settings;
  if (!options.server.empty()) settings.servers = {options.server};
  settings.timeout = std::chrono::milliseconds(options.timeout_ms);
  settings.tries = 1;  // --dns-timeout-ms bounds each query
  return settings;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace

void run_with_resolver(const DnsOptions& options,
                       const std::function<asio::awaitable<void>(dns::Resolver&)>& work) {
  asio::io_context io(1);
  std::optional<dns::AresResolver> resolver;
  try {
    resolver.emplace(io.get_executor(), resolver_settings(options));
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("--dns {}: {}", options.server, e.what()));
  }
  std::exception_ptr failure;
  asio::co_spawn(io, work(*resolver), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

namespace {

std::string spf_details(const auth::spf::Evaluation& e) {
  if (!e.explanation.empty()) return e.explanation;
  if (!e.problem.empty()) return e.problem;
  if (!e.mechanism.empty()) return fmt::format("domain={} mechanism={}", e.domain, e.mechanism);
  return e.domain.empty() ? std::string() : fmt::format("domain={}", e.domain);
}

// The SPF identity of a request; nullopt (after a message on stderr) for a bad --ip.
std::optional<auth::spf::Identity> identity_of(const SpfRequest& request, const char* command) {
  const auto ip = common::parse_ip(request.ip);
  if (!ip) {
    fmt::print(stderr, "mxgate {}: --ip {}: not an IP address\n", command, request.ip);
    return std::nullopt;
  }
  std::string sender = request.sender;
  if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>') {
    sender = sender.substr(1, sender.size() - 2);
  }
  return auth::spf::Identity{*ip, request.helo, sender};
}

auth::spf::Options spf_options() {
  auth::spf::Options options;
  options.receiver = host_name();
  options.now = common::unix_seconds();
  return options;
}

}  // namespace

int run_spf(const SpfRequest& request) {
  const auto identity = identity_of(request, "spf");
  if (!identity) return kExitUsage;
  const auto options = spf_options();
  auth::spf::Evaluation evaluation;
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    evaluation = co_await auth::spf::check_mail_from(resolver, *identity, options);
  });
  const std::string details = spf_details(evaluation);
  fmt::print("{}{}{}\n", auth::spf::result_name(evaluation.result), details.empty() ? "" : " ",
             details);
  return 0;
}

namespace {

std::string read_message(std::istream& input) {
  const std::string raw{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  return auth::normalize_line_endings(raw);
}

// Reads the message as the gateway does (nothing is removed: no authserv-id).
void scan(const std::string& message, auth::MessageScanner& scanner) {
  std::string passed_on;
  scanner.feed(message, passed_on);
  scanner.finish(passed_on);
}

auth::DkimVerifyOptions dkim_options() {
  auth::DkimVerifyOptions options;
  options.now = static_cast<std::uint64_t>(common::unix_seconds());
  return options;
}

}  // namespace

int run_dkim(const DnsOptions& dns_options, std::istream& input) {
  auth::MessageScanner scanner("", auth::ScanLimits{kMaxSignatures});
  scan(read_message(input), scanner);
  auth::DkimKeyCache keys;
  std::vector<auth::DkimCheck> checks;
  run_with_resolver(dns_options, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    checks = co_await scanner.verify_signatures(resolver, keys, dkim_options());
  });
  if (checks.empty()) fmt::print("none\n");
  for (const auto& check : checks) {
    fmt::print("{} d={} s={}{}{}\n", auth::to_string(check.verdict.status), check.domain,
               check.selector, check.verdict.reason.empty() ? "" : " ", check.verdict.reason);
  }
  return 0;
}

int run_auth(const SpfRequest& request, std::istream& input) {
  const auto identity = identity_of(request, "auth");
  if (!identity) return kExitUsage;
  const auto options = spf_options();
  auth::MessageScanner scanner("", auth::ScanLimits{kMaxSignatures});
  scan(read_message(input), scanner);
  auth::DkimKeyCache keys;
  auth::AuthResults results;
  results.authserv_id = host_name();
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    const auto spf = co_await auth::spf::check_mail_from(resolver, *identity, options);
    results.spf = auth::spf_entry(spf, *identity);
    const auto dkim = co_await scanner.verify_signatures(resolver, keys, dkim_options());
    for (const auto& check : dkim) results.dkim.push_back(auth::dkim_entry(check));
    const auto dmarc =
        co_await auth::check_dmarc(resolver, scanner.from(), auth::dmarc_inputs(&spf, dkim),
                                   auth::dmarc::PolicyLookup::PublicSuffixList);
    results.dmarc = auth::dmarc_entry(dmarc);
    const auto arc = co_await scanner.verify_arc(resolver, keys, dkim_options());
    results.arc = auth::arc_entry(arc, request.ip);
    const auto iprev = co_await auth::check_iprev(resolver, identity->ip);
    results.iprev = auth::AuthResults::Iprev{std::string(auth::iprev_result_name(iprev.result)),
                                             request.ip, iprev.name};
  });
  fmt::print("{}\n", auth::format_results(results, false));
  return 0;
}

void add_dns_options(CLI::App& command, DnsOptions& dns) {
  command.add_option("--dns", dns.server, "DNS server HOST:PORT (default: resolv.conf)");
  command.add_option("--dns-timeout-ms", dns.timeout_ms, "Per-query DNS timeout")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
}

void add_auth_commands(Cli& cli) {
  const auto spf_request = std::make_shared<SpfRequest>();
  auto& spf_command =
      *cli.app().add_subcommand("spf", "Evaluate SPF (RFC 7208) for a client and a sender");
  spf_command.add_option("--ip", spf_request->ip, "The SMTP client's address")->required();
  spf_command
      .add_option("--sender", spf_request->sender, "MAIL FROM address (\"<>\": null sender)")
      ->required();
  spf_command.add_option("--helo", spf_request->helo, "HELO/EHLO name")->required();
  add_dns_options(spf_command, spf_request->dns);
  cli.on(spf_command, [spf_request] { return run_spf(*spf_request); });

  const auto dkim_dns = std::make_shared<DnsOptions>();
  auto& dkim_command = *cli.app().add_subcommand(
      "dkim", "Verify the DKIM signatures (RFC 6376) of the message on standard input");
  add_dns_options(dkim_command, *dkim_dns);
  cli.on(dkim_command, [dkim_dns] { return run_dkim(*dkim_dns, std::cin); });

  const auto auth_request = std::make_shared<SpfRequest>();
  auto& auth_command = *cli.app().add_subcommand(
      "auth", "Print the Authentication-Results value for the message on standard input");
  auth_command.add_option("--ip", auth_request->ip, "The SMTP client's address")->required();
  auth_command.add_option("--helo", auth_request->helo, "HELO/EHLO name")->required();
  auth_command
      .add_option("--sender", auth_request->sender, "MAIL FROM address (\"<>\": null sender)")
      ->required();
  add_dns_options(auth_command, auth_request->dns);
  cli.on(auth_command, [auth_request] { return run_auth(*auth_request, std::cin); });
}

}  // namespace mxgate::admin
