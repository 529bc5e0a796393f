#include "fleet/settings.hpp"

#include <fstream>

#include "common/socket_endpoint.hpp"

namespace mxgate::fleet {

namespace {

// "127.0.0.1:6379", "[::1]:6379" or "unix:/path" (conf checked it).
RedisEndpoint endpoint_of(const std::string& address) {
  std::string why;
  const bool unix_path = address.starts_with("unix:");
  const auto parsed =
      common::parse_socket_endpoint(unix_path ? address : "inet:" + address, why).value();
  if (parsed.unix_socket) return RedisEndpoint::unix_path(parsed.path);
  return RedisEndpoint::tcp(parsed.host, parsed.port);
}

}  // namespace

RedisLinkSettings redis_settings(const conf::Config& config) {
  const auto& f = config.fleet;
  RedisLinkSettings s;
  if (f.sentinels.empty()) {
    s.server = endpoint_of(f.redis);
  } else {
    for (const auto& sentinel : f.sentinels) {
      s.sentinels.push_back(RedisEndpoint::tcp(sentinel.host, sentinel.port));
    }
    s.master_name = f.master_name;
  }
  if (!f.password_file.empty()) {
    std::ifstream in(f.password_file);
    if (!in || !std::getline(in, s.password)) {
      throw conf::value_error(config, "fleet.password_file", "cannot read " + f.password_file);
    }
    while (!s.password.empty() && (s.password.back() == '\r' || s.password.back() == ' ')) {
      s.password.pop_back();
    }
  }
  return s;
}

ChangesSettings changes_settings(const conf::Config& config) {
  ChangesSettings s;
  s.redis = redis_settings(config);
  s.node = config.fleet.node_name;
  s.prefix = config.fleet.key_prefix;
  s.flush_interval = config.fleet.flush_interval;
  s.max_queued = config.fleet.max_queued;
  return s;
}

}  // namespace mxgate::fleet
