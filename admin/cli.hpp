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
//
// A new tool: a module with `void add_<tool>_commands(Cli& cli)` that adds its subcommands to
// cli.app(), -c/-o with add_config_options() where it reads the configuration (then it calls
// load_config() when it runs: only commands that need the configuration load it), and an action
// per command with on(); plus one call in server/main.cpp, where the order of the calls is the
// order of the help text.
//
// Exit codes of run(): CLI11's for what it rejects while parsing (0 after --help; otherwise its
// message and "Run with --help for more information." on stderr and a code of its own, e.g. 106
// for a missing argument, 109 for an extra one, 105 for a value that fails a check); else the
// action's: 0 ok, 1 usage or runtime failure (message on stderr), others as each tool documents;
// 78 (EX_CONFIG) when the action throws conf::ConfigError, 1 for any other exception (both with
// "mxgate: ..." on stderr).
// Threading: the main thread, once.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace mxgate::admin {

inline constexpr int kExitConfig = 78;  // EX_CONFIG of sysexits.h
inline constexpr const char* kDefaultConfigPath = "/etc/mxgate/mxgate.toml";

class Cli {
 public:
  // What a command does once the command line parsed; returns the exit code.
  using Action = std::function<int()>;

  // The top-level app: `description` heads the help; exactly one subcommand is required.
  explicit Cli(const std::string& description);
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
