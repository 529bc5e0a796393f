#include "server/rep_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "reputation/model.hpp"
#include "reputation/verdict.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::server {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string time_text(std::int64_t t) {
  if (t == 0) return "never";
  const std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* action_text(reputation::ListingAction action) {
  switch (action) {
    case reputation::ListingAction::Allow: return "allow";
    case reputation::ListingAction::Block: return "block";
    case reputation::ListingAction::None: break;
  }
  return "none";
}

void print_record(const std::string& target, const reputation::Record& record) {
  const auto now = unix_now();
  const auto t = reputation::totals(record, now, reputation::ModelSettings{}.history_days);
  fmt::print("{}\n  first_seen {}\n  last_seen  {}\n", target, time_text(record.first_seen),
             time_text(record.last_seen));
  fmt::print("  listing    {}", action_text(record.listing.action));
  if (record.listing.action != reputation::ListingAction::None) {
    fmt::print(" reason=\"{}\" source={} expires={}{}", record.listing.reason,
               record.listing.source, time_text(record.listing.expires),
               record.listing.active(now) ? "" : " (expired)");
  }
  fmt::print("\n  last 30 days: accepted={} rejected={} deferred={} invalid_recipients={} "
             "auth_failures={} complaints={}\n",
             t.accepted, t.rejected, t.deferred, t.invalid_recipients, t.auth_failures,
             t.complaints);
  for (const auto& verdict : reputation::assess(record, nullptr, now, {})) {
    fmt::print("  signal     {} ({})\n", reputation::signal_name(verdict.signal), verdict.reason);
  }
}

bool looked_up_at_connect(const std::string& network) {
  const auto cidr = storage::parse_cidr(network);
  if (!cidr) return false;
  const storage::StoreOptions defaults;
  const auto& prefixes = cidr->network.is_v4() ? defaults.v4_network_prefixes
                                                                 : defaults.v6_network_prefixes;
  return std::find(prefixes.begin(), prefixes.end(), cidr->prefix_len) != prefixes.end();
}

int fail(const std::string& message) {
  fmt::print(stderr, "mxgate rep: {}\n", message);
  return 1;
}

}  // namespace

int run_rep(const conf::Config& config, const RepRequest& request) {
  const bool network = request.target.find('/') != std::string::npos;
  const auto family = network ? storage::Family::Network : storage::Family::Ip;
  const auto key = storage::key_from_text(family, request.target);
  if (!key) return fail(fmt::format("'{}' is not an IP address or a network", request.target));
  if (network && !looked_up_at_connect(request.target)) {
    return fail(fmt::format("'{}': networks are looked up as /24 (IPv4) and /48 or /64 (IPv6); "
                            "list each of those instead",
                            request.target));
  }
  std::unique_ptr<storage::ReputationStore> store;
  try {
    store = storage::ReputationStore::open(config.storage.path, {});
  } catch (const std::exception& e) {
    return fail(fmt::format("{} (a running mxgate holds the store; stop it first)", e.what()));
  }
  const auto text = *storage::key_to_text(family, *key);
  switch (request.verb) {
    case RepRequest::Verb::Get: {
      reputation::Record record;
      const auto state = store->read(family, *key, record);
      if (state == storage::Lookup::Error) return fail("cannot read the store");
      if (state == storage::Lookup::Missing) {
        fmt::print("{}\n  no record\n", text);
        return 0;
      }
      print_record(text, record);
      return 0;
    }
    case RepRequest::Verb::Set: {
      reputation::Listing listing;
      listing.action =
          request.block ? reputation::ListingAction::Block : reputation::ListingAction::Allow;
      listing.reason = request.reason;
      listing.source = "cli";
      listing.created = unix_now();
      if (!request.expires.empty()) {
        try {
          const auto d = conf::parse_duration(request.expires);
          listing.expires = listing.created +
                            std::chrono::duration_cast<std::chrono::seconds>(d).count();
        } catch (const std::exception& e) {
          return fail(fmt::format("--expires: {}", e.what()));
        }
      }
      if (auto ec = store->set_listing(family, *key, listing)) return fail(ec.message());
      fmt::print("{} {}\n", text, request.block ? "blocked" : "allowed");
      return 0;
    }
    case RepRequest::Verb::Del:
      if (auto ec = store->erase(family, *key)) return fail(ec.message());
      fmt::print("{} deleted\n", text);
      return 0;
  }
  return 1;
}

}  // namespace mxgate::server
