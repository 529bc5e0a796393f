#include "server/snapshot.hpp"

#include "server/tls.hpp"

namespace mxgate::server {

std::shared_ptr<const Snapshot> make_snapshot(conf::Config config, policy::DnsblMonitor& dnsbl) {
  auto cfg = std::make_shared<const conf::Config>(std::move(config));
  auto tls = make_server_tls(cfg->tls);
  smtp::ServerOptions options;
  options.hostname = cfg->server.hostname;
  options.banner = cfg->server.banner;
  options.max_message_size = cfg->server.max_message_size;
  options.max_recipients = cfg->server.max_recipients;
  options.max_errors = cfg->server.max_errors;
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
  return std::make_shared<const Snapshot>(Snapshot{cfg, std::move(rules), std::move(router),
                                                   std::move(tls), std::move(options), endings,
                                                   std::move(trusted)});
}

}  // namespace mxgate::server
