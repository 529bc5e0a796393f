// Routing of recipients to the mailbox servers: each [[route]] maps recipient domains (exact
// "example.com", or ".example.com" for every subdomain) to downstream host:port lists tried in
// order. An exact domain beats a suffix, a longer suffix beats a shorter one, and the first
// route wins a domain listed twice. A domain in no route is not ours: relaying is denied (never
// an open relay). The <Postmaster> recipient without a domain goes to the first route
// (RFC 5321 §4.5.1).
// Pure; immutable after construction, shared by all workers through the config snapshot.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "smtp/command.hpp"

namespace mxgate::relay {

class Router {
 public:
  // `quarantine`: the downstream of quarantined mail ([reputation] quarantine_downstream);
  // empty: quarantined mail follows its recipients' routes.
  explicit Router(std::vector<conf::Route> routes, std::vector<conf::HostPort> quarantine = {});

  // Index of the route for `recipient`, or nullopt when relaying is denied. Domains compare
  // case-insensitively, with a trailing dot ignored; address literals are never routed.
  std::optional<std::size_t> route_for(const smtp::Path& recipient) const;

  // The index of the quarantine route, when one is configured (see route()).
  std::optional<std::size_t> quarantine_route() const { return quarantine_; }

  const conf::Route& route(std::size_t index) const { return routes_.at(index); }
  std::size_t size() const { return routes_.size(); }

 private:
  std::vector<conf::Route> routes_;  // the configured routes, then the quarantine route
  std::optional<std::size_t> quarantine_;
  // (lowercased domain without trailing dot, route index), sorted by domain; suffixes keep
  // their leading dot.
  std::vector<std::pair<std::string, std::size_t>> exact_;
  std::vector<std::pair<std::string, std::size_t>> suffixes_;
};

}  // namespace mxgate::relay
