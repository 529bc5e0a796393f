#include "admin/store_access.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace mxgate::admin {

std::optional<Owner> owner_of(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path at = std::filesystem::absolute(dir, ec);
  if (ec) return std::nullopt;
  for (;;) {
    struct stat info {};
    if (::stat(at.c_str(), &info) == 0) return Owner{info.st_uid, info.st_gid};
    if (errno != ENOENT || !at.has_relative_path()) return std::nullopt;
    at = at.parent_path();
  }
}

std::optional<Owner> identity_to_take(uid_t euid, const std::optional<Owner>& owner) {
  if (euid != 0 || !owner || owner->uid == 0) return std::nullopt;
  return owner;
}

std::string become_owner_of(const std::filesystem::path& dir) {
  const auto owner = identity_to_take(::geteuid(), owner_of(dir));
  if (!owner) return {};
  // Groups first: once the uid is dropped, the process may no longer change them.
  const gid_t gid = owner->gid;
  if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
      ::setresuid(owner->uid, owner->uid, owner->uid) != 0) {
    return fmt::format("cannot take the identity of uid {} gid {}, the owner of {}: {}", owner->uid,
                       owner->gid, dir.string(), std::strerror(errno));
  }
  return {};
}

std::string missing_text(std::string_view what, const std::filesystem::path& dir,
                         std::string_view key, const std::filesystem::path& config_file) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(dir, ec);
  return fmt::format("no {} at {} ({} in {})", what, (ec ? dir : absolute).string(), key,
                     config_file.string());
}

}  // namespace mxgate::admin
