// `mxgate admin` (admin/admin_command.hpp) against the admin API's answer() over a real store
// (no socket): what a user sees for an empty list and for a request that is not there.
#include "admin/admin_command.hpp"

#include <gtest/gtest.h>

#include "admin/api.hpp"
#include "postmaster/delist.hpp"
#include "storage/key_codec.hpp"
#include "policy/rules.hpp"
#include "tests/admin/tool_fixture.hpp"

namespace mxgate::admin {
namespace {

using testing::capture;
using testing::ToolRun;
using Verb = AdminCommand::Verb;

class AdminCommandTest : public testing::ToolTest {
 protected:
  ToolRun run(AdminCommand command) {
    auto store =
        storage::ReputationStore::open(config_.storage.path, policy::store_options(config_));
    Api api(*store);
    return capture([&] {
      return run_admin_command(
          config_, command,
          [&](boost::beast::http::verb method, const std::string& target, const std::string& body,
              const std::string&) { return testing::answer(api, method, target, body); });
    });
  }
};

TEST_F(AdminCommandTest, AnEmptyDelistingListSaysSoOnStderr) {
  AdminCommand list{Verb::DelistList};
  const auto open = run(list);
  EXPECT_EQ(open.code, 0);
  EXPECT_EQ(open.out, "");  // no rows for a script
  EXPECT_EQ(open.err, "no delisting requests (state: open)\n");
  list.state = "all";
  EXPECT_EQ(run(list).err, "no delisting requests (state: all)\n");
}

TEST_F(AdminCommandTest, ApprovingAnAddressOfABlockedNetworkSaysTheNetworkStillRefusesIt) {
  {
    auto store =
        storage::ReputationStore::open(config_.storage.path, policy::store_options(config_));
    const auto address = boost::asio::ip::make_address("198.51.100.9");
    ASSERT_FALSE(store->set_listing(storage::Family::Network, storage::network_key(address, 24),
                                    {reputation::ListingAction::Block, "snowshoe", "manual", 1, 0}));
    postmaster::DelistRequest request;
    request.ip = "198.51.100.9";
    request.contact = "postmaster@sender.example";
    request.explanation = "we fixed the compromised account";
    request.created = 1;
    ASSERT_FALSE(postmaster::save_delist(*store, request));
  }
  AdminCommand approve{Verb::DelistApprove};
  approve.ip = "198.51.100.9";
  const auto result = run(approve);
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.51.100.9 approved\n"
            "note: the network 198.51.100.0/24 is still blocked, so 198.51.100.9 is still refused; "
            "lift that listing with `mxgate rep set 198.51.100.0/24 --clear` if the approval is "
            "meant for the network too\n");
}

TEST_F(AdminCommandTest, ARequestThatIsNotThereIsAFailure) {
  AdminCommand approve{Verb::DelistApprove};
  approve.ip = "192.0.2.7";
  const auto result = run(approve);
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "mxgate admin: no delisting request for that address\n");
}

}  // namespace
}  // namespace mxgate::admin
