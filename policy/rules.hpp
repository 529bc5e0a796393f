// What the checks read from the running configuration, built once per load or reload and then
// immutable: the configuration, the [[dnsbl]] zones ready to query (with their state shared
// across reloads), and the trusted client networks. The server's snapshot holds one; a session
// keeps the Rules it started with, so a reload never changes the rules under a session.
// Threading: immutable once built; shared by every worker and the portal.
#pragma once

#include <memory>
#include <vector>

#include "common/cidr.hpp"
#include "conf/config.hpp"
#include "policy/dns_checks.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::policy {

struct Rules {
  std::shared_ptr<const conf::Config> config;
  std::vector<std::shared_ptr<const DnsblZone>> dnsbls;  // [[dnsbl]], with their shared state
  std::vector<common::Cidr> trusted_clients;             // reputation.trusted_networks
};

Rules make_rules(std::shared_ptr<const conf::Config> config, DnsblMonitor& monitor);

// The reputation store's options from [reputation] (fixed at start: a reload keeps the store).
storage::StoreOptions store_options(const conf::Config& config);

}  // namespace mxgate::policy
