// The mxgate executable: the gateway and its command-line tools (CLI11, admin/cli.hpp). The
// server's own commands are here:
//   mxgate serve [-c FILE] [-o KEY=VALUE ...]         run the gateway (exit: run_server's code)
//   mxgate check-config [-c FILE] [-o KEY=VALUE ...]  validate (the paths too: check_paths(),
//                                                      the TLS and DKIM keys), print the
//                                                      effective config
//   mxgate version
// The tools (rep, queue, admin, spf, dkim, auth) register themselves from admin/; cli.hpp lists
// them. -c defaults to /etc/mxgate/mxgate.toml.
// Exit codes (cli.hpp): 0 ok, 1 runtime failure, 2 usage error, 78 (EX_CONFIG) configuration
// error.
#include <fmt/format.h>

#include <cstdio>

#include "admin/admin_command.hpp"
#include "admin/auth_command.hpp"
#include "admin/cli.hpp"
#include "admin/content_command.hpp"
#include "admin/dmarc_command.hpp"
#include "admin/fleet_command.hpp"
#include "admin/queue_command.hpp"
#include "admin/rep_command.hpp"
#include "conf/config.hpp"
#include "relay/recipient_list.hpp"
#include "server/runtime.hpp"
#include "server/snapshot.hpp"
#include "server/tls.hpp"
#include "server/version.hpp"

namespace {

using mxgate::admin::Cli;

void add_server_commands(Cli& cli) {
  auto& serve = *cli.app().add_subcommand("serve", "Run the gateway");
  cli.add_config_options(serve);
  cli.on(serve, [&cli] {
    return mxgate::server::run_server({cli.config_path(), cli.overrides()});
  });

  auto& check = *cli.app().add_subcommand("check-config", "Validate a configuration and print it");
  cli.add_config_options(check);
  cli.on(check, [&cli] {
    const auto config = cli.load_config();
    // What serve would only find out when it starts: a store it cannot create, a file it
    // cannot read (as the user who will run it).
    mxgate::conf::check_paths(config);
    if (config.relay.recipient_verification == mxgate::conf::RelayConfig::Verification::List) {
      (void)mxgate::relay::load_recipient_list(config.relay.recipient_list);  // names a bad line
    }
    // And the keys serve would load: a certificate that does not match its key, a DKIM key
    // that cannot sign.
    (void)mxgate::server::make_server_tls(config.tls);
    (void)mxgate::server::load_report_signer(config);
    fmt::print("{}", mxgate::conf::describe(config));
    fmt::print(stderr, "{}: configuration ok\n", cli.config_path());
    return 0;
  });

  auto& version = *cli.app().add_subcommand("version", "Print the version");
  cli.on(version, [] {
    fmt::print("mxgate {} (commit {})\n", mxgate::server::kVersion, mxgate::server::kCommit);
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli{"mxgate: an edge-MX SMTP gateway", fmt::format("mxgate {}", mxgate::server::kVersion)};
  add_server_commands(cli);
  mxgate::admin::add_rep_commands(cli);
  mxgate::admin::add_queue_commands(cli);
  mxgate::admin::add_admin_commands(cli);
  mxgate::admin::add_auth_commands(cli);
  mxgate::admin::add_content_commands(cli);
  mxgate::admin::add_fleet_commands(cli);
  mxgate::admin::add_dmarc_commands(cli);
  return cli.run(argc, argv);
}
