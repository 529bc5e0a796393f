// The tools' access to a stopped server's store (admin/store_access.hpp): whose identity a tool
// takes, and how it names a store that is not there. The switch itself is checked end to end
// (tests/integration/test_rep_tools.py runs the tool as root on a store owned by nobody).
#include "admin/store_access.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

namespace mxgate::admin {
namespace {

TEST(StoreAccess, OnlyRootTakesTheIdentityOfAnotherOwner) {
  const Owner service{998, 997};
  struct Case {
    uid_t euid;
    std::optional<Owner> owner;
    std::optional<Owner> taken;
  };
  const Case cases[] = {
      {0, service, service},            // root on the service user's store: become it
      {0, Owner{0, 0}, std::nullopt},   // root on root's store: stay
      {0, std::nullopt, std::nullopt},  // nothing to read the owner from
      {998, service, std::nullopt},     // the service user itself
      {1000, service, std::nullopt},    // another user cannot switch (and RocksDB will say why)
  };
  for (const auto& c : cases) {
    EXPECT_EQ(identity_to_take(c.euid, c.owner), c.taken) << c.euid;
  }
}

TEST(StoreAccess, TheOwnerOfAStoreNotMadeYetIsThatOfItsFolder) {
  std::random_device random;
  const auto dir =
      std::filesystem::temp_directory_path() / ("mxgate-access-test-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  const auto mine = owner_of(dir);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->uid, ::geteuid());
  EXPECT_EQ(owner_of(dir / "store" / "queue"), mine);
  std::filesystem::remove_all(dir);
}

TEST(StoreAccess, AMissingStoreIsNamedWithItsKeyAndFile) {
  EXPECT_EQ(missing_text("reputation store", "/var/lib/mxgate", "storage.path",
                         "/etc/mxgate/mxgate.toml"),
            "no reputation store at /var/lib/mxgate (storage.path in /etc/mxgate/mxgate.toml)");
  const auto relative = missing_text("queue", "spool", "queue.path", "x.toml");
  EXPECT_EQ(relative, "no queue at " + (std::filesystem::current_path() / "spool").string() +
                          " (queue.path in x.toml)");
}

}  // namespace
}  // namespace mxgate::admin
