// `mxgate rep get|set|del|import|export`: reads and changes reputation listings in the store
// named by storage.path (formats: postmaster/record_text.hpp; bulk work: rep_bulk.hpp).
//   rep get|del TARGET                              the record of an IP or a network; delete it
//   rep set TARGET --block|--allow [--reason TEXT] [--expires WHEN]   list it
//   rep import FILE [--source NAME]                 listings in bulk from CSV ("-": stdin)
//   rep export [--family ip|network|all]            the active listings as CSV on stdout
// Each takes -c FILE and -o KEY=VALUE (cli.hpp); add_rep_commands() registers them.
//
// Offline, the tool opens the store itself. RocksDB lets one process open a store: while a
// running mxgate holds it, the tool says so on stderr and talks to that server's admin API
// (api.hpp) on http.listen instead, with the same output and exit codes. `import` writes
// its SST files in a work folder under storage.path either way (the server must be able to read
// them, and a systemd PrivateTmp hides /tmp); offline they are moved into the store, a running
// server copies them; the folder is removed afterwards.
//
// Output goes to stdout (export: the CSV); errors to stderr with exit code 1, also for `set`
// with neither --block nor --allow (before the configuration is read). An import with a bad line
// lists the bad lines (FILE:LINE: problem) and imports nothing.
#pragma once

#include <string>

#include "conf/config.hpp"

namespace mxgate::admin {

struct RepRequest {
  enum class Verb { Get, Set, Del, Import, Export } verb = Verb::Get;
  std::string target;          // Get, Set, Del: "192.0.2.7" (an IP) or "192.0.2.0/24"
  bool block = false;          // Set: --block, else --allow
  std::string reason;          // Set
  std::string expires;         // Set: record_text.hpp's expiry grammar ("7d"), empty: never
  std::string file;            // Import: the feed, "-" for standard input
  std::string source;          // Import: default source; empty: "import:<file name>"
  std::string family = "all";  // Export: ip, network or all
};

// Opens the store with the server's options (policy::store_options() in policy/rules.hpp), so
// that network prefixes and history length match what the server looks up and keeps.
int run_rep(const conf::Config& config, const RepRequest& request);

class Cli;
// Adds `mxgate rep` and its commands to `cli` (cli.hpp).
void add_rep_commands(Cli& cli);

}  // namespace mxgate::admin
