// How the command-line tools (`mxgate rep`, `mxgate queue`) reach a store or a spool that the
// server left on disk: as the user who owns it, and only when it exists.
//
// Ownership: a tool run as root on a store that belongs to the service user would leave files
// (a new WAL, LOG, MANIFEST, the import work folder) that the service can no longer open
// ("LOCK: Permission denied" at its next start). So before it touches the store, a tool
// running as root takes the identity of the store directory's owner for the rest of this
// one-shot process (setgroups, setresgid, setresuid). Switching, rather than chown-ing what was
// made afterwards, is right by construction: RocksDB makes files at many points (and a tool
// that is interrupted never reaches a chown), and the tool can do nothing the service user
// could not. The price: an import file must be readable by that user.
//
// Existence: the tools never make an empty store or spool where the server's was expected (a
// wrong -c, a relative storage.path): they say where they looked and which key named it.
//
// Failure: functions return an error text ("" for success); nothing throws.
// Threading: the main thread of a tool, before it opens a store (whose background threads
// would otherwise make files under either identity).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::admin {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
  friend bool operator==(const Owner&, const Owner&) = default;
};

// The owner of `dir`, or of its nearest existing ancestor when `dir` does not exist yet (the
// folder a new store would be made in); nullopt when none can be read.
std::optional<Owner> owner_of(const std::filesystem::path& dir);

// Whom a tool running with effective uid `euid` must become to work on a directory owned by
// `owner`: the owner when the tool runs as root and the directory belongs to another user,
// else nobody (nullopt).
std::optional<Owner> identity_to_take(uid_t euid, const std::optional<Owner>& owner);

// Takes the identity that identity_to_take() names for `dir`, if any, for the rest of the
// process. "" when done or nothing to do; else why not.
std::string become_owner_of(const std::filesystem::path& dir);

// "no reputation store at /abs/path (storage.path in /etc/mxgate/mxgate.toml)"
std::string missing_text(std::string_view what, const std::filesystem::path& dir,
                         std::string_view key, const std::filesystem::path& config_file);

}  // namespace mxgate::admin
