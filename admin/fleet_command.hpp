// `mxgate fleet status [-c FILE]`: the fleet as Redis sees it (issue 19): the connection to
// Redis ([fleet] redis or sentinels, password_file), then one line per node that wrote its
// status within the last day, most recent first:
//   redis 127.0.0.1:6379 connected changes=<stream length> state=<decisions kept>
//   node <name> seen=<seconds ago>s lag=<s>s queued=<n> published=<n> applied=<n>
//        position=<stream id> connected=<yes|no>
// A node not seen for more than 10 s is marked "(silent)".
// Exit codes (cli.hpp): 0 shown; 1 Redis cannot be reached (why on stderr); 78 a configuration
// error, also [fleet] enabled = false ("fleet mode is off").
#pragma once

#include "admin/cli.hpp"
#include "conf/config.hpp"

namespace mxgate::admin {

int run_fleet_status(const conf::Config& config);
void add_fleet_commands(Cli& cli);

}  // namespace mxgate::admin
