// Fleet mode's wiring (issue 19): the store's decisions go to the fleet, the fleet's to the
// store. Each change is keyed in the fleet by what it decides about ("ip:<key>",
// "linked_domain:<key>", "doc:<key>"), so that the fleet's state keeps the latest one of each.
#pragma once

#include <memory>

#include "conf/config.hpp"
#include "fleet/changes.hpp"
#include "storage/reputation_store.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::server {

// Started, and the store's observer (set here) publishes to it; stop() it before the store
// goes. Null when [fleet] is off. Throws conf::ConfigError (fleet.password_file).
// The throttle's admitted events are shared the same way (fleet-wide limits), and the store's
// counter patches (history counters: every node's records hold the fleet's sums).
std::unique_ptr<fleet::Changes> start_fleet(const conf::Config& config,
                                            storage::ReputationStore& store,
                                            throttle::Throttle& throttle,
                                            fleet::FleetMetrics& metrics);

}  // namespace mxgate::server
