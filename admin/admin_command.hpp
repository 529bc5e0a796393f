// `mxgate admin`: the admin API of a running server from the command line (api.hpp),
// with the token of token.hpp.
//   delist list [--state open|approved|denied|all]   the portal's delisting requests
//   delist approve IP [--note TEXT]                   clears the listing, softens the history
//   delist deny IP [--note TEXT]
//   arf FILE                                          a complaint report (RFC 5965), "-": stdin
//   reload                                            re-reads the configuration (as SIGHUP)
//   drain                                             a graceful stop (as SIGTERM)
// Each takes -c FILE and -o KEY=VALUE (cli.hpp); add_admin_commands() registers them.
// Listings themselves: `mxgate rep` (it uses the same API while mxgate runs).
// Exit status: 0 on a 2xx, 2 on 404 (no such request), 1 otherwise (message on stderr).
#pragma once

#include <string>

#include "conf/config.hpp"

namespace mxgate::admin {

struct AdminCommand {
  enum class Verb { DelistList, DelistApprove, DelistDeny, Arf, Reload, Drain } verb;
  std::string ip;
  std::string note;
  std::string state = "open";
  std::string file;  // Arf
};

int run_admin_command(const conf::Config& config, const AdminCommand& command);

class Cli;
// Adds `mxgate admin` and its commands to `cli` (cli.hpp).
void add_admin_commands(Cli& cli);

}  // namespace mxgate::admin
