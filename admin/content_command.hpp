// `mxgate content check [-c FILE] [--dns HOST:PORT] < message.eml`: what the content checks of
// the end of data (issue 17, policy/content_checks.hpp) see in a message, so a postmaster can
// see why it scored. The message is parsed as the gateway parses it ([content] limits of the
// configuration; SMTPUTF8 assumed off unless --smtputf8), its DKIM signatures are verified
// (for RFC 8058 §4), its linked domains are looked up in the store's uri: listings (when
// storage.path holds a store; opened read-only, so a running server is no obstacle) and in the
// [[dnsbl]] zones of type "uri" (every zone, probed or not). The output, one item per line:
//   <signal> <detail>          each format finding, then bulk_no_one_click if raised
//   uri <domain> <url> store=<S> <zone>=<Z> ...
//                              each linked domain (at most max_uri_domains), its first URL,
//                              the store's uri: listing (S: block, allow, none, unavailable; a
//                              listing's reason follows as reason="...") and each uri zone's
//                              answer (Z: listed:<A record>, clean, error:<error code>,
//                              failed:<servfail|timeout|...>)
//   uri_dropped <n>            distinct linked domains beyond max_uri_domains, when any
//   bulk <yes|no> because="..." https_unsubscribe=<yes|no> one_click=<yes|no> dkim_signed=<yes|no>
//   score format=<points> bulk_unsubscribe=<points> total=<points>
//                              the points the format and bulk_unsubscribe checks would add
//                              ([checks.*] points; listings act on their own: see the uri lines)
// Exit codes (cli.hpp): 0 whatever the message holds; 2 for a bad --dns; 78 for a bad
// configuration; 1 when the store cannot be read for another reason than its absence.
// add_content_commands() registers it.
#pragma once

#include <iosfwd>
#include <string>

#include "admin/auth_command.hpp"
#include "conf/config.hpp"

namespace mxgate::admin {

struct ContentRequest {
  DnsOptions dns;
  bool smtputf8 = false;  // read the message as one sent with MAIL FROM ... SMTPUTF8
};

int run_content_check(const conf::Config& config, const ContentRequest& request,
                      std::istream& message);

class Cli;
// Adds `mxgate content check` to `cli` (cli.hpp).
void add_content_commands(Cli& cli);

}  // namespace mxgate::admin
