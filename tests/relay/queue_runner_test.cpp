// The queue runner without sockets: a real spool in a temp directory, a fake downstream, and a
// manual clock for the retry waits, the polls and the message ages.
#include "relay/queue_runner.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <random>

#include "relay/dsn.hpp"
#include "relay/metrics.hpp"
#include "relay/outbound.hpp"
#include "io/manual_time.hpp"
#include "tests/dns/fake_resolver.hpp"
#include "tests/relay/fake_transaction.hpp"

namespace mxgate::relay {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using storage::SpoolRecipient;
using testing::FakeDownstream;
using testing::FakeTransaction;

constexpr std::string_view kBody = "Subject: hello\r\n\r\nbody\r\n";

class QueueRunnerTest : public ::testing::Test {
 protected:
  QueueRunnerTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("mxgate-runner-test-" + std::to_string(std::random_device{}()))),
        spool_(storage::Spool::open(dir_)) {
    clock_.set_wall(std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000)));
    config_->server.hostname = "mx.example.net";
    config_->queue.retry = {1min, 5min};
    config_->queue.max_age = 1h;
    config_->queue.poll_interval = 1s;
  }
  ~QueueRunnerTest() override {
    runner_.reset();
    spool_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    runner_ = std::make_unique<QueueRunner>(
        io_.get_executor(), QueueShared{*spool_, claims_, io_.get_executor(), io_.get_executor()},
        [this](const Router& router) {
          routes_.push_back(router.route(0));
          return std::make_unique<FakeTransaction>(downstream_);
        },
        resolver_, metrics_, clock_);
    runner_->configure(config_, router_);
    runner_->start();
    io::run_due(io_);
  }
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.wall_now().time_since_epoch())
        .count();
  }
  // Commits a message from a@example.org to `recipients`, created `age` ago.
  storage::Envelope queue(std::vector<std::string> recipients, std::string from = "a@example.org",
                          std::chrono::milliseconds age = 0ms) {
    storage::Envelope envelope;
    envelope.id = spool_->make_id();
    envelope.mail_from = std::move(from);
    for (auto& r : recipients)
      envelope.recipients.push_back({r, SpoolRecipient::State::Pending, ""});
    envelope.created_ms = now_ms() - age.count();
    envelope.due_ms = now_ms();
    envelope.client_ip = "192.0.2.7";
    envelope.client_helo = "client.example.org";
    envelope.client_esmtp = true;
    envelope.size = kBody.size();
    EXPECT_FALSE(spool_->commit(envelope, kBody));
    return envelope;
  }
  // As queue() for a body of `pieces` staged pieces and a short last one, as QueueIntake
  // stores a large message; returns the body.
  std::string queue_staged(storage::Envelope& envelope, std::uint32_t pieces,
                           std::vector<std::string> recipients) {
    envelope = queue(std::move(recipients));
    EXPECT_FALSE(spool_->finish(envelope));
    envelope.id = spool_->make_id();
    std::string body = "Subject: large\r\n\r\n";
    body.resize(pieces * storage::kBodyPiece, 'x');
    for (std::uint32_t i = 0; i < pieces; ++i) {
      EXPECT_FALSE(spool_->stage(envelope.id, i,
                                 std::string_view(body).substr(i * storage::kBodyPiece,
                                                               storage::kBodyPiece)));
    }
    envelope.size = body.size() + 6;
    EXPECT_FALSE(spool_->commit(envelope, "\r\nend\r\n", pieces));
    return body + "\r\nend\r\n";
  }
  void advance(common::Clock::duration step) { io::advance(io_, clock_, step); }
  std::size_t depth() { return spool_->stats().depth; }

  common::ManualClock clock_;
  io::ClockOverride use_{clock_};
  asio::io_context io_;
  dns::testing::FakeResolver resolver_{io_.get_executor()};
  std::filesystem::path dir_;
  std::unique_ptr<storage::Spool> spool_;
  QueueClaims claims_{clock_};
  prometheus::Registry registry_;
  RelayMetrics metrics_{registry_};
  std::shared_ptr<conf::Config> config_ = std::make_shared<conf::Config>();
  std::shared_ptr<const Router> router_ = std::make_shared<Router>(
      std::vector<conf::Route>{{{"example.com", "example.org"}, {{"192.0.2.25", 25}}}});
  std::vector<conf::Route> routes_;  // the first route of every transaction's router
  std::shared_ptr<FakeDownstream> downstream_ = std::make_shared<FakeDownstream>();
  std::unique_ptr<QueueRunner> runner_;
};

TEST_F(QueueRunnerTest, AMessageHandedOverIsDeliveredAtOnceAndLeavesTheSpool) {
  start();
  auto envelope = queue({"b@example.com"});
  runner_->deliver_now(envelope, std::string(kBody));
  io::run_due(io_);
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(downstream_->delivered[0].mail_from, "a@example.org");
  EXPECT_EQ(downstream_->delivered[0].content, kBody);
  // The client as the spool kept it, for a route that forwards it.
  EXPECT_EQ(downstream_->delivered[0].client,
            (smtp::ClientIdentity{"192.0.2.7", "", "client.example.org", true}));
  EXPECT_EQ(depth(), 0u);
  EXPECT_EQ(metrics_.queue_deliveries_done.Value(), 1);
}

TEST_F(QueueRunnerTest, AMessageLeftInTheSpoolIsFoundByThePoll) {
  queue({"b@example.com"});
  start();
  EXPECT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(depth(), 0u);
}

TEST_F(QueueRunnerTest, ATemporaryFailureIsRetriedAfterTheFirstWait) {
  downstream_->rcpt_replies["b@example.com"] = smtp::Reply::make(451, "4.2.0", "Try later");
  start();
  queue({"b@example.com"});
  advance(1s);  // the next poll finds it
  EXPECT_EQ(downstream_->delivered.size(), 0u);
  EXPECT_EQ(metrics_.queue_deliveries_deferred.Value(), 1);
  ASSERT_EQ(depth(), 1u);
  downstream_->rcpt_replies.clear();
  advance(50s);  // queue.retry[0] is 1 minute, +-10%
  EXPECT_EQ(downstream_->delivered.size(), 0u);
  advance(20s);
  EXPECT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(depth(), 0u);
}

TEST_F(QueueRunnerTest, APermanentFailureBouncesToTheSender) {
  downstream_->rcpt_replies["nobody@example.com"] = smtp::Reply::make(550, "5.1.1", "No such user");
  start();
  auto envelope = queue({"nobody@example.com", "b@example.com"});
  runner_->deliver_now(envelope, std::string(kBody));
  io::run_due(io_);
  advance(1s);  // the poll delivers the DSN
  ASSERT_EQ(downstream_->delivered.size(), 2u);
  EXPECT_EQ(downstream_->delivered[0].recipients, std::vector<std::string>{"b@example.com"});
  const auto& bounce = downstream_->delivered[1];
  EXPECT_EQ(bounce.mail_from, "");  // RFC 5321 §6.1: the null reverse-path
  EXPECT_EQ(bounce.recipients, std::vector<std::string>{"a@example.org"});
  EXPECT_NE(bounce.content.find("nobody@example.com"), std::string::npos);
  EXPECT_NE(bounce.content.find("550 5.1.1 No such user"), std::string::npos);
  EXPECT_EQ(metrics_.queue_dsns.Value(), 1);
  EXPECT_EQ(depth(), 0u);
}

// A large message is sent from the spool piece by piece, handed over or found by the poll.
TEST_F(QueueRunnerTest, AStagedMessageIsDeliveredFromTheSpoolWhole) {
  start();
  storage::Envelope handed, polled;
  const std::string first = queue_staged(handed, 3, {"b@example.com"});
  runner_->deliver_now(handed, std::nullopt);
  io::run_due(io_);
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(downstream_->delivered[0].content, first);
  const std::string second = queue_staged(polled, 2, {"c@example.com"});
  advance(1s);
  ASSERT_EQ(downstream_->delivered.size(), 2u);
  EXPECT_EQ(downstream_->delivered[1].content, second);
  EXPECT_EQ(depth(), 0u);
  EXPECT_FALSE(spool_->body_piece(handed.id, 0));
  EXPECT_FALSE(spool_->body_piece(polled.id, 2));
}

// The DSN of a large message quotes its header section, read from the spool.
TEST_F(QueueRunnerTest, AStagedMessageThatFailsBouncesWithItsHeader) {
  downstream_->rcpt_replies["nobody@example.com"] = smtp::Reply::make(550, "5.1.1", "No such user");
  start();
  storage::Envelope envelope;
  queue_staged(envelope, 2, {"nobody@example.com"});
  advance(1s);
  advance(1s);  // the DSN goes out
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  const auto& bounce = downstream_->delivered[0];
  EXPECT_EQ(bounce.recipients, std::vector<std::string>{"a@example.org"});
  EXPECT_NE(bounce.content.find("Subject: large"), std::string::npos);
  EXPECT_LT(bounce.content.size(), 100u * 1024);
}

// A piece missing from the spool (damage) defers the message: it is neither lost nor sent
// short.
TEST_F(QueueRunnerTest, AStagedMessageWithAPieceMissingIsDeferredNotSentShort) {
  start();
  storage::Envelope envelope;
  queue_staged(envelope, 2, {"b@example.com"});
  envelope.size += storage::kBodyPiece;  // says one more piece than the spool has
  ASSERT_FALSE(spool_->reschedule(envelope, envelope.due_ms));
  advance(1s);
  EXPECT_EQ(downstream_->delivered.size(), 0u);
  EXPECT_EQ(metrics_.queue_deliveries_deferred.Value(), 1);
  EXPECT_EQ(depth(), 1u);
}

TEST_F(QueueRunnerTest, AMessageOlderThanMaxAgeIsBouncedInsteadOfRetried) {
  downstream_->rcpt_replies["b@example.com"] = smtp::Reply::make(451, "4.2.0", "Try later");
  start();
  queue({"b@example.com"}, "a@example.org", 2h);
  advance(1s);
  EXPECT_EQ(metrics_.queue_deliveries_expired.Value(), 1);
  downstream_->rcpt_replies.clear();
  advance(1s);  // the DSN goes out
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(downstream_->delivered[0].recipients, std::vector<std::string>{"a@example.org"});
  EXPECT_EQ(depth(), 0u);
}

TEST_F(QueueRunnerTest, ABounceThatFailsIsDeadLetteredNotBouncedAgain) {
  downstream_->rcpt_replies["gone@example.org"] = smtp::Reply::make(550, "5.1.1", "Gone");
  start();
  queue({"gone@example.org"}, "");  // a bounce
  advance(1s);
  EXPECT_EQ(metrics_.queue_deliveries_dead.Value(), 1);
  EXPECT_EQ(metrics_.queue_dsns.Value(), 0);
  EXPECT_EQ(depth(), 0u);
  EXPECT_EQ(spool_->stats().dead, 1u);
}

// A DSN for a sender outside every route goes to the sender domain's exchanger (issue 20).
TEST_F(QueueRunnerTest, ADsnToAnOutsideDomainGoesToItsMailExchanger) {
  downstream_->rcpt_replies["nobody@example.com"] = smtp::Reply::make(550, "5.1.1", "No such user");
  resolver_.set("sender.test", dns::RecordType::MX,
                [] {
                  auto r = dns::make_response(dns::Outcome::Answer);
                  r.records.push_back(dns::Record{"sender.test", dns::RecordType::MX, 300,
                                                  dns::MxData{10, "mx.sender.test"}});
                  return r;
                }());
  resolver_.set("mx.sender.test", dns::RecordType::A,
                dns::testing::a_answer(300, {"192.0.2.50"}));
  start();
  queue({"nobody@example.com"}, "a@sender.test");
  advance(1s);
  advance(1s);  // the DSN goes out
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(downstream_->delivered[0].mail_from, "");
  EXPECT_EQ(downstream_->delivered[0].recipients, std::vector<std::string>{"a@sender.test"});
  ASSERT_EQ(routes_.size(), 2u);
  EXPECT_EQ(routes_[1].domains, std::vector<std::string>{"sender.test"});
  EXPECT_EQ(routes_[1].downstream, (std::vector<conf::HostPort>{{"192.0.2.50", 25}}));
  EXPECT_EQ(metrics_.dsn_destinations[static_cast<int>(Destination::Kind::Mx)]->Value(), 1);
  EXPECT_EQ(depth(), 0u);
}

// RFC 7505: a null MX takes no mail; the DSN is dropped (not dead-lettered) and logged.
TEST_F(QueueRunnerTest, ADsnToANullMxDomainIsDropped) {
  resolver_.set("sender.test", dns::RecordType::MX,
                [] {
                  auto r = dns::make_response(dns::Outcome::Answer);
                  r.records.push_back(dns::Record{"sender.test", dns::RecordType::MX, 300,
                                                  dns::MxData{0, "."}});
                  return r;
                }());
  start();
  queue({"a@sender.test"}, "");  // a client's message with the null sender
  storage::Envelope bounce = queue({"a@sender.test"}, "");
  bounce.client_ip = std::string(kOwnMail);
  ASSERT_FALSE(spool_->reschedule(bounce, bounce.due_ms));
  advance(1s);
  // The client's message with a null sender is an ordinary message: its route, no lookup.
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(routes_.at(0).downstream, (std::vector<conf::HostPort>{{"192.0.2.25", 25}}));
  EXPECT_EQ(resolver_.calls(), 1);
  EXPECT_EQ(metrics_.queue_deliveries_dropped.Value(), 1);
  EXPECT_EQ(metrics_.queue_deliveries_dead.Value(), 0);
  EXPECT_EQ(metrics_.dsn_destinations[static_cast<int>(Destination::Kind::NullMx)]->Value(), 1);
  EXPECT_EQ(depth(), 0u);
  EXPECT_EQ(spool_->stats().dead, 0u);
}

// A DNS failure is temporary: the DSN waits for the queue's next retry.
TEST_F(QueueRunnerTest, ADsnWhoseLookupFailsIsRetried) {
  resolver_.set("sender.test", dns::RecordType::MX, dns::testing::negative(dns::Outcome::ServFail));
  start();
  storage::Envelope bounce = queue({"a@sender.test"}, "");
  bounce.client_ip = std::string(kOwnMail);
  ASSERT_FALSE(spool_->reschedule(bounce, bounce.due_ms));
  advance(1s);
  EXPECT_EQ(metrics_.queue_deliveries_deferred.Value(), 1);
  EXPECT_EQ(depth(), 1u);
  resolver_.set("sender.test", dns::RecordType::A, dns::testing::a_answer(300, {"192.0.2.60"}));
  resolver_.set("sender.test", dns::RecordType::MX, dns::testing::negative(dns::Outcome::NoData));
  advance(70s);  // the first wait (1 min +-10%)
  ASSERT_EQ(downstream_->delivered.size(), 1u);
  EXPECT_EQ(routes_.back().downstream, (std::vector<conf::HostPort>{{"192.0.2.60", 25}}));
  EXPECT_EQ(depth(), 0u);
}

TEST_F(QueueRunnerTest, AClaimedMessageIsLeftToItsHolder) {
  auto envelope = queue({"b@example.com"});
  ASSERT_TRUE(claims_.claim(envelope.id));  // e.g. `mxgate queue` holds it
  start();
  advance(1s);
  EXPECT_EQ(downstream_->delivered.size(), 0u);
  claims_.release(envelope.id);
  advance(1s);
  EXPECT_EQ(downstream_->delivered.size(), 1u);
}

}  // namespace
}  // namespace mxgate::relay
