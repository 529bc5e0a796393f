#include "policy/rules.hpp"

namespace mxgate::policy {

Rules make_rules(std::shared_ptr<const conf::Config> config, DnsblMonitor& monitor) {
  Rules rules;
  rules.dnsbls = make_dnsbl_zones(config->dnsbls, monitor);
  for (const auto& network : config->reputation.trusted_networks) {
    if (auto cidr = common::parse_cidr(network)) rules.trusted_clients.push_back(*cidr);
  }
  rules.config = std::move(config);
  return rules;
}

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

}  // namespace mxgate::policy
