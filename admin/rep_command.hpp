// `mxgate rep get|set|del|import|export`: reads and changes reputation listings in the store
// named by storage.path (formats: postmaster/record_text.hpp; bulk work: rep_bulk.hpp).
//   rep get TARGET                      the record of an IP or a network, and for an IP the
//                                       network listings that apply to it (rep_records.hpp)
//   rep set TARGET --block|--allow [--reason TEXT] [--expires WHEN] [--create]   list it
//   rep set TARGET --clear              lift its listing; counters and history are kept
//   rep del TARGET                      delete its whole record
//   rep import FILE [--source NAME] [--create]   listings in bulk from CSV ("-": stdin)
//   rep export [--family ip|network|all]         the active listings as CSV on stdout
// Each takes -c FILE and -o KEY=VALUE (cli.hpp); add_rep_commands() registers them.
//
// Offline, the tool opens the store itself, but only a store that exists: without one at
// storage.path it says where it looked ("no reputation store at /abs/path (storage.path in
// FILE); start mxgate once to create it, or check -c") and exits 1, so that a wrong -c or
// storage.path never sends a listing into a new store the server does not read. `--create`
// (set and import) makes one on purpose, to load listings before the first start; the server
// opens it as its own. Run as root, the tool first becomes the owner of the store directory
// (store_access.hpp). RocksDB lets one process open a store: while a running mxgate holds it,
// the tool says so on stderr and talks to that server's admin API (api.hpp) on http.listen
// instead, with the same output and exit codes. `import` writes its SST files in a work folder
// under storage.path either way (the server must be able to read them, and a systemd
// PrivateTmp hides /tmp); offline they are moved into the store, a running server copies them;
// the folder is removed afterwards.
//
// Output goes to stdout (export: the CSV); errors to stderr. Exit codes: 0 done (also `get` of
// a target without a record: "no record" is an answer); 1 a failure, also `del` or `set
// --clear` of a target without a record ("no record for X, nothing deleted") and a missing
// store; 2 a usage error (CLI11's checks; `set` with none of --block, --allow, --clear; --clear
// with --block, --allow, --reason, --expires or --create); 78 a configuration error. An import
// with a bad line lists the bad lines (FILE:LINE: problem) and imports nothing.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "conf/config.hpp"
#include "http/client.hpp"

namespace mxgate::admin {

struct RepRequest {
  enum class Verb { Get, Set, Del, Import, Export } verb = Verb::Get;
  std::string target;          // Get, Set, Del: "192.0.2.7" (an IP) or "192.0.2.0/24"
  bool block = false;          // Set: --block, else --allow (unless clear)
  bool clear = false;          // Set: --clear (lift the listing, keep the record)
  bool create = false;         // Set, Import: make the store when there is none
  std::string reason;          // Set
  std::string expires;         // Set: record_text.hpp's expiry grammar ("7d"), empty: never
  std::string file;            // Import: the feed, "-" for standard input
  std::string source;          // Import: default source; empty: "import:<file name>"
  std::string family = "all";  // Export: ip, network or all
};

// How run_rep() reaches a running server; the defaults are the real ones. Tests replace them to
// drive the admin API path without a socket (Api::answer).
struct RepHooks {
  using AdminCall = std::function<http::ClientReply(
      boost::beast::http::verb method, const std::string& target, const std::string& form)>;
  std::function<bool(const std::filesystem::path&)> store_in_use;  // default: storage's
  AdminCall admin;  // get, set and del through the admin API; default: an http::Client
};

// Opens the store with the server's options (policy::store_options() in policy/rules.hpp), so
// that network prefixes and history length match what the server looks up and keeps.
int run_rep(const conf::Config& config, const RepRequest& request, const RepHooks& hooks = {});

class Cli;
// Adds `mxgate rep` and its commands to `cli` (cli.hpp).
void add_rep_commands(Cli& cli);

}  // namespace mxgate::admin
