// What a session needs from the running configuration, built once per load or reload and then
// immutable: the config itself, the policy's rules, the recipient router, the STARTTLS context
// and the protocol options, the content filters (milters), the key that signs the DMARC reports.
// Workers hold it as std::shared_ptr<const Snapshot>; a session keeps the snapshot it started
// with, so a reload never changes the rules under a session.
// Failure: make_snapshot() throws std::runtime_error when the TLS files or the reports' DKIM key
// cannot be loaded, and conf::ConfigError when the recipient list cannot
// (relay/recipient_list.hpp).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "common/cidr.hpp"
#include "conf/config.hpp"
#include "milter/chain.hpp"
#include "policy/rules.hpp"
#include "relay/recipient_list.hpp"
#include "relay/router.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::auth {
class DkimSigner;
}

namespace mxgate::server {

struct Snapshot {
  std::shared_ptr<const conf::Config> config;
  policy::Rules rules;
  relay::Router router;
  std::shared_ptr<boost::asio::ssl::context> tls;  // nullptr: no STARTTLS
  smtp::ServerOptions smtp;
  smtp::LineEndings line_endings = smtp::LineEndings::Reject;
  std::vector<common::Cidr> proxy_trusted;
  std::vector<milter::FilterSettings> milters;  // [[milter]], in order
  // relay.recipient_list, read at every load (list-mode verification only; else null).
  std::shared_ptr<const relay::RecipientList> recipients;
  // dmarc_reports.dkim_key, read at every load when reports are on and signed; else null.
  std::shared_ptr<const auth::DkimSigner> report_signer;
};

// The settings of a session's filter from its [[milter]] entry (issue 18).
milter::FilterSettings filter_settings(const conf::MilterConfig& entry,
                                       std::uint64_t max_message_size);

// dmarc_reports.dkim_key's signer when reports are on and signed, else null; throws
// std::runtime_error naming the key and the file when it cannot sign.
std::shared_ptr<const auth::DkimSigner> load_report_signer(const conf::Config& config);

// `milters`: where the filters' metrics are counted (null: not counted, in tests).
std::shared_ptr<const Snapshot> make_snapshot(conf::Config config, policy::DnsblMonitor& dnsbl,
                                              milter::MilterMonitor* milters = nullptr);

}  // namespace mxgate::server
