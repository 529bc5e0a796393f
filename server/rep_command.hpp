// `mxgate rep get|set|del`: reads and changes reputation listings in the store named by
// storage.path. They open the store directly, so they run while mxgate is stopped (RocksDB
// allows one process at a time; a running server's store is reported as busy).
// Output goes to stdout; errors to stderr with a non-zero exit code.
#pragma once

#include <string>

#include "conf/config.hpp"

namespace mxgate::server {

struct RepRequest {
  enum class Verb { Get, Set, Del } verb = Verb::Get;
  std::string target;          // "192.0.2.7" (an IP) or "192.0.2.0/24" (a network)
  bool block = false;          // Set: --block, else --allow
  std::string reason;          // Set
  std::string expires;         // Set: a duration ("7d"), empty for never
};

int run_rep(const conf::Config& config, const RepRequest& request);

}  // namespace mxgate::server
