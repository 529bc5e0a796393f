// check_paths(): the paths of a loaded configuration against the file system, as the user who
// will run the server (paths.hpp). Runs in check-config, once; every problem is a ConfigError
// that names the key, where it was set and the resolved path (value_error()).
#include "conf/paths.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "conf/config.hpp"

namespace mxgate::conf {
namespace {

constexpr int kMaxGroups = 1024;

std::string who_text(const Account& who) {
  if (who.name.starts_with("uid ")) return who.name;
  return "user " + who.name + " (uid " + std::to_string(who.uid) + ")";
}

std::string what_text(int want) {
  std::string out;
  if ((want & R_OK) != 0) out = "readable";
  if ((want & W_OK) != 0) out += std::string(out.empty() ? "" : " and ") + "writable";
  if (want == X_OK) out = "searchable";
  return out;
}

// Why `who` may not do `want` to `path`, or nullopt when it may.
std::optional<std::string> denied(const Account& who, const std::filesystem::path& path, int want) {
  if (who.current) {
    if (faccessat(AT_FDCWD, path.c_str(), want, AT_EACCESS) == 0) return std::nullopt;
    if (errno == EACCES)
      return path.string() + " is not " + what_text(want) + " by " + who_text(who);
    return path.string() + ": " + std::strerror(errno);
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path.string() + ": " + std::strerror(errno);
  if (may_access(who, st.st_uid, st.st_gid, st.st_mode, want)) return std::nullopt;
  return path.string() + " is not " + what_text(want) + " by " + who_text(who);
}

// The directories above `path` must be searchable to reach it.
std::optional<std::string> unreachable(const Account& who, const std::filesystem::path& path) {
  std::filesystem::path above;
  for (auto it = path.begin(); it != path.end() && std::next(it) != path.end(); ++it) {
    above /= *it;
    if (auto why = denied(who, above, X_OK)) return why;
  }
  return std::nullopt;
}

// `path` itself when it exists, else its nearest existing parent.
std::filesystem::path nearest_existing(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  std::error_code ec;
  while (!std::filesystem::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
  return p;
}

// A directory the server creates when it is missing and writes in.
void check_directory(const Config& config, std::string_view key, const std::string& text,
                     const Account& who) {
  const std::filesystem::path path(text);
  const std::filesystem::path existing = nearest_existing(path);
  const bool exists = existing == path;
  const std::string action = (exists ? "cannot write in " : "cannot create ") + text + ": ";
  std::error_code ec;
  if (!std::filesystem::is_directory(existing, ec)) {
    throw value_error(config, key, action + existing.string() + " is not a directory");
  }
  auto why = unreachable(who, existing);
  if (!why) why = denied(who, existing, W_OK | X_OK);
  if (why) throw value_error(config, key, action + *why);
}

// A file the server reads.
void check_readable(const Config& config, std::string_view key, const std::string& text,
                    const Account& who) {
  if (text.empty()) return;
  const std::filesystem::path path(text);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw value_error(config, key, "cannot read " + text + ": No such file or directory");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw value_error(config, key, "cannot read " + text + ": it is a directory");
  }
  auto why = unreachable(who, path);
  if (!why) why = denied(who, path, R_OK);
  if (why) throw value_error(config, key, "cannot read " + text + ": " + *why);
}

}  // namespace

bool may_access(const Account& who, uid_t owner, gid_t group, mode_t mode, int want) {
  if (who.uid == 0) {
    // Root reads and writes anything; it searches or executes only what some class may.
    return (want & X_OK) == 0 || (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  int shift = 0;  // the "other" bits
  if (who.uid == owner) {
    shift = 6;
  } else if (who.gid == group ||
             std::find(who.groups.begin(), who.groups.end(), group) != who.groups.end()) {
    shift = 3;
  }
  const auto granted = static_cast<int>((mode >> shift) & 7u);
  return (granted & want) == want;
}

Account current_account() {
  Account who = account_of(geteuid(), getegid());
  who.gid = getegid();
  std::array<gid_t, kMaxGroups> groups{};
  const int count = getgroups(static_cast<int>(groups.size()), groups.data());
  who.groups.assign(groups.begin(), groups.begin() + std::max(count, 0));
  who.current = true;
  return who;
}

Account account_of(uid_t uid, gid_t fallback_gid) {
  Account who{.uid = uid,
              .gid = fallback_gid,
              .groups = {fallback_gid},
              .name = "uid " + std::to_string(uid)};
  const passwd* entry = getpwuid(uid);
  if (entry == nullptr) return who;
  who.name = entry->pw_name;
  who.gid = entry->pw_gid;
  std::array<gid_t, kMaxGroups> groups{};
  int count = static_cast<int>(groups.size());
  if (getgrouplist(entry->pw_name, entry->pw_gid, groups.data(), &count) >= 0) {
    who.groups.assign(groups.begin(), groups.begin() + count);
  } else {
    who.groups = {entry->pw_gid};
  }
  return who;
}

Account server_account(const std::string& store) {
  Account who = current_account();
  if (who.uid != 0) return who;
  struct stat st {};
  const std::filesystem::path existing = nearest_existing(store);
  if (stat(existing.c_str(), &st) != 0 || st.st_uid == 0) return who;
  return account_of(st.st_uid, st.st_gid);
}

void check_paths(const Config& config) {
  const Account who = server_account(config.storage.path);
  check_directory(config, "storage.path", config.storage.path, who);
  if (config.relay.mode == RelayConfig::Mode::Queue) {
    check_directory(config, "queue.path", config.queue.path, who);
  }
  check_readable(config, "tls.certificate", config.tls.certificate, who);
  check_readable(config, "tls.private_key", config.tls.private_key, who);
  for (std::size_t i = 0; i < config.tls.certificates.size(); ++i) {
    const auto& entry = config.tls.certificates[i];
    const std::string prefix = "tls.certificates[" + std::to_string(i) + "].";
    check_readable(config, prefix + "certificate", entry.certificate, who);
    check_readable(config, prefix + "private_key", entry.private_key, who);
  }
  check_readable(config, "admin.token_file", config.admin.token_file, who);
  check_readable(config, "relay.recipient_list", config.relay.recipient_list, who);
  check_readable(config, "dmarc_reports.dkim_key", config.dmarc_reports.dkim_key, who);
}

}  // namespace mxgate::conf
