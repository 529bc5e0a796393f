// [fleet] as the fleet's links and its Changes take it (issue 19).
#pragma once

#include "conf/config.hpp"
#include "fleet/changes.hpp"
#include "fleet/redis_link.hpp"

namespace mxgate::fleet {

// How [fleet] reaches Redis: redis directly, or the master sentinels name; the password from
// password_file. Throws conf::ConfigError naming fleet.password_file when it cannot be read.
RedisLinkSettings redis_settings(const conf::Config& config);

// The rest of [fleet] too.
ChangesSettings changes_settings(const conf::Config& config);

}  // namespace mxgate::fleet
