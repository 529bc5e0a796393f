// check_paths() (declared in config.hpp) and its parts: whether a user may read, write or
// search a file by its mode bits, owner and group, for check-config run as root on behalf of
// the user who will run the server. POSIX permission bits only (no ACLs, no capabilities
// beyond root's). Pure except current_account() and account_of(), which read the process and
// the user database.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace mxgate::conf {

struct Account {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included
  std::string name;           // "alice", or "uid 1000" when the user database has none
  bool current = false;       // the process itself: the kernel decides (access(2))
};

// May `who` do `want` (a mask of R_OK, W_OK, X_OK) to a file of `owner`:`group` with `mode`?
// Root may read and write anything, and search or execute what anyone may.
bool may_access(const Account& who, uid_t owner, gid_t group, mode_t mode, int want);

Account current_account();
// The account of `uid` from the user database; its primary group is `fallback_gid` when it has
// no entry there.
Account account_of(uid_t uid, gid_t fallback_gid);

// Who check_paths() checks for: the current user, or, when that is root and `store` (or its
// nearest existing parent) belongs to another user, that user.
Account server_account(const std::string& store);

}  // namespace mxgate::conf
