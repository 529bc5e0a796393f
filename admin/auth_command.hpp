// `mxgate spf`, `mxgate dkim` and `mxgate auth`: the gateway's SPF and DKIM evaluation and its
// Authentication-Results from the command line, against the system's resolvers or one given
// with --dns. The output is a contract that tools outside the repository parse (issue 5):
//   spf:  one line, the result word in lower case (pass, fail, softfail, neutral, none,
//         permerror, temperror), then details: the explanation of a fail, or why an error
//         happened, or the domain and the mechanism that matched. Exit 0 for every result.
//   dkim: one line per DKIM-Signature in message order: the result word (pass, fail, neutral,
//         policy, temperror, permerror), " d=DOMAIN s=SELECTOR", then a reason if any; "none"
//         when the message has no signature. Signatures after the 20th are listed neutral,
//         not verified (each needs a DNS lookup). Exit 0.
//   auth: the Authentication-Results value (RFC 8601) the gateway would add for the message on
//         standard input from that client: "host; spf=...; dkim=...; dmarc=...; arc=...;
//         iprev=..." (arc: the ARC chain, RFC 8617, "none" without ARC sets),
//         on one line. Exit 0.
// Bad arguments (an address that is not one) exit 2 with a message on stderr.
// Options: spf and auth --ip, --sender, --helo (required); all three --dns HOST:PORT and
// --dns-timeout-ms (1..60000, default 2000). They read no configuration file.
// add_auth_commands() registers the three (cli.hpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <iosfwd>
#include <string>

#include "dns/resolver.hpp"

namespace CLI {
class App;
}

namespace mxgate::admin {

struct DnsOptions {
  std::string server;     // "host:port"; empty: /etc/resolv.conf
  int timeout_ms = 2000;  // per query
};

struct SpfRequest {
  std::string ip;
  std::string sender;  // "" or "<>": the null sender
  std::string helo;
  DnsOptions dns;
};

// Runs `work` (a coroutine) to its end on a fresh io_context with a c-ares resolver configured
// by `options`; rethrows its exception. A resolver that cannot be made (--dns nothost) is a
// UsageError.
void run_with_resolver(const DnsOptions& options,
                       const std::function<boost::asio::awaitable<void>(dns::Resolver&)>& work);

int run_spf(const SpfRequest& request);
int run_dkim(const DnsOptions& dns, std::istream& message);
int run_auth(const SpfRequest& request, std::istream& message);  // same arguments as spf

// Adds --dns HOST:PORT and --dns-timeout-ms to `command`, stored in `dns`.
void add_dns_options(CLI::App& command, DnsOptions& dns);

class Cli;
// Adds `mxgate spf`, `mxgate dkim` and `mxgate auth` to `cli` (cli.hpp).
void add_auth_commands(Cli& cli);

}  // namespace mxgate::admin
