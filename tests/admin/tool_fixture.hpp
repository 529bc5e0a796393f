// What the tests of the command-line tools share: a temp folder with a configuration that
// points into it, stdout and stderr captured around one tool run, and the admin API's answer()
// as the transport of the "server running" path (no socket).
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "admin/api.hpp"
#include "conf/config.hpp"
#include "http/client.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::admin::testing {

// What a tool printed and returned.
struct ToolRun {
  int code = -1;
  std::string out;
  std::string err;
};

inline ToolRun capture(const std::function<int()>& tool) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  ToolRun run;
  run.code = tool();
  std::fflush(stdout);
  std::fflush(stderr);
  run.out = ::testing::internal::GetCapturedStdout();
  run.err = ::testing::internal::GetCapturedStderr();
  return run;
}

// The reply Api::answer() gives `method target` with `body`, as http::Client returns it.
inline http::ClientReply answer(Api& api, boost::beast::http::verb method,
                                const std::string& target, const std::string& body) {
  http::Request request{method, target, 11};
  request.body() = body;
  request.prepare_payload();
  const auto response = api.answer(request, postmaster::wall_seconds());
  return {response.result_int(), response.body(), ""};
}

class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The API logs its operations to stdout, where the tests read what the tool printed.
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-tool-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    config_.source = dir_ / "mxgate.toml";
    config_.storage.path = (dir_ / "store").string();
    config_.queue.path = (dir_ / "store" / "queue").string();
    config_.http.listen = {"127.0.0.1", 9};  // never connected to: the tests give answer()
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    spdlog::set_level(level_);
  }

  // The admin token a running server would have made, for the tools to read.
  void write_token() {
    std::ofstream(std::filesystem::path(config_.storage.path) / "admin.token")
        << "0123456789abcdef0123456789abcdef\n";
  }

  std::filesystem::path dir_;
  conf::Config config_;
  spdlog::level::level_enum level_ = spdlog::level::info;
};

}  // namespace mxgate::admin::testing
