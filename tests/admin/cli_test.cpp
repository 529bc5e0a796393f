// The command line's registration interface (admin/cli.hpp) with the tools of admin/: which
// action runs, the shared -c/-o options, and the exit codes a user sees, without a running
// server (commands whose checks fail before any configuration is read, or that read none).
#include "admin/cli.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "admin/admin_command.hpp"
#include "admin/auth_command.hpp"
#include "admin/queue_command.hpp"
#include "admin/rep_command.hpp"

namespace mxgate::admin {
namespace {

constexpr const char* kMissingConfig = "/nonexistent/mxgate-cli-test.toml";

// Runs `cli` on "mxgate" followed by `args`.
int run(Cli& cli, const std::vector<std::string>& args) {
  std::vector<std::string> words{"mxgate"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  return cli.run(static_cast<int>(argv.size()), argv.data());
}

// A Cli with every tool of admin/, as server/main.cpp builds it (without serve and the like).
struct Tools {
  Tools() {
    add_rep_commands(cli);
    add_queue_commands(cli);
    add_admin_commands(cli);
    add_auth_commands(cli);
  }
  Cli cli{"mxgate test", "mxgate test-version"};
};

TEST(Cli, RunsTheActionOfTheCommandThatParsed) {
  Cli cli{"test", "test 1"};
  std::string ran;
  auto& one = *cli.app().add_subcommand("one", "");
  auto& two = *cli.app().add_subcommand("two", "");
  two.require_subcommand(1);
  auto& three = *two.add_subcommand("three", "");
  cli.on(one, [&] {
    ran = "one";
    return 0;
  });
  cli.on(three, [&] {
    ran = "three";
    return 5;
  });
  EXPECT_EQ(run(cli, {"two", "three"}), 5);
  EXPECT_EQ(ran, "three");
}

TEST(Cli, ConfigOptionsAreSharedAndDefaultToEtc) {
  Cli cli{"test", "test 1"};
  auto& one = *cli.app().add_subcommand("one", "");
  auto& two = *cli.app().add_subcommand("two", "");
  cli.add_config_options(one);
  cli.add_config_options(two);
  cli.on(one, [] { return 0; });
  cli.on(two, [] { return 0; });
  EXPECT_EQ(cli.config_path(), "/etc/mxgate/mxgate.toml");
  EXPECT_EQ(run(cli, {"two", "-c", "x.toml", "-o", "a.b=1", "--option", "c=d"}), 0);
  EXPECT_EQ(cli.config_path(), "x.toml");
  EXPECT_EQ(cli.overrides(), (std::vector<std::string>{"a.b=1", "c=d"}));
}

TEST(Cli, ExceptionsOfAnActionBecomeExitCodes) {
  struct Case {
    std::function<int()> action;
    int code;
  };
  const Case cases[] = {
      {[]() -> int { throw conf::ConfigError("f.toml", 3, "server.x", "bad"); }, kExitConfig},
      {[]() -> int { throw std::runtime_error("boom"); }, kExitFailure},
      {[]() -> int { throw UsageError("--dns: bad"); }, kExitUsage},
      {[] { return 7; }, 7},
  };
  for (const auto& c : cases) {
    Cli cli{"test", "test 1"};
    auto& one = *cli.app().add_subcommand("one", "");
    cli.on(one, c.action);
    EXPECT_EQ(run(cli, {"one"}), c.code);
  }
}

TEST(Cli, ConfigurationIsLoadedOnlyByTheActionThatNeedsIt) {
  Cli cli{"test", "test 1"};
  auto& lazy = *cli.app().add_subcommand("lazy", "");
  cli.add_config_options(lazy);
  cli.on(lazy, [] { return 0; });
  EXPECT_EQ(run(cli, {"lazy", "-c", kMissingConfig}), 0);
}

TEST(Cli, EveryParseErrorIsAUsageError) {
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  const Case cases[] = {
      {{}, kExitUsage},                                                 // a subcommand is required
      {{"rep", "get"}, kExitUsage},                                     // target is required
      {{"rep", "get", "192.0.2.7", "extra"}, kExitUsage},               // extra argument
      {{"rep", "set", "192.0.2.7", "--block", "--allow"}, kExitUsage},  // excludes
      {{"rep", "set", "192.0.2.7", "--clear", "--block"}, kExitUsage},
      {{"rep", "set", "192.0.2.7", "--clear", "--allow"}, kExitUsage},
      {{"rep", "set", "192.0.2.7", "--clear", "--reason", "x"}, kExitUsage},
      {{"rep", "set", "192.0.2.7", "--clear", "--expires", "1d"}, kExitUsage},
      {{"rep", "set", "192.0.2.7", "--clear", "--create"}, kExitUsage},
      {{"rep", "get", "192.0.2.7", "--create"}, kExitUsage},  // set and import only
      {{"rep", "export", "--family", "bogus"}, kExitUsage},   // not a member
      {{"spf", "--ip", "192.0.2.7"}, kExitUsage},             // --sender and --helo required
      {{"dkim", "--dns-timeout-ms", "0"}, kExitUsage},        // out of range
      {{"admin", "delist", "list", "--state", "bogus"}, kExitUsage},
      {{"bogus"}, kExitUsage},
      {{"queue", "--help"}, kExitOk},
      {{"--help"}, kExitOk},
      {{"--version"}, kExitOk},
      {{"spf", "--ip", "192.0.2.7", "--sender", "a@b.example", "--helo", "h.example", "--dns",
        "nothost"},
       kExitUsage},
  };
  for (const auto& c : cases) {
    Tools tools;
    EXPECT_EQ(run(tools.cli, c.args), c.code);
  }
}

TEST(Cli, ToolsCheckTheirArgumentsBeforeReadingTheConfiguration) {
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  const Case cases[] = {
      {{"rep", "set", "192.0.2.7", "-c", kMissingConfig}, kExitUsage},  // --block or --allow
      {{"queue", "retry", "-c", kMissingConfig}, kExitUsage},           // an id or --all
      {{"queue", "retry", "0123", "--all", "-c", kMissingConfig}, kExitUsage},  // not both
      {{"rep", "set", "192.0.2.7", "--allow", "-c", kMissingConfig}, kExitConfig},
      {{"rep", "set", "192.0.2.7", "--clear", "-c", kMissingConfig}, kExitConfig},
      {{"queue", "show", "not-an-id", "-c", kMissingConfig}, kExitUsage},  // hex digits
      {{"queue", "delete", "12/34", "-c", kMissingConfig}, kExitUsage},
      {{"queue", "retry", "--all", "-c", kMissingConfig}, kExitConfig},
      {{"admin", "reload", "-c", kMissingConfig}, kExitConfig},
      {{"spf", "--ip", "not-an-ip", "--sender", "a@b", "--helo", "h"}, 2},  // no config needed
  };
  for (const auto& c : cases) {
    Tools tools;
    EXPECT_EQ(run(tools.cli, c.args), c.code);
  }
}

}  // namespace
}  // namespace mxgate::admin
