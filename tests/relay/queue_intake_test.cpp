// QueueIntake with a real spool in a temp directory: what is committed, and the envelope's
// quarantine mark when the end of data quarantines the message.
#include "relay/queue_intake.hpp"

#include <fmt/format.h>
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

  // One transaction to bob@example.com; `reroute`: the end of data quarantined it. The content
  // is passed on in pieces of `chunk` octets.
  smtp::Reply send(const Router& router, bool reroute,
                   std::string_view content = "Subject: q\r\n\r\nbody\r\n",
                   std::size_t chunk = 65536) {
    QueueIntake intake(*spool_, io_.get_executor(), router, client_, metrics_,
                       [this](storage::Envelope envelope, std::optional<std::string> body) {
                         queued_ = std::move(envelope);
                         body_ = std::move(body);
                       });
    std::optional<smtp::Reply> reply;
    asio::co_spawn(io_, transaction(intake, reroute, content, chunk),
                   [&](std::exception_ptr, smtp::Reply r) { reply = std::move(r); });
    io_.run();
    return reply.value_or(smtp::Reply{});
  }
  static asio::awaitable<smtp::Reply> transaction(QueueIntake& intake, bool reroute,
                                                  std::string_view content, std::size_t chunk) {
    intake.mail(mail_from(kAlice));
    (void)co_await intake.rcpt(kBob);
    (void)co_await intake.data();
    if (reroute) {
      const bool moved = co_await intake.reroute_to_quarantine();
      if (!moved) co_return smtp::Reply{};
    }
    for (std::size_t at = 0; at < content.size(); at += chunk) {
      const bool passed = co_await intake.content(content.substr(at, chunk));
      if (!passed) co_return smtp::Reply{};
    }
    co_return co_await intake.end();
  }
  static std::string message_of(std::size_t size) {
    std::string message = "Subject: big\r\n\r\n";
    for (std::size_t line = 0; message.size() < size; ++line) {
      message += fmt::format("line {:08} of a large message .................................\r\n",
                             line);
    }
    message.resize(size - 2);
    return message + "\r\n";  // exactly `size` octets
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Spool> spool_;
  asio::io_context io_;
  prometheus::Registry registry_;
  RelayMetrics metrics_{registry_};
  std::string client_ = "192.0.2.7";
  std::optional<storage::Envelope> queued_;
  std::optional<std::string> body_;
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

TEST_F(QueueIntakeTest, AMessageOfOnePieceIsHandedOnWithItsContent) {
  const Router router(kRoutes);
  const std::string message = message_of(storage::kBodyPiece);
  EXPECT_EQ(send(router, false, message).code, 250);
  ASSERT_TRUE(queued_ && body_);
  EXPECT_EQ(*body_, message);
  EXPECT_EQ(queued_->size, message.size());
  EXPECT_EQ(spool_->body(queued_->id), message);
}

// Pieces beyond the first leave memory as they arrive; the spool has the message whole, and the
// runner reads it from there.
TEST_F(QueueIntakeTest, ALargeMessageIsStagedInPiecesAndCommittedWhole) {
  const Router router(kRoutes);
  for (const std::size_t chunk : {std::size_t{1000}, std::size_t{65536}, std::size_t{3} << 20}) {
    SCOPED_TRACE(chunk);
    const std::string message = message_of(3 * storage::kBodyPiece + 12345);
    queued_.reset();
    io_.restart();
    EXPECT_EQ(send(router, false, message, chunk).code, 250);
    ASSERT_TRUE(queued_);
    EXPECT_FALSE(body_);  // not in memory
    EXPECT_EQ(queued_->size, message.size());
    const auto stored = spool_->envelope(queued_->id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->size, message.size());
    EXPECT_EQ(spool_->body(queued_->id), message);
    const auto first = spool_->body_piece(queued_->id, 0);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->size(), storage::kBodyPiece);
    EXPECT_EQ(metrics_.queue_receiving_bytes.Value(), 0);
  }
}

// RSET or a lost client in the middle of a large message: the receiving gauge counts its staged
// pieces, and they are given up.
TEST_F(QueueIntakeTest, AnAbandonedLargeMessageIsGivenUp) {
  const Router router(kRoutes);
  QueueIntake intake(*spool_, io_.get_executor(), router, client_, metrics_);
  const std::string part = message_of(3 * storage::kBodyPiece + 10);
  std::optional<bool> passed;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<bool> {
        intake.mail(mail_from(kAlice));
        (void)co_await intake.rcpt(kBob);
        (void)co_await intake.data();
        co_return co_await intake.content(part);
      },
      [&](std::exception_ptr, bool ok) { passed = ok; });
  io_.run();
  ASSERT_EQ(passed, true);
  EXPECT_EQ(metrics_.queue_receiving_bytes.Value(), 3.0 * storage::kBodyPiece);
  intake.abort();
  io_.restart();
  io_.run();
  EXPECT_EQ(metrics_.queue_receiving_bytes.Value(), 0);
}

}  // namespace
}  // namespace mxgate::relay
