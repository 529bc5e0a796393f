#include "admin/cli.hpp"

#include <fmt/format.h>

#include <cassert>
#include <cstdio>
#include <exception>
#include <utility>

namespace mxgate::admin {

Cli::Cli(const std::string& description, const std::string& version) : app_(description) {
  app_.require_subcommand(1);
  app_.set_version_flag("--version", version);
}

void Cli::add_config_options(CLI::App& command) {
  command.add_option("-c,--config", config_path_, "Configuration file (TOML)")
      ->capture_default_str();
  command
      .add_option("-o,--option", overrides_,
                  "Override a configuration key, e.g. -o server.max_recipients=50")
      ->type_name("KEY=VALUE");
}

conf::Config Cli::load_config() const { return conf::load_config(config_path_, overrides_); }

void Cli::on(CLI::App& command, Action action) {
  // CLI11 runs the final callback of a command only after the whole line parsed and passed its
  // checks; the action itself runs after parse() returns, outside CLI11.
  command.callback([this, action = std::move(action)] { action_ = action; });
}

int Cli::run(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with a "success" of their own; CLI11 prints them.
    const int printed = app_.exit(e);
    return printed == static_cast<int>(CLI::ExitCodes::Success) ? kExitOk : kExitUsage;
  }
  // Every command that parses without a subcommand of its own has an action (see on()).
  assert(action_);
  if (!action_) return kExitFailure;
  try {
    return action_();
  } catch (const UsageError& e) {
    fmt::print(stderr, "mxgate: {}\nRun with --help for more information.\n", e.what());
    return kExitUsage;
  } catch (const conf::ConfigError& e) {
    fmt::print(stderr, "mxgate: configuration error: {}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace mxgate::admin
