// `mxgate rep` (admin/rep_command.hpp) as a user sees it, on both of its paths: a stopped
// server (the tool opens the store in a temp folder) and a running one (the tool's admin
// requests answered by Api::answer over the same store, no socket). Both must print the same.
#include "admin/rep_command.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <algorithm>

#include "admin/api.hpp"
#include "policy/rules.hpp"
#include "tests/admin/tool_fixture.hpp"

namespace mxgate::admin {
namespace {

using reputation::ListingAction;
using storage::Family;
using testing::capture;
using testing::ToolRun;
using Verb = RepRequest::Verb;

RepRequest request(Verb verb, std::string target = {}) {
  RepRequest r;
  r.verb = verb;
  r.target = std::move(target);
  return r;
}

RepRequest block(std::string target, std::string reason = "snowshoe") {
  auto r = request(Verb::Set, std::move(target));
  r.block = true;
  r.reason = std::move(reason);
  return r;
}

std::string without_ramp(const std::string& text) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size() - 1) + 1;
    if (!text.substr(at, end - at).starts_with("  ramp ")) out += text.substr(at, end - at);
    at = end;
  }
  return out;
}

class RepCommandTest : public testing::ToolTest {
 protected:
  // The tool on a stopped server.
  ToolRun offline(const RepRequest& r) {
    RepHooks hooks;
    hooks.store_in_use = [](const std::filesystem::path&) { return false; };
    return capture([&] { return run_rep(config_, r, hooks); });
  }

  // The tool while a server holds the store: its requests go to the admin API's answer().
  ToolRun online(const RepRequest& r) {
    auto store =
        storage::ReputationStore::open(config_.storage.path, policy::store_options(config_));
    Api api(*store);
    write_token();
    RepHooks hooks;
    hooks.store_in_use = [](const std::filesystem::path&) { return true; };
    hooks.admin = [&](boost::beast::http::verb method, const std::string& target,
                      const std::string& form) {
      return testing::answer(api, method, target, form);
    };
    auto run = capture([&] { return run_rep(config_, r, hooks); });
    const std::string note = "using its admin API";
    EXPECT_NE(run.err.find(note), std::string::npos) << run.err;
    run.err.erase(0, run.err.find('\n') + 1);  // the note, then what both paths print
    return run;
  }

  // Runs `r` on both paths (offline first, on a copy of the store, so that both start from the
  // same records) and expects the same output and exit code. The one line allowed to differ is a
  // new sender's ramp: only a running server knows today's count (and this API has no throttle).
  ToolRun both(const RepRequest& r) {
    const auto copy = dir_ / "copy";
    std::filesystem::copy(config_.storage.path, copy, std::filesystem::copy_options::recursive);
    const auto first = offline(r);
    std::filesystem::remove_all(config_.storage.path);
    std::filesystem::rename(copy, config_.storage.path);
    const auto second = online(r);
    EXPECT_EQ(first.code, second.code);
    EXPECT_EQ(without_ramp(first.out), second.out);
    EXPECT_EQ(first.err, second.err);
    return second;
  }

  void make_store() {
    auto r = block("192.0.2.250");
    r.create = true;
    ASSERT_EQ(offline(r).code, 0);
  }
};

TEST_F(RepCommandTest, AMissingStoreIsRefusedWithWhereItLookedAndNothingIsMade) {
  for (const auto& r : {request(Verb::Get, "192.0.2.7"), block("192.0.2.7"),
                        request(Verb::Del, "192.0.2.7"), request(Verb::Export)}) {
    const auto run = offline(r);
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err.find("mxgate rep: no reputation store at " + config_.storage.path +
                           " (storage.path in " + config_.source.string() +
                           "); start mxgate once to create it, or check -c"),
              std::string::npos)
        << run.err;
  }
  EXPECT_FALSE(std::filesystem::exists(config_.storage.path));
}

TEST_F(RepCommandTest, AFeedWithoutListingsImportsNothingAndSucceeds) {
  make_store();
  const auto feed = dir_ / "empty.csv";
  std::ofstream(feed) << "# exported, but nothing was listed\n\n";
  auto r = request(Verb::Import);
  r.file = feed.string();
  const auto run = offline(r);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "imported no listings: " + feed.string() + " has none (2 lines)\n");
}

TEST_F(RepCommandTest, CreateMakesTheStoreOnPurpose) {
  auto r = block("192.0.2.7");
  r.create = true;
  const auto run = offline(r);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "192.0.2.7 blocked\n");
  EXPECT_TRUE(storage::database_exists(config_.storage.path));
  EXPECT_NE(offline(request(Verb::Get, "192.0.2.7")).out.find("listing    block"),
            std::string::npos);
}

TEST_F(RepCommandTest, GetOfAnAddressShowsTheNetworkListingThatApplies) {
  make_store();
  ASSERT_EQ(offline(block("198.51.100.0/24")).code, 0);
  const auto run = both(request(Verb::Get, "198.51.100.9"));
  EXPECT_EQ(run.code, 0);
  EXPECT_TRUE(run.out.starts_with("198.51.100.9\n  no record of its own\n")) << run.out;
  EXPECT_NE(
      run.out.find("  network    198.51.100.0/24 block reason=\"snowshoe\" source=cli since "),
      std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find(" expires=never\n             (applies at connect)\n"), std::string::npos)
      << run.out;

  // The address's own allow wins at connect: the network's block is shown as not applied.
  auto allow = request(Verb::Set, "198.51.100.9");
  ASSERT_EQ(offline(allow).code, 0);
  const auto own = both(request(Verb::Get, "198.51.100.9"));
  EXPECT_NE(own.out.find("listing    allow"), std::string::npos) << own.out;
  EXPECT_NE(own.out.find("(not applied: the address's own listing wins)"), std::string::npos)
      << own.out;
  // An address of another network has no record and nothing that applies.
  EXPECT_EQ(both(request(Verb::Get, "192.0.2.1")).out, "192.0.2.1\n  no record\n");
  EXPECT_EQ(
      offline(request(Verb::Get, "192.0.2.1")).out,
      "192.0.2.1\n  no record\n  ramp       a new sender: 100 messages may be accepted today\n");
}

TEST_F(RepCommandTest, TheMostSpecificListedNetworkDecidesAsAtConnect) {
  make_store();
  ASSERT_EQ(offline(block("2001:db8:1::/48", "hoster")).code, 0);
  auto allow = request(Verb::Set, "2001:db8:1:2::/64");
  ASSERT_EQ(offline(allow).code, 0);
  const auto run = both(request(Verb::Get, "2001:db8:1:2::9"));
  EXPECT_NE(run.out.find("network    2001:db8:1::/48 block reason=\"hoster\""), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("(not applied: the more specific 2001:db8:1:2::/64 is listed)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("network    2001:db8:1:2::/64 allow"), std::string::npos) << run.out;
  // The /64 keeps its record but no listing: it no longer hides the /48's block.
  auto clear = request(Verb::Set, "2001:db8:1:2::/64");
  clear.clear = true;
  ASSERT_EQ(offline(clear).code, 0);
  const auto cleared = both(request(Verb::Get, "2001:db8:1:2::9"));
  EXPECT_NE(cleared.out.find("network    2001:db8:1::/48 block reason=\"hoster\""),
            std::string::npos)
      << cleared.out;
  EXPECT_NE(cleared.out.find("(applies at connect)"), std::string::npos) << cleared.out;
}

TEST_F(RepCommandTest, DeletingAMissingRecordSaysSoAndFails) {
  make_store();
  const auto missing = both(request(Verb::Del, "192.0.2.1"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "mxgate rep: no record for 192.0.2.1, nothing deleted\n");
  const auto deleted = both(request(Verb::Del, "192.0.2.250"));
  EXPECT_EQ(deleted.code, 0);
  EXPECT_EQ(deleted.out, "192.0.2.250 deleted\n");
}

TEST_F(RepCommandTest, ClearLiftsTheListingAndKeepsCountersAndHistory) {
  make_store();
  {  // the history the block left: three refusals today
    auto store =
        storage::ReputationStore::open(config_.storage.path, policy::store_options(config_));
    std::string problem;
    const auto target = postmaster::parse_target("192.0.2.250", store->options(), problem);
    ASSERT_TRUE(target) << problem;
    reputation::Counters rejected;
    rejected.rejected = 3;
    const auto now = postmaster::wall_seconds();
    ASSERT_FALSE(store->add(Family::Ip, target->key, static_cast<std::uint32_t>(now / 86400),
                            rejected, now));
    ASSERT_FALSE(store->flush());
  }
  auto clear = request(Verb::Set, "192.0.2.250");
  clear.clear = true;
  const auto run = both(clear);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "192.0.2.250 no longer blocked; its counters and history are kept\n");
  const auto shown = offline(request(Verb::Get, "192.0.2.250"));
  EXPECT_NE(shown.out.find("listing    none"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(" rejected=3 "), std::string::npos) << shown.out;

  const auto again = both(clear);
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out, "192.0.2.250 was not listed; nothing changed\n");
  clear.target = "192.0.2.1";
  const auto missing = both(clear);
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "mxgate rep: no record for 192.0.2.1, nothing to clear\n");
}

}  // namespace
}  // namespace mxgate::admin
