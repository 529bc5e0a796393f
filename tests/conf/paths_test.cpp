// Paths in the configuration: relative ones resolve against the configuration file's
// directory (file and -o alike), check_paths() finds what serve could not create or read, and
// may_access() judges by mode bits, owner and group.
#include "conf/paths.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "temp_dir.hpp"

namespace mxgate::conf {
namespace {

using ::testing::HasSubstr;

const std::string kRoute =
    "[[route]]\ndomains = [\"example.com\"]\ndownstream = [\"127.0.0.1:2526\"]\n";

std::string check_error(const Config& config) {
  try {
    check_paths(config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Runs `body` with `dir` as the working directory.
template <class Body>
void in_directory(const std::filesystem::path& dir, Body body) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  body();
  std::filesystem::current_path(cwd);
}

TEST(RelativePaths, ResolveAgainstTheFilesDirectoryNotTheWorkingDirectory) {
  TestDir dir;
  dir.write("conf/cert.pem", "c");
  dir.write("conf/tls/key.pem", "k");
  const std::string file = dir.write("conf/mxgate.toml",
                                     "[storage]\npath = \"../var/mxgate\"\n"
                                     "[tls]\ncertificate = \"cert.pem\"\n"
                                     "private_key = \"./tls/key.pem\"\n"
                                     "[admin]\ntoken_file = \"../secret/token\"\n"
                                     "[queue]\npath = \"spool\"\n" +
                                         kRoute);
  TestDir elsewhere;
  Config config;
  in_directory(elsewhere.path(), [&] { config = load_config(file); });
  EXPECT_EQ(config.storage.path, dir / "var/mxgate");
  EXPECT_EQ(config.tls.certificate, dir / "conf/cert.pem");
  EXPECT_EQ(config.tls.private_key, dir / "conf/tls/key.pem");
  EXPECT_EQ(config.admin.token_file, dir / "secret/token");
  EXPECT_EQ(config.queue.path, dir / "conf/spool");
}

TEST(RelativePaths, ARelativeDashCResolvesAgainstTheWorkingDirectoryFirst) {
  TestDir dir;
  dir.write("conf/mxgate.toml", "[storage]\npath = \"../var/mxgate\"\n" + kRoute);
  Config config;
  in_directory(dir.path(), [&] { config = load_config("conf/mxgate.toml"); });
  EXPECT_EQ(config.storage.path, dir / "var/mxgate");
  EXPECT_EQ(config.queue.path, dir / "var/mxgate/queue");  // the default, under storage.path
}

TEST(RelativePaths, OverridesResolveTheSameWayAndAbsolutePathsStay) {
  TestDir dir;
  const std::string file = dir.write("etc/mxgate.toml", kRoute);
  TestDir elsewhere;
  Config config;
  in_directory(elsewhere.path(), [&] {
    config = load_config(file, {"storage.path=store", "queue.path=/srv/spool"});
  });
  EXPECT_EQ(config.storage.path, dir / "etc/store");
  EXPECT_EQ(config.queue.path, "/srv/spool");
  EXPECT_EQ(load_config(file).storage.path, "/var/lib/mxgate");  // the default is absolute
}

TEST(RelativePaths, DescribeWritesThemResolved) {
  TestDir dir;
  const std::string file = dir.write("conf/mxgate.toml", "[storage]\npath = \"x\"\n" + kRoute);
  EXPECT_THAT(describe(load_config(file)), HasSubstr("path = \"" + (dir / "conf/x") + "\"\n"));
}

TEST(Origins, NameTheLineOrTheOptionThatSetAPath) {
  TestDir dir;
  const std::string file = dir.write("mxgate.toml", kRoute + "[storage]\npath = \"s\"\n");
  const Config config = load_config(file, {"queue.path=q"});
  EXPECT_EQ(config.origins.of("storage.path").text(), file + ":5");
  EXPECT_EQ(config.origins.of("queue.path").text(), "-o queue.path=q");
  EXPECT_EQ(config.origins.of("admin.token_file").text(), "default");
  EXPECT_STREQ(value_error(config, "storage.path", "cannot create /x: Permission denied").what(),
               ("storage.path (" + file + ":5): cannot create /x: Permission denied").c_str());
}

TEST(CheckPaths, AcceptsAStoreToCreateUnderAWritableDirectory) {
  TestDir dir;
  const std::string file = dir.write(
      "mxgate.toml", "[storage]\npath = \"var/a/b\"\n[relay]\nmode = \"queue\"\n" + kRoute);
  EXPECT_EQ(check_error(load_config(file)), "");
  std::filesystem::create_directories(dir / "var/a/b");
  EXPECT_EQ(check_error(load_config(file)), "");
}

TEST(CheckPaths, NamesTheKeyTheLineAndTheResolvedPath) {
  TestDir dir;
  dir.write("file", "not a directory");
  const std::string file = dir.write("mxgate.toml", "[storage]\npath = \"file/store\"\n" + kRoute);
  EXPECT_EQ(check_error(load_config(file)), "storage.path (" + file + ":2): cannot create " +
                                                (dir / "file/store") + ": " + (dir / "file") +
                                                " is not a directory");
  EXPECT_EQ(check_error(load_config(file, {"storage.path=file"})),
            "storage.path (-o storage.path=file): cannot write in " + (dir / "file") + ": " +
                (dir / "file") + " is not a directory");
}

TEST(CheckPaths, AQueueDirectoryCountsOnlyInQueueMode) {
  TestDir dir;
  dir.write("file", "x");
  const std::string file = dir.write(
      "mxgate.toml", "[storage]\npath = \"store\"\n[queue]\npath = \"file/q\"\n" + kRoute);
  EXPECT_EQ(check_error(load_config(file)), "");
  EXPECT_THAT(check_error(load_config(file, {"relay.mode=queue"})),
              HasSubstr("queue.path (" + file + ":4): cannot create " + (dir / "file/q")));
}

TEST(CheckPaths, FilesToReadMustExist) {
  TestDir dir;
  const std::string file = dir.write(
      "mxgate.toml", "[storage]\npath = \"store\"\n[admin]\ntoken_file = \"token\"\n" + kRoute);
  EXPECT_EQ(check_error(load_config(file)), "admin.token_file (" + file + ":4): cannot read " +
                                                (dir / "token") + ": No such file or directory");
  dir.write("token", "0123456789abcdef");
  EXPECT_EQ(check_error(load_config(file)), "");
}

// Run as root, the check is for the owner of the store's directory (the server's user), so
// this test checks the same refusals whoever runs it.
TEST(CheckPaths, RefusesWhatTheServersUserCannotWriteOrRead) {
  constexpr uid_t kNobody = 65534;
  TestDir dir;
  std::filesystem::create_directories(dir / "ro");
  chmod((dir / "ro").c_str(), 0555);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(dir.path().c_str(), kNobody, kNobody), 0);
    ASSERT_EQ(chown((dir / "ro").c_str(), kNobody, kNobody), 0);
  }
  const std::string file = dir.write("mxgate.toml", "[storage]\npath = \"ro/store\"\n" + kRoute);
  EXPECT_THAT(check_error(load_config(file)),
              HasSubstr("storage.path (" + file + ":2): cannot create " + (dir / "ro/store") +
                        ": " + (dir / "ro") + " is not writable by user "));
  dir.write("token", "0123456789abcdef");
  chmod((dir / "token").c_str(), 0200);  // root's, when root runs the test
  EXPECT_THAT(check_error(load_config(file, {"storage.path=store", "admin.token_file=token"})),
              HasSubstr("admin.token_file (-o admin.token_file=token): cannot read " +
                        (dir / "token") + ": " + (dir / "token") + " is not readable by user "));
}

// may_access(): the owner's bits for the owner, the group's for a member, the others' else.
TEST(MayAccess, JudgesByOwnerGroupAndOtherBits) {
  const Account alice{.uid = 1000, .gid = 1000, .groups = {1000, 50}, .name = "alice"};
  const Account root{.uid = 0, .gid = 0, .groups = {0}, .name = "root"};
  struct Case {
    const char* name;
    const Account& who;
    uid_t owner;
    gid_t group;
    mode_t mode;
    int want;
    bool allowed;
  };
  const Case cases[] = {
      {"owner writes 0755", alice, 1000, 1000, 0755, W_OK | X_OK, true},
      {"owner without write 0555", alice, 1000, 1000, 0555, W_OK, false},
      {"owner bits win over group bits", alice, 1000, 50, 0077, R_OK, false},
      {"primary group 0770", alice, 0, 1000, 0770, W_OK | X_OK, true},
      {"supplementary group 0750 reads", alice, 0, 50, 0750, R_OK, true},
      {"supplementary group 0750 writes", alice, 0, 50, 0750, W_OK, false},
      {"other 0755 writes", alice, 0, 0, 0755, W_OK, false},
      {"other 0757 writes", alice, 0, 0, 0757, W_OK | X_OK, true},
      {"other 0700 searches", alice, 0, 0, 0700, X_OK, false},
      {"root writes 0500", root, 1000, 1000, 0500, W_OK, true},
      {"root reads 0000", root, 1000, 1000, 0000, R_OK, true},
      {"root searches 0600", root, 1000, 1000, 0600, X_OK, false},
      {"root searches 0700", root, 1000, 1000, 0700, X_OK, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(may_access(c.who, c.owner, c.group, c.mode, c.want), c.allowed) << c.name;
  }
}

TEST(ServerAccount, IsTheCurrentUserUnlessRoot) {
  TestDir dir;
  const Account who = server_account(dir / "store");
  if (geteuid() != 0) {
    EXPECT_EQ(who.uid, geteuid());
    EXPECT_TRUE(who.current);
    return;
  }
  EXPECT_EQ(who.uid, 0u);  // the temporary directory is root's
  // Root checks for the owner of the store's nearest existing parent.
  ASSERT_EQ(chown(dir.path().c_str(), 65534, 65534), 0);
  const Account nobody = server_account(dir / "a/store");
  EXPECT_EQ(nobody.uid, 65534u);
  EXPECT_FALSE(nobody.current);
}

}  // namespace
}  // namespace mxgate::conf
