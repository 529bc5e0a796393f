// The command line of the mxgate executable (CLI11). Each tool adds its own subcommands to one
// Cli, with their options and checks, and says what runs when one of them parsed; main() builds
// the Cli, lets each tool register, and calls run().
//
// The tools, each registered by its module:
//   mxgate serve | check-config | version          the server's own (server/main.cpp)
//   mxgate rep get|set|del|import|export            reputation listings (rep_command.hpp)
//   mxgate queue list|show|retry|delete|stats       queue mode's spool (queue_command.hpp)
//   mxgate admin delist list|approve|deny, arf, reload, drain   the admin API (admin_command.hpp)
//   mxgate spf | dkim | auth                        SPF, DKIM, Authentication-Results
//                                                   (auth_command.hpp)
//   mxgate content check                            content findings, linked domains
//                                                   (content_command.hpp)
//   mxgate dmarc report --dry-run                   DMARC aggregate reports (dmarc_command.hpp)
//
// A new tool: a module with `void add_<tool>_commands(Cli& cli)` that adds its subcommands to
// cli.app(), -c/-o with add_config_options() where it reads the configuration (then it calls
// load_config() when it runs: only commands that need the configuration load it), and an action
// per command with on(); plus one call in server/main.cpp, where the order of the calls is the
// order of the help text.
//
// Exit codes of every command (sysexits.h where it has one):
//   0  ok (also after --help and --version)
//   1  runtime failure: the action failed or threw (message on stderr)
//   2  usage error: whatever CLI11 rejects while parsing (a missing or extra argument, a value
//      that fails a check; its message and "Run with --help ..." on stderr), and an action that
//      throws UsageError (a value only the action can judge, e.g. --dns nothost)
//   78 configuration error (EX_CONFIG): the action threw conf::ConfigError
// Threading: the main thread, once.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace mxgate::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;  // EX_CONFIG of sysexits.h

// Thrown by an action for a command line that parsed but makes no sense; run() prints
// "mxgate: <what>" and exits with kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline constexpr const char* kDefaultConfigPath = "/etc/mxgate/mxgate.toml";

class Cli {
 public:
  // What a command does once the command line parsed; returns the exit code.
  using Action = std::function<int()>;

  // The top-level app: `description` heads the help, `version` is what --version prints;
  // exactly one subcommand is required.
  Cli(const std::string& description, const std::string& version);
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;

  CLI::App& app() { return app_; }

  // Adds -c/--config FILE (default kDefaultConfigPath) and -o/--option KEY=VALUE to `command`.
  // Every command shares one value of each: only one command runs.
  void add_config_options(CLI::App& command);
  const std::string& config_path() const { return config_path_; }
  const std::vector<std::string>& overrides() const { return overrides_; }
  // The configuration that -c and -o name; throws conf::ConfigError.
  conf::Config load_config() const;

  // `action` runs when `command` is the command that parsed. Give each command that takes no
  // subcommand of its own an action.
  void on(CLI::App& command, Action action);

  // Parses the command line and runs the action of the command that parsed (see the exit codes
  // above).
  int run(int argc, char** argv);

 private:
  CLI::App app_;
  std::string config_path_ = kDefaultConfigPath;
  std::vector<std::string> overrides_;
  Action action_;  // set while parsing, by the command that parsed
};

}  // namespace mxgate::admin
