// mxgate's command line (CLI11):
//   mxgate serve -c FILE [-o key=value ...]         run the gateway
//   mxgate check-config -c FILE [-o key=value ...]  validate, print the effective config
//   mxgate version
// Exit codes: 0 ok; 1 usage or runtime failure; 78 (EX_CONFIG) configuration error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "conf/config.hpp"
#include "server/runtime.hpp"
#include "server/version.hpp"

namespace {

constexpr int kExitConfig = 78;
constexpr const char* kDefaultConfig = "/etc/mxgate/mxgate.toml";

void add_config_options(CLI::App& command, std::string& path, std::vector<std::string>& overrides) {
  command.add_option("-c,--config", path, "Configuration file (TOML)")->capture_default_str();
  command.add_option("-o,--option", overrides,
                     "Override a configuration key, e.g. -o server.max_recipients=50")
      ->type_name("KEY=VALUE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mxgate: an edge-MX SMTP gateway"};
  app.require_subcommand(1);
  std::string path = kDefaultConfig;
  std::vector<std::string> overrides;

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  add_config_options(*serve, path, overrides);
  auto* check = app.add_subcommand("check-config", "Validate a configuration and print it");
  add_config_options(*check, path, overrides);
  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    fmt::print("mxgate {}\n", mxgate::server::kVersion);
    return 0;
  }
  try {
    if (check->parsed()) {
      auto config = mxgate::conf::load_config(path, overrides);
      fmt::print("{}", mxgate::conf::describe(config));
      fmt::print(stderr, "{}: configuration ok\n", path);
      return 0;
    }
    return mxgate::server::run_server({path, overrides});
  } catch (const mxgate::conf::ConfigError& e) {
    fmt::print(stderr, "mxgate: configuration error: {}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate: {}\n", e.what());
    return 1;
  }
}
