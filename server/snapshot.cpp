#include "server/snapshot.hpp"

#include "server/tls.hpp"

namespace mxgate::server {

storage::StoreOptions store_options(const conf::Config& config) {
  storage::StoreOptions options;
  // A quarter of the memory holds decoded records, the rest RocksDB blocks (conf/mxgate.toml).
  options.record_cache_bytes = config.reputation.cache_size / 4;
  options.block_cache_bytes = config.reputation.cache_size - options.record_cache_bytes;
  options.history_days = static_cast<unsigned>(config.reputation.model.history_days);
  options.v4_network_prefixes = config.reputation.network_prefixes_v4;
  options.v6_network_prefixes = config.reputation.network_prefixes_v6;
  return options;
}

std::shared_ptr<const Snapshot> make_snapshot(conf::Config config, DnsblMonitor& dnsbl) {
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
  std::vector<common::Cidr> trusted_clients;
  for (const auto& network : cfg->reputation.trusted_networks) {
    if (auto cidr = common::parse_cidr(network)) trusted_clients.push_back(*cidr);
  }
  relay::Router router(cfg->routes, cfg->reputation.quarantine_downstream);
  return std::make_shared<const Snapshot>(Snapshot{cfg, std::move(router), std::move(tls),
                                                   std::move(options), endings,
                                                   std::move(trusted),
                                                   make_dnsbl_zones(cfg->dnsbls, dnsbl),
                                                   std::move(trusted_clients)});
}

}  // namespace mxgate::server
