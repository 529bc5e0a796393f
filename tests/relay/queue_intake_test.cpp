// QueueIntake with a real spool in a temp directory: what is committed, and the envelope's
// quarantine mark when the end of data quarantines the message.
#include "relay/queue_intake.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <optional>
#include <random>

#include "tests/relay/harness.hpp"

namespace mxgate::relay {
namespace {

namespace asio = boost::asio;
using testing::addr;
using testing::kAlice;
using testing::kBob;
using testing::mail_from;

class QueueIntakeTest : public ::testing::Test {
 protected:
  QueueIntakeTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("mxgate-intake-test-" + std::to_string(std::random_device{}()))),
        spool_(storage::Spool::open(dir_)) {}
  ~QueueIntakeTest() override {
    spool_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One transaction to bob@example.com; `reroute`: the end of data quarantined it.
  smtp::Reply send(const Router& router, bool reroute) {
    QueueIntake intake(*spool_, io_.get_executor(), router, client_, metrics_,
                       [this](storage::Envelope envelope, std::string body) {
                         queued_ = std::move(envelope);
                         body_ = std::move(body);
                       });
    std::optional<smtp::Reply> reply;
    asio::co_spawn(io_, transaction(intake, reroute),
                   [&](std::exception_ptr, smtp::Reply r) { reply = std::move(r); });
    io_.run();
    return reply.value_or(smtp::Reply{});
  }
  static asio::awaitable<smtp::Reply> transaction(QueueIntake& intake, bool reroute) {
    intake.mail(mail_from(kAlice));
    (void)co_await intake.rcpt(kBob);
    (void)co_await intake.data();
    if (reroute) {
      const bool moved = co_await intake.reroute_to_quarantine();
      if (!moved) co_return smtp::Reply{};
    }
    (void)co_await intake.content("Subject: q\r\n\r\nbody\r\n");
    co_return co_await intake.end();
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Spool> spool_;
  asio::io_context io_;
  prometheus::Registry registry_;
  RelayMetrics metrics_{registry_};
  std::string client_ = "192.0.2.7";
  std::optional<storage::Envelope> queued_;
  std::string body_;
};

const std::vector<conf::Route> kRoutes = {{{"example.com"}, {{"127.0.0.1", 25}}, false}};

TEST_F(QueueIntakeTest, EndOfDataQuarantineMarksTheEnvelope) {
  const Router router(kRoutes, {{"127.0.0.1", 2525}});
  EXPECT_EQ(send(router, true).code, 250);
  ASSERT_TRUE(queued_);
  EXPECT_TRUE(queued_->quarantine);
  EXPECT_EQ(body_, "Subject: q\r\n\r\nbody\r\n");
}

TEST_F(QueueIntakeTest, WithoutAQuarantineRouteTheEnvelopeIsNotMarked) {
  const Router router(kRoutes);
  EXPECT_EQ(send(router, true).code, 250);
  ASSERT_TRUE(queued_);
  EXPECT_FALSE(queued_->quarantine);
}

TEST_F(QueueIntakeTest, AMessageNotQuarantinedIsNotMarked) {
  const Router router(kRoutes, {{"127.0.0.1", 2525}});
  EXPECT_EQ(send(router, false).code, 250);
  ASSERT_TRUE(queued_);
  EXPECT_FALSE(queued_->quarantine);
}

}  // namespace
}  // namespace mxgate::relay
