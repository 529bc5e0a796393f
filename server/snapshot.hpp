// What a session needs from the running configuration, built once per load or reload and then
// immutable: the config itself, the recipient router, the STARTTLS context and the protocol
// options. Workers hold it as std::shared_ptr<const Snapshot>; a session keeps the snapshot it
// started with, so a reload never changes the rules under a session.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>

#include "common/cidr.hpp"
#include "conf/config.hpp"
#include "relay/router.hpp"
#include "server/dns_checks.hpp"
#include "smtp/server_protocol.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::server {

struct Snapshot {
  std::shared_ptr<const conf::Config> config;
  relay::Router router;
  std::shared_ptr<boost::asio::ssl::context> tls;  // nullptr: no STARTTLS
  smtp::ServerOptions smtp;
  smtp::LineEndings line_endings = smtp::LineEndings::Reject;
  std::vector<common::Cidr> proxy_trusted;
  std::vector<std::shared_ptr<const DnsblZone>> dnsbls;  // [[dnsbl]], with their shared state
  std::vector<common::Cidr> trusted_clients;  // reputation.trusted_networks
};

// The reputation store's options from [reputation] (fixed at start: a reload keeps the store).
storage::StoreOptions store_options(const conf::Config& config);

// Builds a snapshot; throws (std::runtime_error) when the TLS files cannot be loaded.
std::shared_ptr<const Snapshot> make_snapshot(conf::Config config, DnsblMonitor& dnsbl);

}  // namespace mxgate::server
