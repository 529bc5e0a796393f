// The running server: loads the configuration, opens the reputation store, starts one Worker
// per core (or server.workers), the HTTP listener (metrics, health, readiness, the admin API),
// writes the batched outcome counters every reputation.flush_interval, and handles signals on
// the control thread:
// - SIGHUP reloads the configuration and certificates; an invalid new configuration is logged,
//   counted and refused, and the old one keeps running. Sessions keep the snapshot they began
//   with. Listen addresses and worker count need a restart.
// - SIGTERM/SIGINT drain: stop accepting, /readyz turns 503, sessions finish their transaction
//   and get 421 4.3.2; after server.drain_timeout the rest are closed (never after a 250 that
//   the downstream did not give).
// Failure at start-up (config, TLS files, ports) throws; main() reports it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mxgate::server {

struct RuntimeOptions {
  std::filesystem::path config_path;
  std::vector<std::string> overrides;
};

// Runs until drained; returns the process exit code.
int run_server(const RuntimeOptions& options);

}  // namespace mxgate::server
