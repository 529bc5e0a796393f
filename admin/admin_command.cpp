#include "admin/admin_command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "admin/paths.hpp"
#include "admin/token.hpp"
#include "common/text.hpp"
#include "http/client.hpp"

namespace mxgate::admin {
namespace {

namespace beast = boost::beast;

constexpr auto kTimeout = std::chrono::seconds(60);
constexpr int kExitNotFound = 2;
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

int run_admin_command(const conf::Config& config, const AdminCommand& command) {
  if (config.http.listen.port == 0) {
    fmt::print(stderr, "mxgate admin: the HTTP listener is off (http.listen port 0)\n");
    return 1;
  }
  std::string problem;
  const auto token = read_admin_token(config, problem);
  if (!token) {
    fmt::print(stderr, "mxgate admin: {}\n", problem);
    return 1;
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
        return 1;
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
  const auto reply = client.request(method, target, body, type, kTimeout);
  if (reply.status == 0) {
    fmt::print(stderr, "mxgate admin: no answer from {}: {}\n", client.url(), reply.error);
    return 1;
  }
  std::fwrite(reply.body.data(), 1, reply.body.size(), reply.status < 300 ? stdout : stderr);
  if (reply.status < 300) return 0;
  return reply.status == 404 ? kExitNotFound : 1;
}

}  // namespace mxgate::admin
