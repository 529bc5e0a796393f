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
// Output: the server's reply on stdout (delist list: one tab-separated row per request, and
// when there is none "no delisting requests (state: open)" on stderr, so that a script reading
// stdout sees no rows); an error reply on stderr, prefixed "mxgate admin: ".
// Exit status: 0 on a 2xx; 1 otherwise (no such request, a request decided already, no server
// answering); 2 usage; 78 configuration.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <string>

#include "conf/config.hpp"
#include "http/client.hpp"

namespace mxgate::admin {

struct AdminCommand {
  enum class Verb { DelistList, DelistApprove, DelistDeny, Arf, Reload, Drain } verb;
  std::string ip;
  std::string note;
  std::string state = "open";
  std::string file;  // Arf
};

// How the command reaches the server: by default an http::Client on http.listen with the
// admin token; tests give the API's answer() instead of a socket.
using AdminTransport =
    std::function<http::ClientReply(boost::beast::http::verb method, const std::string& target,
                                    const std::string& body, const std::string& content_type)>;

int run_admin_command(const conf::Config& config, const AdminCommand& command,
                      const AdminTransport& transport = {});

class Cli;
// Adds `mxgate admin` and its commands to `cli` (cli.hpp).
void add_admin_commands(Cli& cli);

}  // namespace mxgate::admin
