#include "admin/admin_command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <utility>

#include "admin/cli.hpp"
#include "admin/paths.hpp"
#include "admin/token.hpp"
#include "common/text.hpp"
#include "http/client.hpp"

namespace mxgate::admin {
namespace {

namespace beast = boost::beast;

constexpr auto kTimeout = std::chrono::seconds(60);
constexpr const char* kForm = "application/x-www-form-urlencoded";

std::optional<std::string> read_input(const std::string& file) {
  std::ostringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int run_admin_command(const conf::Config& config, const AdminCommand& command,
                      const AdminTransport& transport) {
  if (config.http.listen.port == 0 && !transport) {
    fmt::print(stderr, "mxgate admin: the HTTP listener is off (http.listen port 0 in {})\n",
               config.source.string());
    return kExitFailure;
  }
  std::string problem;
  const auto token = transport ? std::optional<std::string>("") : read_admin_token(config, problem);
  if (!token) {
    fmt::print(stderr, "mxgate admin: {}\n", problem);
    return kExitFailure;
  }
  using Verb = AdminCommand::Verb;
  beast::http::verb method = beast::http::verb::post;
  std::string target, body, type = kForm;
  switch (command.verb) {
    case Verb::DelistList:
      method = beast::http::verb::get;
      target = fmt::format("{}?state={}", kAdminDelistPath, common::form_encode(command.state));
      break;
    case Verb::DelistApprove:
    case Verb::DelistDeny:
      target = fmt::format("{}/{}/{}", kAdminDelistPath, command.ip,
                           command.verb == Verb::DelistApprove ? "approve" : "deny");
      body = "note=" + common::form_encode(command.note);
      break;
    case Verb::Arf: {
      auto report = read_input(command.file);
      if (!report) {
        fmt::print(stderr, "mxgate admin arf: cannot read {}\n", command.file);
        return kExitFailure;
      }
      target = std::string(kAdminArfPath);
      body = std::move(*report);
      type = "message/rfc822";
      break;
    }
    case Verb::Reload:
      target = std::string(kAdminReloadPath);
      break;
    case Verb::Drain:
      target = std::string(kAdminDrainPath);
      break;
  }
  const http::Client client(config.http.listen, *token);
  const auto reply = transport ? transport(method, target, body, type)
                               : client.request(method, target, body, type, kTimeout);
  if (reply.status == 0) {
    fmt::print(stderr,
               "mxgate admin: no answer from {} (http.listen in {}): {}; is mxgate running?\n",
               client.url(), config.source.string(), reply.error);
    return kExitFailure;
  }
  if (reply.status >= 300) {
    fmt::print(stderr, "mxgate admin: {}", reply.body);
    return kExitFailure;
  }
  std::fwrite(reply.body.data(), 1, reply.body.size(), stdout);
  if (command.verb == Verb::DelistList && reply.body.empty()) {
    // Rows go to stdout for scripts; the note that there are none to whoever reads the terminal.
    fmt::print(stderr, "no delisting requests (state: {})\n", command.state);
  }
  return kExitOk;
}

void add_admin_commands(Cli& cli) {
  auto& admin = *cli.app().add_subcommand("admin", "The admin API of a running mxgate");
  admin.require_subcommand(1);
  const auto request = std::make_shared<AdminCommand>();
  auto* delist = admin.add_subcommand("delist", "The portal's delisting requests");
  delist->require_subcommand(1);
  auto* list = delist->add_subcommand("list", "Requests, newest first");
  list->add_option("--state", request->state, "open, approved, denied or all")
      ->check(CLI::IsMember({"open", "approved", "denied", "all"}))
      ->capture_default_str();
  auto* approve =
      delist->add_subcommand("approve", "Approve: clear the listing, soften the history");
  auto* deny = delist->add_subcommand("deny", "Deny the request");
  for (auto* command : {approve, deny}) {
    command->add_option("ip", request->ip, "The IP of the request")->required();
    command->add_option("--note", request->note, "Why (kept with the request)");
  }
  auto* arf = admin.add_subcommand("arf", "Count a complaint report (RFC 5965)");
  arf->add_option("file", request->file, "The report (\"-\": standard input)")->required();
  auto* reload = admin.add_subcommand("reload", "Re-read the configuration (as SIGHUP)");
  auto* drain = admin.add_subcommand("drain", "Stop gracefully (as SIGTERM)");

  using Verb = AdminCommand::Verb;
  const std::pair<CLI::App*, Verb> commands[] = {
      {list, Verb::DelistList}, {approve, Verb::DelistApprove}, {deny, Verb::DelistDeny},
      {arf, Verb::Arf},         {reload, Verb::Reload},         {drain, Verb::Drain}};
  for (auto [command, verb] : commands) {
    cli.add_config_options(*command);
    cli.on(*command, [&cli, request, verb = verb] {
      request->verb = verb;
      return run_admin_command(cli.load_config(), *request);
    });
  }
}

}  // namespace mxgate::admin
