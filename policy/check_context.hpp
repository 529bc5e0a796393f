// CheckContext: what one run of a stage's checks is about, as the registration table
// (policy/check_table.hpp) hands it to each check's AddChecks function, which turns it into the
// PendingChecks (policy/pipeline.hpp) that the pipeline runs: none when the check does not apply
// (no client address, a trusted client, no sender domain...), several when it asks several DNS
// zones at once.
//
// Lifetimes, and what a check may keep:
//   services  outlive every session and check: keep references to them (Services).
//   facts     the session's SessionFacts (policy/facts.hpp): keep the part a check writes or
//             reads through share(), which keeps the whole object alive for a check that
//             outlives its deadline or the session; the transaction's findings (facts->auth)
//             by their own shared_ptr.
//   the rest  valid only while AddChecks runs: a check copies what its coroutine keeps (names,
//             settings, config values; DNSBL zones are shared_ptrs).
// Threading: built and used on the session's worker.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/message_auth.hpp"
#include "common/cidr.hpp"
#include "conf/config.hpp"
#include "content/message_parser.hpp"
#include "policy/facts.hpp"
#include "policy/pipeline.hpp"
#include "policy/services.hpp"

namespace mxgate::policy {

struct Rules;  // policy/rules.hpp, which includes the DNS checks

// The client of a session, as set_client() found it.
struct Client {
  std::string ip_text;                              // as given (after any PROXY header)
  std::optional<boost::asio::ip::address> address;  // none: ip_text is no address
  std::optional<common::IpBytes> ip;
  std::vector<std::string> keys;  // the IP's store key, then its networks' keys
  bool trusted = false;           // in reputation.trusted_networks
};

struct CheckContext {
  const Services& services;
  const Rules& rules;
  const conf::Config& config;
  const Client& client;
  const std::shared_ptr<SessionFacts>& facts;
  bool allowed = false;            // an allow listing decided an earlier stage
  std::string_view helo;           // the HELO/EHLO name, "" before one
  std::string_view sender_domain;  // MAIL: the sender domain's key, "" for <> or a literal
  std::shared_ptr<const auth::MessageScanner> message;  // end of data: the scanned message
  std::shared_ptr<const content::MessageParser> content;  // end of data: the parsed message

  // The DNS checks apply: a resolver, a client address, and not a trusted client.
  bool dns() const { return services.resolver != nullptr && client.ip && !client.trusted; }
  // Messages are authenticated ([auth] enabled, and the DNS checks apply).
  bool authenticating() const { return config.auth.enabled && dns(); }
  // The message's content is parsed and judged ([content] enabled, a client address, and not a
  // trusted client; DNS is not needed: the format check and the store's uri: listings work
  // without it).
  bool judging_content() const { return config.content.enabled && client.ip && !client.trusted; }

  // A shared pointer to a part of the facts (or of the transaction's findings) that keeps the
  // whole object alive, for a check to keep.
  template <typename Part>
  std::shared_ptr<Part> share(Part SessionFacts::*part) const {
    return std::shared_ptr<Part>(facts, &((*facts).*part));
  }
};

// Adds a check's PendingChecks for this run to `out` (nothing when it does not apply). Called
// only for a check whose settings' mode is not "off"; `settings` are its settings.
using AddChecks = void (*)(const CheckContext& context, const reputation::CheckSettings& settings,
                           std::vector<PendingCheck>& out);

// A check that decides from memory at once, without the pipeline (no coroutine, no deadline):
// appends its outcomes (none when it has nothing to say) to `out`. The throttle is one.
using DecideNow = void (*)(const CheckContext& context, const reputation::CheckSettings& settings,
                           std::vector<reputation::CheckOutcome>& out);

// Adds the names of DNS records worth looking up early (before the check runs) to `names`:
// the end of data's checks, once the message's header ended, while its body streams in.
using PrefetchNames = void (*)(const CheckContext& context, const auth::MessageScanner& message,
                               std::vector<std::string>& names);

}  // namespace mxgate::policy
