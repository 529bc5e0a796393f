// The SMTP session in memory: a real Session, SessionPolicy and reputation store, a fake
// downstream and an in-memory transport, on a manual clock. What the tests assert is what the
// client would see: the reply lines, what reached the downstream, when a reply came.
#include "server/session.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "auth/dkim_key_cache.hpp"
#include "dns/caching_resolver.hpp"
#include "io/manual_time.hpp"
#include "policy/metrics.hpp"
#include "policy/pass_memory.hpp"
#include "policy/throttling.hpp"
#include "policy/verdict_metrics.hpp"
#include "server/metrics.hpp"
#include "tests/dns/fake_resolver.hpp"
#include "tests/relay/fake_transaction.hpp"
#include "tests/server/memory_io.hpp"

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using relay::testing::FakeDownstream;
using relay::testing::FakeTransaction;
using testing::Pipe;

constexpr const char* kClient = "192.0.2.7";

conf::Config test_config() {
  conf::Config config;
  config.server.hostname = "mx.example.net";
  config.relay.helo_name = config.server.hostname;
  config.auth.authserv_id = config.server.hostname;
  config.routes = {conf::Route{{"example.com"}, {{"127.0.0.1", 25}}, false}};
  config.pregreet.enabled = false;
  config.throttle.tarpit_after = 0;
  return config;
}

// The worker's side of a session: a temp store (whose tmp/ takes spilled content), the policy's
// shared state, the fake downstream; with `dns`, a scripted resolver (messages are then
// authenticated).
class FakeWorker final : public SessionServices {
 public:
  FakeWorker(asio::io_context& io, conf::Config config, bool dns = false)
      : dir_(std::filesystem::temp_directory_path() /
             ("mxgate-session-test-" + std::to_string(std::random_device{}()))),
        store_(storage::ReputationStore::open(dir_, {})),
        throttling_(config.throttle, registry_),
        policy_{*store_, io.get_executor(), policy_metrics_, verdicts_, passes_, &throttling_},
        dns_(io.get_executor()),
        budget_(config.content.memory_budget) {
    config.storage.path = dir_.string();
    if (dns) {
      policy_.resolver = &resolver_;
      policy_.dkim_keys = &keys_;
    }
    snapshot_ = make_snapshot(std::move(config), monitor_);
  }
  ~FakeWorker() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<const Snapshot> snapshot() const override { return snapshot_; }
  const policy::Services& policy() const override { return policy_; }
  ServerMetrics& metrics() override { return metrics_; }
  std::unique_ptr<relay::Transaction> make_transaction(const Snapshot&,
                                                       const std::string&) override {
    return std::make_unique<FakeTransaction>(downstream);
  }
  ConnectionLimiter::Ticket admit(const asio::ip::address& client,
                                  ConnectionLimiter::Refusal& refusal) override {
    return limiter_.acquire(client, refusal);
  }
  std::uint32_t active_sessions() const override { return 1; }
  content::ContentBudget& content_budget() override { return budget_; }
  milter::Pool* milter_pool() override { return nullptr; }
  ServerMetrics& server_metrics() { return metrics_; }
  dns::testing::FakeResolver& dns() { return dns_; }
  const std::filesystem::path& dir() const { return dir_; }

  // STARTTLS offered: the memory transport's handshake needs no real context.
  void offer_tls() {
    auto next = std::make_shared<Snapshot>(*snapshot_);
    next->tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    next->smtp.starttls_available = true;
    snapshot_ = std::move(next);
  }
  storage::ReputationStore& store() { return *store_; }

  std::shared_ptr<FakeDownstream> downstream = std::make_shared<FakeDownstream>();

 private:
  std::filesystem::path dir_;
  prometheus::Registry registry_;
  ServerMetrics metrics_{registry_};
  policy::PolicyMetrics policy_metrics_{registry_};
  policy::VerdictMetrics verdicts_{registry_};
  policy::PassMemory passes_;
  policy::DnsblMonitor monitor_{registry_};
  std::unique_ptr<storage::ReputationStore> store_;
  policy::Throttling throttling_;
  ConnectionLimiter limiter_;
  policy::Services policy_;
  dns::testing::FakeResolver dns_;
  common::SteadyClock dns_clock_;
  dns::CachingResolver resolver_{dns_, dns_clock_, dns::CacheSettings{}};
  auth::DkimKeyCache keys_;
  content::ContentBudget budget_;
  std::shared_ptr<const Snapshot> snapshot_;
};

// What the default logger writes while it lives: the message of each line, one per line.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines_starting(std::string_view word) const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(word)) lines.push_back(line);
    }
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

asio::awaitable<void> run(std::unique_ptr<Session> session, bool* ended) {
  co_await session->run();
  *ended = true;
}

class SessionTest : public ::testing::Test {
 protected:
  explicit SessionTest(conf::Config config = test_config(), bool dns = false)
      : worker_(io_, std::move(config), dns) {}

  // Starts a session; its greeting (or refusal) is what take() returns first.
  void start() {
    pipe_ = std::make_shared<Pipe>(io_.get_executor());
    auto session = std::make_unique<Session>(
        worker_, std::make_shared<testing::MemoryIo>(io_.get_executor(), pipe_, kClient),
        ConnectionLimiter::Ticket{}, false);
    session_ = session.get();
    asio::co_spawn(io_, run(std::move(session), &ended_), asio::detached);
    io::run_due(io_);
  }
  // Sends `bytes` and returns what the session wrote in answer.
  std::string say(std::string_view bytes) {
    pipe_->send(bytes);
    io::run_due(io_);
    return pipe_->take();
  }
  std::string advance(common::Clock::duration step) {
    io::advance(io_, clock_, step);
    return pipe_->take();
  }
  std::string greet() {
    start();
    return pipe_->take();
  }

  common::ManualClock clock_;
  io::ClockOverride use_{clock_};
  asio::io_context io_;
  FakeWorker worker_;
  std::shared_ptr<Pipe> pipe_;
  Session* session_ = nullptr;  // valid until ended_
  bool ended_ = false;
};

constexpr std::string_view kEnvelope =
    "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n";

TEST_F(SessionTest, GreetsRelaysAMessageAndSaysGoodbye) {
  EXPECT_EQ(greet(), "220 mx.example.net ESMTP mxgate\r\n");
  const auto envelope = say(kEnvelope);
  EXPECT_NE(envelope.find("250-mx.example.net\r\n250-PIPELINING\r\n"), std::string::npos);
  EXPECT_TRUE(envelope.ends_with("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n")) << envelope;
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(say("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: delivered\r\n");
  EXPECT_EQ(say("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(ended_);
  ASSERT_EQ(worker_.downstream->delivered.size(), 1u);
  const auto& message = worker_.downstream->delivered[0];
  EXPECT_EQ(message.mail_from, "a@example.org");
  EXPECT_EQ(message.recipients, std::vector<std::string>{"b@example.com"});
  // Who the client was, for a route that forwards it (XCLIENT/XFORWARD); no verified name here.
  EXPECT_EQ(message.client, (smtp::ClientIdentity{"192.0.2.7", "", "client.example.org", true}));
  // Our Received header first (RFC 5321 §4.4), then the content with its dot unstuffed.
  EXPECT_TRUE(message.content.starts_with("Received: from client.example.org ([192.0.2.7])"))
      << message.content;
  EXPECT_TRUE(message.content.ends_with("\r\nSubject: hi\r\n\r\n.dot\r\nbody\r\n"));
}

TEST_F(SessionTest, PipelinedCommandsAreAnsweredInOneWrite) {
  greet();
  const auto writes = pipe_->writes;
  say(kEnvelope);
  EXPECT_EQ(pipe_->writes, writes + 1);  // RFC 2920: one write for the whole group
}

TEST_F(SessionTest, PlaintextPipelinedBehindStartTlsIsRefused) {
  worker_.offer_tls();
  greet();
  say("EHLO client.example.org\r\n");
  EXPECT_EQ(say("STARTTLS\r\nMAIL FROM:<a@example.org>\r\n"),
            "554 5.5.1 Error: plaintext pipelined behind STARTTLS\r\n");
  EXPECT_TRUE(ended_);
  EXPECT_FALSE(pipe_->tls);
}

TEST_F(SessionTest, StartTlsStartsTheProtocolAgain) {
  worker_.offer_tls();
  greet();
  EXPECT_NE(say("EHLO client.example.org\r\n").find("250 STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(say("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(pipe_->tls);
  // RFC 3207 §4.2: the client must say EHLO again; STARTTLS is no longer offered.
  EXPECT_EQ(say("MAIL FROM:<a@example.org>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(say("EHLO client.example.org\r\n").find("STARTTLS"), std::string::npos);
}

TEST_F(SessionTest, BareLineFeedsInDataDiscardTheMessage) {
  greet();
  say(kEnvelope);
  say("DATA\r\n");
  EXPECT_EQ(say("Subject: x\r\n\r\nsmuggled\n.\r\nMAIL FROM:<evil@example.org>\r\n.\r\n"),
            "554 5.5.2 Error: bare <CR> or <LF> in message data (RFC 5321 section 2.3.8); "
            "message discarded\r\n");
  EXPECT_TRUE(worker_.downstream->delivered.empty());
  EXPECT_EQ(say("NOOP\r\n"), "250 2.0.0 Ok\r\n");  // the session goes on
}

TEST_F(SessionTest, AnIdleClientGets421AtTheCommandTimeout) {
  greet();
  say("EHLO client.example.org\r\n");
  EXPECT_EQ(advance(299s), "");
  EXPECT_EQ(advance(1s), "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");  // 5 minutes
  EXPECT_TRUE(ended_);
}

TEST_F(SessionTest, ACommandTrickledAByteAtATimeGets421AtTheCommandTimeout) {
  greet();
  say("EHLO client.example.org\r\n");
  // One byte every 100 s: each read is in time, the line is not (Postfix's per-request deadline).
  EXPECT_EQ(advance(100s), "");
  EXPECT_EQ(say("N"), "");
  EXPECT_EQ(advance(100s), "");
  EXPECT_EQ(say("O"), "");
  EXPECT_EQ(advance(99s), "");
  EXPECT_EQ(say("O"), "");
  EXPECT_EQ(advance(1s), "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
  EXPECT_TRUE(ended_);
}

TEST_F(SessionTest, EachCommandLineHasItsOwnTime) {
  greet();
  say("EHLO client.example.org\r\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(advance(299s), "");
    EXPECT_EQ(say("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  }
  EXPECT_FALSE(ended_);
}

TEST_F(SessionTest, MessageContentSlowerThanTheMinimumDataRateGets421) {
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n").substr(0, 3), "354");
  // data_timeout 3 min, 500 bytes/s: 50 bytes every 60 s earn 0.1 s each time and lose 60 s.
  const std::string line(48, 'x');
  EXPECT_EQ(say(line + "\r\n"), "");
  EXPECT_EQ(advance(60s), "");
  EXPECT_EQ(say(line + "\r\n"), "");
  EXPECT_EQ(advance(60s), "");
  EXPECT_EQ(say(line + "\r\n"), "");
  EXPECT_EQ(advance(59s), "");
  EXPECT_EQ(say(line + "\r\n"), "");
  EXPECT_EQ(advance(1s), "");  // 1.3 s were left
  EXPECT_EQ(advance(1s), "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
  EXPECT_TRUE(ended_);
  EXPECT_TRUE(worker_.downstream->delivered.empty());
}

TEST_F(SessionTest, MessageContentAtAGoodRateHasNoDeadline) {
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n").substr(0, 3), "354");
  // 100 KB every 100 s (1 KB/s, twice the minimum rate): 10 times data_timeout in all.
  EXPECT_EQ(say("From: <a@example.org>\r\nDate: Mon, 7 Dec 2026 00:00:00 +0000\r\n"
                "Message-ID: <slow@example.org>\r\nSubject: big\r\n\r\n"),
            "");
  std::string chunk;
  while (chunk.size() < 100 * 1024) chunk += std::string(98, 'x') + "\r\n";
  for (int i = 0; i < 18; ++i) {
    EXPECT_EQ(say(chunk), "");
    EXPECT_EQ(advance(100s), "");
  }
  EXPECT_EQ(say(".\r\n").substr(0, 3), "250");
  EXPECT_FALSE(ended_);
}

TEST_F(SessionTest, ADrainLetsTheTransactionFinishFirst) {
  greet();
  say(kEnvelope);
  say("DATA\r\n");
  session_->drain();
  EXPECT_EQ(say("Subject: x\r\n\r\nbody\r\n.\r\n"),
            "250 2.0.0 Ok: delivered\r\n"
            "421 4.3.2 mx.example.net Service shutting down, try again later\r\n");
  EXPECT_TRUE(ended_);
  EXPECT_EQ(worker_.downstream->delivered.size(), 1u);
}

TEST_F(SessionTest, AnIdleSessionClosesAtOnceOnADrain) {
  greet();
  say("EHLO client.example.org\r\n");
  session_->drain();
  io::run_due(io_);
  EXPECT_EQ(pipe_->take(), "421 4.3.2 mx.example.net Service shutting down, try again later\r\n");
  EXPECT_TRUE(ended_);
}

TEST_F(SessionTest, AListedClientIsRefusedInsteadOfTheBanner) {
  reputation::Listing listing;
  listing.action = reputation::ListingAction::Block;
  listing.reason = "spam trap hits";
  ASSERT_FALSE(worker_.store().set_listing(
      storage::Family::Ip, storage::ip_key(asio::ip::make_address(kClient)), listing));
  EXPECT_EQ(greet(),
            "554 5.7.1 Blocked - see https://postmaster.example.net/postmaster/?ip=192.0.2.7\r\n");
  EXPECT_TRUE(ended_);
}

TEST_F(SessionTest, ADownstreamRefusalReachesTheClient) {
  LogCapture log;
  worker_.downstream->rcpt_replies["nobody@example.com"] =
      smtp::Reply::make(550, "5.1.1", "No such user");
  greet();
  say("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(say("RCPT TO:<nobody@example.com>\r\n"), "550 5.1.1 No such user\r\n");
  EXPECT_EQ(say("DATA\r\n"), "503 5.5.1 No valid recipients\r\n");
  const auto refused = log.lines_starting("refused ");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_TRUE(refused[0].ends_with(
      " client=192.0.2.7 stage=rcpt rcpt=nobody@example.com by=relay reply=\"550 5.1.1\" "
      "reason=\"No such user\""))
      << refused[0];
}

class SessionDictionaryTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.throttle.dictionary_limit = 2;
    return c;
  }
  SessionDictionaryTest() : SessionTest(config()) {}
};

TEST_F(SessionDictionaryTest, EveryRefusalIsOneLogLineWithItsRecipient) {
  LogCapture log;
  for (const char* user : {"x1@example.com", "x2@example.com"}) {
    worker_.downstream->rcpt_replies[user] = smtp::Reply::make(550, "5.1.1", "No such user");
  }
  greet();
  say("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(say("RCPT TO:<x1@example.com>\r\n"), "550 5.1.1 No such user\r\n");
  EXPECT_EQ(say("RCPT TO:<x2@example.com>\r\n").substr(0, 4), "421 ");
  const auto refused = log.lines_starting("refused ");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_NE(refused[0].find(" stage=rcpt rcpt=x1@example.com by=relay "), std::string::npos)
      << refused[0];
  EXPECT_NE(
      refused[1].find(" stage=rcpt rcpt=x2@example.com action=drop signal=invalid_recipients "),
      std::string::npos)
      << refused[1];
}

class SessionLimitTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.server.max_recipients = 1;
    c.server.max_message_size = 1000;
    return c;
  }
  SessionLimitTest() : SessionTest(config()) {}
};

TEST_F(SessionLimitTest, ALimitsRefusalIsLoggedWithTheKeyThatSetIt) {
  LogCapture log;
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("RCPT TO:<c@example.com>\r\n"), "452 4.5.3 Too many recipients\r\n");
  EXPECT_EQ(say("MAIL FROM:<a@example.org> SIZE=5000\r\n").substr(0, 10), "503 5.5.1 ");
  say("RSET\r\n");
  EXPECT_EQ(say("MAIL FROM:<a@example.org> SIZE=5000\r\n").substr(0, 10), "552 5.3.4 ");
  const auto refused = log.lines_starting("refused ");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_TRUE(
      refused[0].ends_with(" stage=rcpt rcpt=c@example.com by=limit reply=\"452 4.5.3\" "
                           "reason=server.max_recipients"))
      << refused[0];
  EXPECT_TRUE(refused[1].ends_with(
      " stage=mail by=limit reply=\"552 5.3.4\" reason=server.max_message_size"))
      << refused[1];
}

class SessionErrorTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.server.max_errors = 3;
    c.throttle.tarpit_after = 2;
    c.throttle.tarpit_delay = 1s;
    c.throttle.tarpit_max = 4s;
    return c;
  }
  SessionErrorTest() : SessionTest(config()) {}
};

TEST_F(SessionErrorTest, RepeatedErrorsAreTarpittedThenTheSessionCloses) {
  greet();
  EXPECT_EQ(say("BOGUS\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(say("BOGUS\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  // Two errors answered: the next reply waits tarpit_delay.
  EXPECT_EQ(say("BOGUS\r\n"), "");
  EXPECT_EQ(advance(999ms), "");
  EXPECT_EQ(advance(1ms), "500 5.5.2 Error: command not recognized\r\n");
  // The fourth error is over max_errors: the delay has doubled, then 421 and the end.
  EXPECT_EQ(say("BOGUS\r\n"), "");
  EXPECT_EQ(advance(2s), "421 4.7.0 mx.example.net Error: too many errors\r\n");
  EXPECT_TRUE(ended_);
}

class GreetPauseTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.pregreet.enabled = true;
    c.pregreet.greet_pause = 6s;
    return c;
  }
  GreetPauseTest() : SessionTest(config()) {}
};

TEST_F(GreetPauseTest, APatientClientGetsTheBannerAfterThePause) {
  EXPECT_EQ(greet(), "220-mx.example.net ESMTP\r\n");
  EXPECT_EQ(advance(5s), "");
  EXPECT_EQ(advance(1s), "220 mx.example.net ESMTP mxgate\r\n");
  EXPECT_TRUE(say("EHLO client.example.org\r\n").starts_with("250-mx.example.net\r\n"));
}

TEST_F(GreetPauseTest, AClientThatTalksBeforeTheBannerIsRefused) {
  EXPECT_EQ(greet(), "220-mx.example.net ESMTP\r\n");
  const auto refusal = say("EHLO client.example.org\r\n");  // RFC 5321 §4.3.1: wait for 220
  EXPECT_EQ(refusal,
            "554 5.7.1 Blocked - see https://postmaster.example.net/postmaster/?ip=192.0.2.7\r\n");
  EXPECT_TRUE(ended_);
}

// Held content: a judged message (an untrusted client, [content] enabled) is held until its
// end of data, in memory up to content.memory_per_session, the rest in a spill file.
class HeldContentTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.content.memory_per_session = 8 * 1024;
    return c;
  }
  HeldContentTest() : SessionTest(config()) {}

  double metric(prometheus::Counter& c) { return c.Value(); }
};

std::string body_lines(std::size_t lines) {
  std::string body = "Subject: big\r\n\r\n";
  for (std::size_t i = 0; i < lines; ++i) {
    body += "line " + std::to_string(i) + " of a message that does not fit in memory\r\n";
  }
  return body;
}

TEST_F(HeldContentTest, ContentPastMemoryPerSessionSpillsAndStillRelaysByteForByte) {
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  const auto body = body_lines(5000);  // about 300 KiB
  // In pieces, as a client writes: nothing reaches the downstream before the end of data.
  for (std::size_t at = 0; at < body.size(); at += 10000) {
    EXPECT_EQ(say(body.substr(at, 10000)), "");
  }
  auto& metrics = worker_.server_metrics();
  EXPECT_EQ(metrics.held_content_bytes.Value(), 8 * 1024);
  EXPECT_EQ(metric(metrics.held_content_spills), 1);
  EXPECT_EQ(worker_.downstream->delivered.size(), 0u);
  EXPECT_EQ(say(".\r\n"), "250 2.0.0 Ok: delivered\r\n");
  ASSERT_EQ(worker_.downstream->delivered.size(), 1u);
  const auto& content = worker_.downstream->delivered[0].content;
  EXPECT_TRUE(content.starts_with("Received: from client.example.org ([192.0.2.7])")) << content;
  ASSERT_TRUE(content.ends_with(body));
  EXPECT_EQ(content.find("\r\nSubject: big\r\n"), content.size() - body.size() - 2);
  EXPECT_EQ(metric(metrics.held_content_spilled_bytes), body.size() - 8 * 1024);
  EXPECT_EQ(metrics.held_content_bytes.Value(), 0);  // given back
  EXPECT_EQ(worker_.content_budget().used(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(worker_.dir() / "tmp"));  // the spill file had no name
}

// The downstream waits for nothing while the client sends a held message (issue 22): the relay
// is released before DATA, so the 354 is the relay's own, not the downstream's.
TEST_F(HeldContentTest, DataIsAnsweredWithoutTheDownstreamWhileTheContentIsHeld) {
  worker_.downstream->data_reply = smtp::Reply::make(451, "4.3.0", "the downstream was asked");
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(say("Subject: x\r\n\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: delivered\r\n");
  say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(say("BDAT 4 LAST\r\nx\r\n\r\n"), "250 2.0.0 Ok: delivered\r\n");
  ASSERT_EQ(worker_.downstream->delivered.size(), 2u);
  EXPECT_TRUE(worker_.downstream->delivered[0].released);
  EXPECT_TRUE(worker_.downstream->delivered[1].released);
}

TEST_F(HeldContentTest, DataWithoutAnAcceptedRecipientIsStillRefused) {
  worker_.downstream->rcpt_replies["b@example.com"] =
      smtp::Reply::make(550, "5.1.1", "No such user");
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "503 5.5.1 No valid recipients\r\n");
}

TEST_F(HeldContentTest, BdatContentIsHeldAndSpillsToo) {
  greet();
  say(kEnvelope);
  const auto body = body_lines(1000);
  const auto half = body.size() / 2;
  EXPECT_EQ(say("BDAT " + std::to_string(half) + "\r\n" + body.substr(0, half)),
            "250 2.0.0 " + std::to_string(half) + " octets received\r\n");
  EXPECT_EQ(say("BDAT " + std::to_string(body.size() - half) + " LAST\r\n" + body.substr(half)),
            "250 2.0.0 Ok: delivered\r\n");
  ASSERT_EQ(worker_.downstream->delivered.size(), 1u);
  EXPECT_TRUE(worker_.downstream->delivered[0].content.ends_with("\r\n" + body));
  EXPECT_EQ(worker_.content_budget().used(), 0u);
}

TEST_F(HeldContentTest, AUsedUpBudgetRefusesDataAndBdatWith451) {
  LogCapture log;
  worker_.content_budget().set_limit(0);
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "451 4.3.1 Insufficient system resources, try again later\r\n");
  say("RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(say("BDAT 4\r\nabcd"), "451 4.3.1 Insufficient system resources, try again later\r\n");
  EXPECT_EQ(metric(worker_.server_metrics().held_content_refusals), 2);
  const auto refused = log.lines_starting("refused ");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_TRUE(
      refused[0].ends_with(" stage=data by=limit reply=\"451 4.3.1\" reason=content.memory_budget"))
      << refused[0];
  // Room again: the client's retry goes through.
  worker_.content_budget().set_limit(1 << 20);
  say("RSET\r\n");
  say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(say("Subject: x\r\n\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: delivered\r\n");
}

TEST_F(HeldContentTest, AnAbandonedMessageGivesItsMemoryBack) {
  greet();
  say(kEnvelope);
  say("DATA\r\n");
  say(body_lines(1000));
  EXPECT_GT(worker_.content_budget().used(), 0u);
  pipe_->close_client();
  io::run_due(io_);
  EXPECT_TRUE(ended_);
  EXPECT_EQ(worker_.content_budget().used(), 0u);
  EXPECT_EQ(worker_.server_metrics().held_content_bytes.Value(), 0);
  EXPECT_TRUE(worker_.downstream->delivered.empty());
}

TEST_F(HeldContentTest, ASpillFileThatCannotBeMadeGets451AndNothingIsRelayed) {
  // storage.path/tmp is a file: the spill directory cannot be made.
  std::filesystem::remove_all(worker_.dir() / "tmp");
  std::ofstream(worker_.dir() / "tmp") << "x";
  greet();
  say(kEnvelope);
  say("DATA\r\n");
  say(body_lines(1000));
  EXPECT_EQ(say(".\r\n"), "451 4.3.1 Insufficient system resources, try again later\r\n");
  EXPECT_TRUE(worker_.downstream->delivered.empty());
  EXPECT_EQ(worker_.content_budget().used(), 0u);
}

class UnjudgedContentTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.content.enabled = false;  // and no DNS: not authenticated either
    return c;
  }
  UnjudgedContentTest() : SessionTest(config()) {}
};

TEST_F(UnjudgedContentTest, AMessageThatIsNotJudgedStreamsWithoutTheBudget) {
  worker_.content_budget().set_limit(0);
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(say("Subject: x\r\n\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: delivered\r\n");
  ASSERT_EQ(worker_.downstream->delivered.size(), 1u);
  EXPECT_FALSE(worker_.downstream->delivered[0].released);  // streamed: the downstream waits
}

TEST_F(UnjudgedContentTest, DataOfAStreamedMessageIsTheDownstreamsAnswer) {
  worker_.downstream->data_reply = smtp::Reply::make(451, "4.3.0", "Try again");
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "451 4.3.0 Try again\r\n");
}

// A message quarantined at its end of data (DMARC p=quarantine) goes to the quarantine route.
class EndOfDataQuarantineTest : public SessionTest {
 protected:
  static conf::Config config() {
    auto c = test_config();
    c.reputation.quarantine_downstream = {{"127.0.0.1", 2525}};
    // Only authentication matters here: the DNS checks of the envelope have their own tests.
    for (auto& check : c.checks) {
      if (check.name == "sender_domain" || check.name == "rdns" || check.name == "helo") {
        check.mode = reputation::CheckSettings::Mode::Off;
      }
    }
    return c;
  }
  EndOfDataQuarantineTest() : SessionTest(config(), true) {
    worker_.dns().set("_dmarc.example.org", dns::RecordType::TXT,
                      txt_answer("v=DMARC1; p=quarantine"));
  }
  static dns::Response txt_answer(std::string text) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.ttl = 300;
    r.records.push_back(
        dns::Record{"fake", dns::RecordType::TXT, 300, dns::TxtData{{std::move(text)}}});
    return r;
  }
};

TEST_F(EndOfDataQuarantineTest, TheMessageIsMarkedAndRerouted) {
  greet();
  say(kEnvelope);
  EXPECT_EQ(say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(say("From: <a@example.org>\r\nSubject: x\r\n\r\nbody\r\n.\r\n"),
            "250 2.0.0 Ok: delivered\r\n");
  ASSERT_EQ(worker_.downstream->delivered.size(), 1u);
  const auto& message = worker_.downstream->delivered[0];
  EXPECT_TRUE(message.quarantined);
  EXPECT_NE(message.content.find("\r\nX-Mxgate-Quarantine: "), std::string::npos)
      << message.content;
  EXPECT_TRUE(message.content.ends_with("From: <a@example.org>\r\nSubject: x\r\n\r\nbody\r\n"));
}

}  // namespace
}  // namespace mxgate::server
