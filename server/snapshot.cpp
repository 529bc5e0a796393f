#include "server/snapshot.hpp"

#include "auth/dkim_sign.hpp"

#include "server/tls.hpp"

namespace mxgate::server {

namespace {

milter::Step step_of(std::string_view stage) {
  using milter::Step;
  if (stage == "connect") return Step::Connect;
  if (stage == "helo") return Step::Helo;
  if (stage == "mail") return Step::Mail;
  if (stage == "rcpt") return Step::Rcpt;
  if (stage == "data") return Step::Data;
  if (stage == "header") return Step::Header;
  return Step::Body;  // the stages conf accepts, no other
}

}  // namespace

milter::FilterSettings filter_settings(const conf::MilterConfig& entry,
                                       std::uint64_t max_message_size) {
  milter::FilterSettings f;
  f.name = entry.name;
  std::string why;
  f.client.endpoint = common::parse_socket_endpoint(entry.address, why).value();  // checked
  f.client.connect_timeout = entry.connect_timeout;
  f.client.command_timeout = entry.timeout;
  f.client.max_body = max_message_size;
  if (!entry.replace_body) f.client.offer.actions &= ~milter::actions::kChangeBody;
  for (const auto& stage : entry.stages) {
    f.steps.push_back(step_of(stage));
    if (stage == "header") f.steps.push_back(milter::Step::EndOfHeader);
  }
  f.default_action = static_cast<milter::DefaultAction>(entry.default_action);
  f.macros = entry.macros;
  f.timeout = entry.timeout;
  f.reuse = static_cast<milter::Reuse>(entry.reuse);
  f.idle_timeout = entry.idle_timeout;
  return f;
}

std::shared_ptr<const auth::DkimSigner> load_report_signer(const conf::Config& config) {
  const auto& reports = config.dmarc_reports;
  if (!reports.enabled || reports.dkim_key.empty()) return nullptr;
  return auth::DkimSigner::load(reports.dkim_domain, reports.dkim_selector, reports.dkim_key,
                                "dmarc_reports.dkim_key");
}

std::shared_ptr<const Snapshot> make_snapshot(conf::Config config, policy::DnsblMonitor& dnsbl,
                                              milter::MilterMonitor* monitor) {
  auto cfg = std::make_shared<const conf::Config>(std::move(config));
  auto tls = make_server_tls(cfg->tls);
  smtp::ServerOptions options;
  options.hostname = cfg->server.hostname;
  options.banner = cfg->server.banner;
  options.max_message_size = cfg->server.max_message_size;
  options.max_recipients = cfg->server.max_recipients;
  options.max_errors = cfg->server.max_errors;
  options.max_junk_commands = cfg->server.max_junk_commands;
  options.starttls_available = tls != nullptr;
  options.tls_required = cfg->tls.require;
  options.decide_helo = true;  // the HELO checks (SessionPolicy::helo)
  const auto endings = cfg->server.line_endings == conf::LineEndings::Reject
                           ? smtp::LineEndings::Reject
                           : smtp::LineEndings::Normalize;
  std::vector<common::Cidr> trusted;
  for (const auto& network : cfg->server.proxy_trusted) {
    if (auto cidr = common::parse_cidr(network)) trusted.push_back(*cidr);  // validated by conf
  }
  relay::Router router(cfg->routes, cfg->reputation.quarantine_downstream);
  auto rules = policy::make_rules(cfg, dnsbl);
  std::vector<milter::FilterSettings> milters;
  for (const auto& entry : cfg->milters) {
    milters.push_back(filter_settings(entry, cfg->server.max_message_size));
    if (monitor != nullptr) milters.back().metrics = monitor->filter(entry.name);
  }
  std::shared_ptr<const relay::RecipientList> recipients;
  if (cfg->relay.recipient_verification == conf::RelayConfig::Verification::List) {
    recipients = std::make_shared<const relay::RecipientList>(
        relay::load_recipient_list(cfg->relay.recipient_list));
  }
  auto report_signer = load_report_signer(*cfg);
  return std::make_shared<const Snapshot>(
      Snapshot{cfg, std::move(rules), std::move(router), std::move(tls), std::move(options),
               endings, std::move(trusted), std::move(milters), std::move(recipients),
               std::move(report_signer)});
}

}  // namespace mxgate::server
