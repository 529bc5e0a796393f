// `mxgate queue` (admin/queue_command.hpp) on a stopped server, as a user sees it: a spool that
// is not there is never made, inline mode says there is no queue unless an old spool still
// holds messages, and the exit codes (1 for an unknown id).
#include "admin/queue_command.hpp"

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"
#include "tests/admin/tool_fixture.hpp"

namespace mxgate::admin {
namespace {

using testing::capture;
using testing::ToolRun;
using Verb = QueueRequest::Verb;
using Mode = conf::RelayConfig::Mode;

QueueRequest request(Verb verb, std::string id = {}) {
  QueueRequest r;
  r.verb = verb;
  r.id = std::move(id);
  return r;
}

class QueueCommandTest : public testing::ToolTest {
 protected:
  ToolRun run(const QueueRequest& r) {
    return capture([&] { return run_queue_command(config_, r); });
  }

  // A spool with `count` messages, as a server in queue mode left it; their ids.
  std::vector<std::string> make_spool(int count) {
    auto spool = storage::Spool::open(config_.queue.path);
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      storage::Envelope e;
      e.id = spool->make_id();
      e.mail_from = "sender@example.org";
      e.recipients = {{"user@example.com", {}, ""}};
      e.created_ms = e.due_ms = common::unix_millis();
      e.size = 6;
      EXPECT_FALSE(spool->commit(e, "body\r\n"));
      ids.push_back(e.id);
    }
    return ids;
  }

  std::string inline_text() const {
    return "mxgate queue: queue mode is off (relay.mode = \"inline\" in " +
           config_.source.string() + "); there is no queue";
  }
};

TEST_F(QueueCommandTest, InlineModeWithoutASpoolSaysThereIsNoQueueAndMakesNothing) {
  config_.relay.mode = Mode::Inline;
  for (const auto verb : {Verb::Stats, Verb::List}) {
    const auto result = run(request(verb));
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, inline_text() + "\n");
  }
  EXPECT_EQ(run(request(Verb::Show, "0123")).code, 1);
  EXPECT_FALSE(std::filesystem::exists(config_.storage.path));
}

TEST_F(QueueCommandTest, InlineModeWithAnEmptyOldSpoolSaysThereIsNoQueue) {
  make_spool(0);
  config_.relay.mode = Mode::Inline;
  const auto result = run(request(Verb::List));
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(result.err.starts_with(inline_text() + " (the spool at ")) << result.err;
  EXPECT_NE(result.err.find("from an earlier queue-mode period is empty)"), std::string::npos);
}

TEST_F(QueueCommandTest, InlineModeWorksOnAnOldSpoolThatStillHoldsMessagesAndSaysSo) {
  const auto ids = make_spool(2);
  config_.relay.mode = Mode::Inline;
  const auto listed = run(request(Verb::List));
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find(ids[0] + "  "), std::string::npos) << listed.out;
  EXPECT_TRUE(listed.out.ends_with("-- 2 messages queued\n")) << listed.out;
  EXPECT_NE(listed.err.find("queue mode is off (relay.mode = \"inline\" in "), std::string::npos);
  EXPECT_NE(listed.err.find("from an earlier queue-mode period holds 2 messages (0 dead); "
                            "working on it. Only mxgate in queue mode delivers them."),
            std::string::npos)
      << listed.err;
  // Drained by hand: once empty, there is no queue again.
  for (const auto& id : ids) EXPECT_EQ(run(request(Verb::Delete, id)).code, 0);
  EXPECT_EQ(run(request(Verb::Stats)).code, 1);
}

TEST_F(QueueCommandTest, QueueModeWithoutASpoolSaysWhereItLookedAndMakesNothing) {
  config_.relay.mode = Mode::Queue;
  const auto result = run(request(Verb::Stats));
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "mxgate queue: no queue at " + config_.queue.path + " (queue.path in " +
                            config_.source.string() +
                            "); start mxgate once in queue mode to create it, or check -c\n");
  EXPECT_FALSE(std::filesystem::exists(config_.storage.path));
}

TEST_F(QueueCommandTest, AnUnknownIdIsAFailureAndAKnownOneWorks) {
  const auto ids = make_spool(1);
  config_.relay.mode = Mode::Queue;
  const auto unknown = run(request(Verb::Show, "0123456789ABCDEF"));
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.err, "mxgate queue: no queued message 0123456789ABCDEF\n");
  const auto shown = run(request(Verb::Show, ids[0]));
  EXPECT_EQ(shown.code, 0);
  EXPECT_NE(shown.out.find("<sender@example.org>"), std::string::npos);
  const auto stats = run(request(Verb::Stats));
  EXPECT_EQ(stats.code, 0);
  EXPECT_TRUE(stats.out.starts_with("depth 1\n")) << stats.out;
  // Changes say what they did, not nothing.
  EXPECT_EQ(run(request(Verb::Retry, ids[0])).out, ids[0] + " due now\n");
  EXPECT_EQ(run(request(Verb::Delete, ids[0])).out, ids[0] + " deleted\n");
  EXPECT_EQ(run(request(Verb::Delete, ids[0])).code, 1);
}

}  // namespace
}  // namespace mxgate::admin
