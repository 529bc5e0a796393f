// Test helpers for fleet/: real redis-server and redis-sentinel processes on free loopback ports
// in a temporary folder (no persistence), and a bounded way to run coroutines on an io_context.
// A process is killed (SIGKILL) and reaped when its object dies, so a failing test leaves none
// behind; the folder is removed too. Readiness is waited for (the port accepts), bounded.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mxgate::fleet::testing {

using namespace std::chrono_literals;

// A port nothing listens on right now (bound to port 0, read back, released).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("free_port: cannot bind");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

inline bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mxgate-fleet-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One redis-server (or redis-sentinel) process listening on 127.0.0.1:port.
class RedisProcess {
 public:
  // `program` is redis-server or redis-sentinel; `args` follow it.
  RedisProcess(std::string program, std::vector<std::string> args, std::uint16_t port)
      : program_(std::move(program)), args_(std::move(args)), port_(port) {
    start();
  }
  ~RedisProcess() { kill(); }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // A plain server without persistence in `dir`; `extra` are more options ("--requirepass", "x").
  static std::unique_ptr<RedisProcess> server(const std::filesystem::path& dir, std::uint16_t port,
                                              std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "--port",       std::to_string(port),
        "--bind",       "127.0.0.1",
        "--save",       "",
        "--appendonly", "no",
        "--dir",        dir.string(),
        "--logfile",    (dir / ("redis-" + std::to_string(port) + ".log")).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<RedisProcess>("redis-server", std::move(args), port);
  }

  std::uint16_t port() const { return port_; }

  void start() {
    std::vector<char*> argv;
    argv.push_back(program_.data());
    for (auto& arg : args_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, program_.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + program_);
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!ready()) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(program_ + " exited at start (port " + std::to_string(port_) +
                                 ")");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill();
        throw std::runtime_error(program_ + " did not listen within 10 s");
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  // Its port accepts and, with --unixsocket, the socket exists (Redis makes it just after it
  // listens on TCP).
  bool ready() const {
    if (!port_accepts(port_)) return false;
    const auto unix_flag = std::find(args_.begin(), args_.end(), "--unixsocket");
    return unix_flag == args_.end() || std::next(unix_flag) == args_.end() ||
           std::filesystem::exists(*std::next(unix_flag));
  }

  // SIGKILL: no goodbye to its clients beyond the kernel closing the sockets.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

// Runs `task` on `io` until it completes or `bound` passes (then the test fails and nullopt).
template <typename T>
std::optional<T> run_bounded(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                             std::chrono::milliseconds bound = 10s) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    out = std::move(value);
  });
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!out && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_one_for(deadline - std::chrono::steady_clock::now());
  }
  if (failure) std::rethrow_exception(failure);
  EXPECT_TRUE(out.has_value()) << "not done within " << bound.count() << " ms";
  return out;
}

// Runs `io` until `done()` or `bound` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds bound = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    // Nothing to run (a condition that only time or another process changes): do not spin.
    if (io.run_one_for(10ms) == 0 && io.stopped()) std::this_thread::sleep_for(1ms);
  }
  return done();
}

}  // namespace mxgate::fleet::testing
