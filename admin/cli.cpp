#include "admin/cli.hpp"

#include <fmt/format.h>

#include <cassert>
#include <cstdio>
#include <exception>
#include <utility>

namespace mxgate::admin {

Cli::Cli(const std::string& description) : app_(description) { app_.require_subcommand(1); }

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
  CLI11_PARSE(app_, argc, argv);
  // Every command that parses without a subcommand of its own has an action (see on()).
  assert(action_);
  if (!action_) return 1;
  try {
    return action_();
  } catch (const conf::ConfigError& e) {
    fmt::print(stderr, "mxgate: configuration error: {}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate: {}\n", e.what());
    return 1;
  }
}

}  // namespace mxgate::admin
