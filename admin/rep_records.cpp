// The record operations of `mxgate rep` and /admin/rep/ (rep_records.hpp).
#include "admin/rep_records.hpp"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <utility>

namespace mxgate::admin {
namespace {

using Status = RepResult::Status;
using reputation::ListingAction;

RepResult store_error() { return {Status::Error, "cannot read the store\n"}; }

std::string listed_word(ListingAction action) {
  return action == ListingAction::Block ? "blocked" : "allowed";
}

std::string listing_fields(const reputation::Listing& listing) {
  auto when = [](std::int64_t t) {
    return t == 0 ? std::string("never") : postmaster::format_time(t);
  };
  return fmt::format("{} reason=\"{}\" source={} since {} expires={}",
                     postmaster::action_name(listing.action), listing.reason, listing.source,
                     when(listing.created), when(listing.expires));
}

// The active listings of the networks of `address` as connect-time lookups read them, each
// saying whether it is the one that applies (policy/history_checks.cpp: the IP's own active
// listing wins, else that of the most specific listed network).
std::string network_lines(storage::ReputationStore& store, const boost::asio::ip::address& address,
                          const reputation::Record* own, std::int64_t now, bool& error) {
  const auto lookup = store.get_connect(address);
  const storage::KeyLookup* deciding = nullptr;
  for (auto it = lookup.networks.rbegin(); it != lookup.networks.rend(); ++it) {
    if (it->state == storage::Lookup::Error) error = true;
    if (deciding == nullptr && it->state == storage::Lookup::Found &&
        it->record.listing.active(now)) {
      deciding = &*it;
    }
  }
  std::string out;
  for (const auto& network : lookup.networks) {
    if (network.state != storage::Lookup::Found || !network.record.listing.active(now)) continue;
    const auto name = postmaster::target_text({storage::Family::Network, network.key});
    std::string applies = "applies at connect";
    if (own != nullptr && own->listing.active(now)) {
      applies = "not applied: the address's own listing wins";
    } else if (deciding != &network) {
      applies = fmt::format("not applied: the more specific {} is listed",
                            postmaster::target_text({storage::Family::Network, deciding->key}));
    }
    out += fmt::format("  network    {} {}\n             ({})\n", name,
                       listing_fields(network.record.listing), applies);
  }
  return out;
}

}  // namespace

RepResult rep_get(storage::ReputationStore& store, const postmaster::RepTarget& target,
                  std::int64_t now, const RampFor& ramp) {
  reputation::Record record;
  const auto state = store.read(target.family, target.key, record);
  if (state == storage::Lookup::Error) return store_error();
  const bool found = state == storage::Lookup::Found;
  const reputation::Record* own = found ? &record : nullptr;
  const auto name = postmaster::target_text(target);
  RepResult result{found ? Status::Ok : Status::NotFound,
                   postmaster::describe_record(name, own, now, ramp ? ramp(own) : std::nullopt)};
  if (target.family != storage::Family::Ip) return result;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(name, ec);
  if (ec) return result;
  bool error = false;
  const auto networks = network_lines(store, address, own, now, error);
  if (error) return store_error();
  if (networks.empty()) return result;
  const std::string bare = fmt::format("{}\n  no record\n", name);
  if (!found && result.text.starts_with(bare)) {
    result.text.replace(0, bare.size(), fmt::format("{}\n  no record of its own\n", name));
  }
  result.text += networks;
  return result;
}

RepResult rep_set(storage::ReputationStore& store, const postmaster::RepTarget& target,
                  const reputation::Listing& listing) {
  const auto name = postmaster::target_text(target);
  if (listing.action != ListingAction::None) {
    if (auto ec = store.set_listing(target.family, target.key, listing)) {
      return {Status::Error, ec.message() + "\n"};
    }
    return {Status::Ok, fmt::format("{} {}\n", name, listed_word(listing.action))};
  }
  reputation::Record record;
  const auto state = store.read(target.family, target.key, record);
  if (state == storage::Lookup::Error) return store_error();
  if (state != storage::Lookup::Found) {
    return {Status::NotFound, fmt::format("no record for {}, nothing to clear\n", name)};
  }
  if (record.listing.action == ListingAction::None) {
    return {Status::Ok, fmt::format("{} was not listed; nothing changed\n", name)};
  }
  if (auto ec = store.clear_listing(target.family, target.key)) {
    return {Status::Error, ec.message() + "\n"};
  }
  return {Status::Ok, fmt::format("{} no longer {}; its counters and history are kept\n", name,
                                  listed_word(record.listing.action))};
}

RepResult rep_del(storage::ReputationStore& store, const postmaster::RepTarget& target) {
  const auto name = postmaster::target_text(target);
  reputation::Record record;
  const auto state = store.read(target.family, target.key, record);
  if (state == storage::Lookup::Error) return store_error();
  if (state != storage::Lookup::Found) {
    return {Status::NotFound, fmt::format("no record for {}, nothing deleted\n", name)};
  }
  if (auto ec = store.erase(target.family, target.key)) {
    return {Status::Error, ec.message() + "\n"};
  }
  return {Status::Ok, fmt::format("{} deleted\n", name)};
}

}  // namespace mxgate::admin
