// InlineRelay against the scripted FakeServer on 127.0.0.1, one io_context per test, each run
// bounded to 2 s. Asserts what a sender would see (reply code, enhanced code, text) and the
// exact bytes that reached the downstream.
#include "relay/inline_relay.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/relay/harness.hpp"

namespace mxgate::relay {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(InlineRelay, RelaysAFullTransactionByteForByte) {
  Harness h;
  h.start();
  smtp::Command mail = mail_from(kAlice);
  mail.size = 100;
  mail.body = smtp::Body::EightBitMime;
  const Sent sent = h.send(mail, {kBob, addr("carol", "eu.example.com")},
                           {"Subject: hi\r\n\r\n.leading", " dot\r\n", ".\r\nbye\r\n"});
  ASSERT_EQ(sent.rcpt.size(), 2u);
  EXPECT_EQ(text(sent.rcpt[0]), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(sent.data.code, 354);
  EXPECT_EQ(text(sent.end), "250 2.0.0 Ok: queued as ABC\r\n");
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example> SIZE=100 BODY=8BITMIME\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "DATA\r\n"
            "Subject: hi\r\n\r\n..leading dot\r\n..\r\nbye\r\n.\r\n");
  EXPECT_EQ(h.fake_series().opened.Value(), 1);
  EXPECT_EQ(h.fake_series().relay_seconds.Collect().histogram.sample_count, 1u);
  EXPECT_EQ(h.pool->idle_count(), 1u);
}

TEST(InlineRelay, XclientTellsWhoTheClientWasAndGreetsAgainWithItsHelo) {
  FakeScript script;
  script.capabilities.push_back("XCLIENT NAME ADDR PROTO HELO");
  const std::string xclient =
      "XCLIENT NAME=mail.sender.example ADDR=192.0.2.7 PROTO=ESMTP HELO=mail.sender.example";
  script.replies[xclient] = "220 fake.test ESMTP\r\n";
  Harness h(script);
  h.start({}, false, conf::Route::ForwardClient::Xclient);
  Sent sent = h.send(mail_from(kAlice), {kBob}, {"x\r\n"});
  EXPECT_EQ(sent.end.code, 250);
  // The connection goes back to the pool; the next message's client is told again, after RSET.
  h.client = {"2001:db8::9", "", "[2001:db8::9]", false};
  h.server.script.replies["XCLIENT NAME=[UNAVAILABLE] ADDR=IPV6:2001:db8::9 PROTO=SMTP "
                          "HELO=[2001:db8::9]"] = "220 fake.test ESMTP\r\n";
  sent = h.send(mail_from(kAlice), {kBob}, {"y\r\n"});
  EXPECT_EQ(sent.end.code, 250);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\n" + xclient + "\r\nEHLO mail.sender.example\r\n"
            "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nx\r\n.\r\n"
            "RSET\r\n"
            "XCLIENT NAME=[UNAVAILABLE] ADDR=IPV6:2001:db8::9 PROTO=SMTP HELO=[2001:db8::9]\r\n"
            "EHLO [2001:db8::9]\r\n"
            "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\ny\r\n.\r\n");
  // The pooled connection speaks for that client: a recipient callout gets one of its own.
  auto ours = h.run(h.pool->acquire(h.router->route(0), true, /*as_ourselves=*/true));
  ASSERT_TRUE(ours);
  EXPECT_FALSE((*ours)->reused);
  EXPECT_FALSE((*ours)->speaks_for_client);
  EXPECT_EQ(h.fake_series().opened.Value(), 2);
  auto any = h.run(h.pool->acquire(h.router->route(0)));
  ASSERT_TRUE(any);
  EXPECT_TRUE((*any)->reused);
  EXPECT_TRUE((*any)->speaks_for_client);
}

TEST(InlineRelay, XforwardGoesBeforeMailAndARefusalIsNotFatal) {
  FakeScript script;
  script.capabilities.push_back("XFORWARD NAME ADDR PROTO HELO SOURCE");
  Harness h(script);  // the fake answers XFORWARD with its default for unknown verbs
  h.start({}, false, conf::Route::ForwardClient::Xforward);
  Sent sent = h.send(mail_from(kAlice), {kBob}, {"x\r\n"});
  EXPECT_EQ(sent.end.code, 250) << "the message goes without it";
  sent = h.send(mail_from(kAlice), {kBob}, {"y\r\n"});
  const std::string received = h.server.received();
  EXPECT_EQ(received.find("XFORWARD NAME=mail.sender.example ADDR=192.0.2.7 PROTO=ESMTP "
                          "HELO=mail.sender.example SOURCE=REMOTE\r\nMAIL FROM:"),
            std::string("EHLO relay.test\r\n").size());
  EXPECT_EQ(received.find("XFORWARD", 40), std::string::npos) << "refused: not asked again";
  // Offered and accepted.
  script.replies["XFORWARD NAME=mail.sender.example ADDR=192.0.2.7 PROTO=ESMTP "
                 "HELO=mail.sender.example SOURCE=REMOTE"] = "250 2.0.0 Ok\r\n";
  Harness ok(script);
  ok.start({}, false, conf::Route::ForwardClient::Xforward);
  EXPECT_EQ(ok.send(mail_from(kAlice), {kBob}, {"x\r\n"}).end.code, 250);
  EXPECT_NE(ok.server.received().find("SOURCE=REMOTE\r\nMAIL FROM:"), std::string::npos);
}

TEST(InlineRelay, NothingIsForwardedToADownstreamThatDoesNotOfferIt) {
  Harness h;
  h.start({}, false, conf::Route::ForwardClient::Xclient);
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"x\r\n"}).end.code, 250);
  EXPECT_EQ(h.server.received().find("XCLIENT"), std::string::npos);
}

TEST(InlineRelay, PassesRecipientRejectionsThroughVerbatim) {
  FakeScript script;
  script.replies["RCPT TO:<nobody@example.com>"] =
      "550-5.1.1 <nobody@example.com>: Recipient address rejected:\r\n"
      "550 5.1.1 User unknown in local recipient table\r\n";
  Harness h(script);
  h.start();
  const Sent sent = h.send(mail_from(kAlice), {addr("nobody", "example.com")}, {});
  ASSERT_EQ(sent.rcpt.size(), 1u);
  EXPECT_EQ(sent.rcpt[0].code, 550);
  EXPECT_EQ(sent.rcpt[0].enhanced, "5.1.1");
  EXPECT_EQ(text(sent.rcpt[0]),
            "550-5.1.1 <nobody@example.com>: Recipient address rejected:\r\n"
            "550 5.1.1 User unknown in local recipient table\r\n");
}

TEST(InlineRelay, DefersRecipientsOfAnotherRouteAndDeniesUnroutedOnes) {
  Harness h;
  h.start();
  const Sent sent = h.send(
      mail_from(kAlice),
      {kBob, addr("dave", "other.test"), addr("eve", "unrouted.test"), addr("x", "[127.0.0.1]")},
      {"hi\r\n"});
  ASSERT_EQ(sent.rcpt.size(), 4u);
  EXPECT_EQ(sent.rcpt[0].code, 250);
  EXPECT_EQ(text(sent.rcpt[1]),
            "452 4.5.3 Recipient routes to another server, try again in a new transaction\r\n");
  EXPECT_EQ(text(sent.rcpt[2]), "550 5.7.1 Relaying denied\r\n");
  EXPECT_EQ(text(sent.rcpt[3]), "550 5.7.1 Relaying denied\r\n");
  EXPECT_EQ(sent.end.code, 250);
  EXPECT_EQ(h.server.received().find("other.test"), std::string::npos);
}

TEST(InlineRelay, FollowsTheSecondRouteWhenTheFirstRecipientWasRefused) {
  FakeScript script;
  script.replies["RCPT TO:<nobody@example.com>"] = "550 5.1.1 User unknown\r\n";
  Harness h(script);
  h.start();
  const Sent sent =
      h.send(mail_from(kAlice), {addr("nobody", "example.com"), addr("dave", "other.test")}, {});
  ASSERT_EQ(sent.rcpt.size(), 2u);
  EXPECT_EQ(sent.rcpt[0].code, 550);
  EXPECT_EQ(sent.rcpt[1].code, 250);
}

TEST(InlineRelay, UnreachableDownstreamGives451) {
  Harness h;
  const conf::HostPort closed{"127.0.0.1", testing::closed_port()};
  h.start({closed});
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {});
  ASSERT_EQ(sent.rcpt.size(), 1u);
  EXPECT_EQ(text(sent.rcpt[0]), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.series(closed).connect_errors.Value(), 1);
}

TEST(InlineRelay, TriesTheNextDownstreamOfTheRoute) {
  Harness h;
  const conf::HostPort closed{"127.0.0.1", testing::closed_port()};
  h.start({closed, {"127.0.0.1", h.server.port()}});
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {"x\r\n"});
  EXPECT_EQ(sent.end.code, 250);
  EXPECT_EQ(h.series(closed).connect_errors.Value(), 1);
  EXPECT_EQ(h.series(closed).opened.Value(), 0);
  EXPECT_EQ(h.fake_series().connect_errors.Value(), 0);
  EXPECT_EQ(h.fake_series().opened.Value(), 1);
}

TEST(InlineRelay, SilentDownstreamTimesOutWith451AtTheCommandTimeout) {
  common::ManualClock clock;
  io::ClockOverride use(clock);
  FakeScript script;
  script.speak = false;
  Harness h(script);
  h.config.command_timeout = 200ms;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  const auto [sent, took] =
      h.run_on(clock, send_message(relay, mail_from(kAlice), {kBob}, {}), 10ms);
  EXPECT_GE(took, 200ms);  // on the manual clock: the greeting's deadline, not before
  EXPECT_LE(took, 210ms);
  ASSERT_EQ(sent.rcpt.size(), 1u);
  EXPECT_EQ(text(sent.rcpt[0]), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.fake_series().timeouts.Value(), 1);
}

TEST(InlineRelay, UnansweredFinalDotTimesOutWith451) {
  FakeScript script;
  script.final_reply.clear();
  Harness h(script);
  h.config.data_timeout = 200ms;
  h.start();
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {"x\r\n"});
  EXPECT_EQ(text(sent.end), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.fake_series().timeouts.Value(), 1);
  EXPECT_EQ(h.pool->idle_count(), 0u);
}

TEST(InlineRelay, MalformedGreetingIsAProtocolError) {
  FakeScript script;
  script.greeting = "hello there\r\n";
  Harness h(script);
  h.start();
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {});
  EXPECT_EQ(sent.rcpt.at(0).code, 451);
  EXPECT_EQ(h.fake_series().protocol_errors.Value(), 1);
}

TEST(InlineRelay, PassesTheFinalReplyThrough) {
  FakeScript script;
  script.final_reply = "554 5.7.1 Message content rejected\r\n";
  Harness h(script);
  h.start();
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {"spam\r\n"});
  EXPECT_EQ(text(sent.end), "554 5.7.1 Message content rejected\r\n");
  EXPECT_EQ(h.pool->idle_count(), 1u);  // a refused message leaves a healthy connection
}

TEST(InlineRelay, DownstreamClosingMidTransactionDefersTheRest) {
  FakeScript script;
  script.replies["RCPT TO:<crash@example.com>"] = "421 4.3.2 System shutting down\r\n";
  Harness h(script);
  h.start();
  const Sent sent = h.send(mail_from(kAlice), {kBob, addr("crash", "example.com"), kBob}, {});
  ASSERT_EQ(sent.rcpt.size(), 3u);
  EXPECT_EQ(sent.rcpt[0].code, 250);
  EXPECT_EQ(text(sent.rcpt[1]), "451 4.3.2 System shutting down\r\n");
  EXPECT_EQ(sent.rcpt[2].code, 451);
  EXPECT_EQ(text(sent.data), "451 4.4.1 Downstream unavailable, try again later\r\n");
}

// Quarantine decided at the end of data: the transaction that went to the recipients' route
// moves to the quarantine route before any content is sent.
struct QuarantineHarness : Harness {
  explicit QuarantineHarness(FakeScript quarantine_script = {})
      : quarantine(context, std::move(quarantine_script)) {
    start();
    router.emplace(
        std::vector<conf::Route>{{{"example.com", ".example.com"}, {{"127.0.0.1", server.port()}},
                                  false}},
        std::vector<conf::HostPort>{{"127.0.0.1", quarantine.port()}});
  }
  FakeServer quarantine;
};

struct Rerouted {
  Sent sent;
  bool moved = false;
};

asio::awaitable<Rerouted> send_rerouted(InlineRelay& relay, std::vector<smtp::Path> recipients,
                                        std::vector<std::string> chunks) {
  Rerouted out;
  relay.mail(mail_from(kAlice));
  for (auto& r : recipients) out.sent.rcpt.push_back(co_await relay.rcpt(std::move(r)));
  out.sent.data = co_await relay.data();
  out.moved = co_await relay.reroute_to_quarantine();
  for (const auto& c : chunks) co_await relay.content(c);
  out.sent.end = co_await relay.end();
  co_return out;
}

TEST(InlineRelay, EndOfDataQuarantineReplaysTheEnvelopeToTheQuarantineRoute) {
  FakeScript refusing;
  refusing.replies["RCPT TO:<nobody@example.com>"] = "550 5.1.1 User unknown\r\n";
  QuarantineHarness h;
  h.server.script = refusing;
  InlineRelay relay(*h.pool, *h.router);
  const auto out = h.run(send_rerouted(
      relay, {kBob, addr("nobody", "example.com"), addr("carol", "eu.example.com")},
      {"Subject: q\r\n\r\n", ".body\r\n"}));
  EXPECT_TRUE(out.moved);
  EXPECT_EQ(out.sent.data.code, 354);
  EXPECT_EQ(text(out.sent.end), "250 2.0.0 Ok: queued as ABC\r\n");
  // The first downstream got the envelope and DATA, then the connection closed: no content.
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<nobody@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "DATA\r\n");
  ASSERT_EQ(h.server.connections().size(), 1u);
  EXPECT_TRUE(h.server.connections()[0]->in_data);
  // The quarantine route got the accepted recipients only, then the message.
  EXPECT_EQ(h.quarantine.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "DATA\r\n"
            "Subject: q\r\n\r\n..body\r\n.\r\n");
}

TEST(InlineRelay, RerouteWithoutAQuarantineRouteChangesNothing) {
  Harness h;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  const auto out = h.run(send_rerouted(relay, {kBob}, {"x\r\n"}));
  EXPECT_TRUE(out.moved);
  EXPECT_EQ(out.sent.end.code, 250);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n"
            "DATA\r\nx\r\n.\r\n");
}

asio::awaitable<Rerouted> send_quarantined_at_rcpt(InlineRelay& relay) {
  Rerouted out;
  relay.mail(mail_from(kAlice));
  out.sent.rcpt.push_back(co_await relay.rcpt(kBob, true));
  out.sent.data = co_await relay.data();
  out.moved = co_await relay.reroute_to_quarantine();
  co_await relay.content("x\r\n");
  out.sent.end = co_await relay.end();
  co_return out;
}

TEST(InlineRelay, RecipientsAlreadyQuarantinedAtRcptStayWhereTheyAre) {
  QuarantineHarness h;
  InlineRelay relay(*h.pool, *h.router);
  const auto out = h.run(send_quarantined_at_rcpt(relay));
  EXPECT_TRUE(out.moved);
  EXPECT_EQ(out.sent.end.code, 250);
  EXPECT_TRUE(h.server.connections().empty());
  EXPECT_EQ(h.quarantine.connections().size(), 1u);
}

TEST(InlineRelay, AQuarantineRouteThatRefusesARecipientGives451AndDeliversNothing) {
  FakeScript refusing;
  refusing.replies["RCPT TO:<carol@eu.example.com>"] = "452 4.2.2 Mailbox full\r\n";
  QuarantineHarness h(refusing);
  InlineRelay relay(*h.pool, *h.router);
  const auto out = h.run(
      send_rerouted(relay, {kBob, addr("carol", "eu.example.com")}, {"Subject: q\r\n\r\nx\r\n"}));
  EXPECT_FALSE(out.moved);
  EXPECT_EQ(text(out.sent.end), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.quarantine.received().find("DATA"), std::string::npos);
  EXPECT_EQ(h.server.received().find("Subject"), std::string::npos);
}

TEST(InlineRelay, AnUnreachableQuarantineRouteGives451) {
  Harness h;
  h.start();
  h.router.emplace(
      std::vector<conf::Route>{{{"example.com"}, {{"127.0.0.1", h.server.port()}}, false}},
      std::vector<conf::HostPort>{{"127.0.0.1", testing::closed_port()}});
  InlineRelay relay(*h.pool, *h.router);
  const auto out = h.run(send_rerouted(relay, {kBob}, {"x\r\n"}));
  EXPECT_FALSE(out.moved);
  EXPECT_EQ(text(out.sent.end), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.server.received().find("x\r\n.\r\n"), std::string::npos);
}

// A message that the session holds until its end of data (release(), issue 22): no downstream
// connection while the client sends it; the envelope is replayed before the content.
constexpr const char* kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";
constexpr const char* kUnavailable = "451 4.4.1 Downstream unavailable, try again later\r\n";
const smtp::Path kCarol = addr("carol", "eu.example.com");

// MAIL, two RCPTs and release() on `relay`; the RCPT replies.
std::vector<Reply> envelope_then_release(Harness& h, InlineRelay& relay) {
  relay.mail(mail_from(kAlice));
  std::vector<Reply> replies{h.run(relay.rcpt(kBob)), h.run(relay.rcpt(kCarol))};
  relay.release();
  return replies;
}

TEST(InlineRelayReleased, GivesItsConnectionBackAndReplaysTheEnvelopeBeforeTheContent) {
  Harness h;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  relay.mail(mail_from(kAlice));
  EXPECT_EQ(h.run(relay.rcpt(kBob)).code, 250);
  EXPECT_EQ(h.run(relay.rcpt(kCarol)).code, 250);
  EXPECT_EQ(h.fake_series().in_use.Value(), 1);
  relay.release();
  EXPECT_EQ(h.pool->idle_count(), 1u);
  EXPECT_EQ(h.fake_series().in_use.Value(), 0);
  // 354 is ours: the downstream hears nothing while the client sends the content.
  EXPECT_EQ(text(h.run(relay.data())), kStartData);
  EXPECT_EQ(h.server.received().find("DATA"), std::string::npos);
  EXPECT_TRUE(h.run(relay.content("Subject: held\r\n\r\n.dot\r\n")));
  EXPECT_EQ(h.fake_series().in_use.Value(), 1);
  EXPECT_EQ(text(h.run(relay.end())), "250 2.0.0 Ok: queued as ABC\r\n");
  // The same connection again: RSET drops the first envelope, then the replay in one write.
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "RSET\r\n"
            "MAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "DATA\r\n"
            "Subject: held\r\n\r\n..dot\r\n.\r\n");
  EXPECT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.fake_series().opened.Value(), 1);
  EXPECT_EQ(h.fake_series().in_use.Value(), 0);
  EXPECT_EQ(h.metrics.replays_ok.Value(), 1);
  EXPECT_EQ(relay.relay_name().find("127.0.0.1"), 0u) << relay.relay_name();
}

// Another transaction, while the test's first one waits for its content.
asio::awaitable<Sent> send_another(Harness& h, std::vector<smtp::Path> to,
                                   std::vector<std::string> content) {
  InlineRelay second(*h.pool, *h.router);
  const Sent sent =
      co_await send_message(second, mail_from(kAlice), std::move(to), std::move(content));
  co_return sent;
}

TEST(InlineRelayReleased, LeavesTheDownstreamsConnectionLimitToOthers) {
  common::ManualClock clock;
  DownstreamGates gates({1, 0, 30s, 60s}, clock);  // relay.max_connections = 1
  Harness h;
  h.gates = &gates;
  h.start();
  InlineRelay first(*h.pool, *h.router);
  envelope_then_release(h, first);
  EXPECT_EQ(h.run(first.data()).code, 354);
  const Sent second = h.run(send_another(h, {kBob}, {"second\r\n"}));
  EXPECT_EQ(second.end.code, 250);
  EXPECT_TRUE(h.run(first.content("first\r\n")));
  EXPECT_EQ(h.run(first.end()).code, 250);
  EXPECT_EQ(h.fake_series().busy.Value(), 0);
  const std::string received = h.server.received();
  EXPECT_NE(received.find("DATA\r\nsecond\r\n.\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("DATA\r\nfirst\r\n.\r\n"), std::string::npos) << received;
}

TEST(InlineRelayReleased, ARecipientRefusedAtTheReplayGives451AndNothingIsDelivered) {
  Harness h;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  for (const auto& reply : envelope_then_release(h, relay)) EXPECT_EQ(reply.code, 250);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  // Meanwhile the mailbox of the first recipient filled up (or it was removed).
  h.server.script.replies["RCPT TO:<bob@example.com>"] = "552 5.2.2 Mailbox full\r\n";
  EXPECT_FALSE(h.run(relay.content("Subject: held\r\n\r\nbody\r\n")));
  // Never a 5xx at the end of data: the client retries, and its RCPT hears the 552.
  EXPECT_EQ(text(h.run(relay.end())), kUnavailable);
  const std::string received = h.server.received();
  EXPECT_EQ(received.find("DATA"), std::string::npos) << received;
  EXPECT_EQ(received.find("body"), std::string::npos) << received;
  // Pipelined: every reply was read, so the connection is healthy and back in the pool.
  EXPECT_TRUE(received.ends_with("RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@eu.example.com>\r\n"))
      << received;
  EXPECT_EQ(h.pool->idle_count(), 1u);
  EXPECT_EQ(h.fake_series().in_use.Value(), 0);
  EXPECT_EQ(h.metrics.replays_refused.Value(), 1);
  EXPECT_EQ(h.metrics.replays_ok.Value(), 0);
}

TEST(InlineRelayReleased, WithoutPipeliningTheReplayStopsAtTheFirstRefusal) {
  FakeScript script;
  script.capabilities = {"8BITMIME"};
  Harness h(script);
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  h.server.script.replies["RCPT TO:<bob@example.com>"] = "450 4.2.1 Try again\r\n";
  EXPECT_FALSE(h.run(relay.content("x\r\n")));
  EXPECT_EQ(text(h.run(relay.end())), kUnavailable);
  EXPECT_TRUE(
      h.server.received().ends_with("RSET\r\nMAIL FROM:<alice@sender.example>\r\n"
                                    "RCPT TO:<bob@example.com>\r\n"))
      << h.server.received();
}

TEST(InlineRelayReleased, DataRefusedAtTheReplayGives451) {
  Harness h;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  h.server.script.replies["DATA"] = "554 5.5.1 Error: no valid recipients\r\n";
  EXPECT_FALSE(h.run(relay.content("x\r\n")));
  EXPECT_EQ(text(h.run(relay.end())), kUnavailable);
  EXPECT_EQ(h.server.received().find("x\r\n"), std::string::npos);
  EXPECT_EQ(h.metrics.replays_refused.Value(), 1);
}

TEST(InlineRelayReleased, ADownstreamDownAtTheReplayGives451) {
  Harness h;
  h.config.pool_size = 0;  // the released connection is closed, not kept
  h.start();
  DownstreamMetrics& series = h.fake_series();
  InlineRelay relay(*h.pool, *h.router);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.pool->idle_count(), 0u);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  h.server.close();
  EXPECT_FALSE(h.run(relay.content("x\r\n")));
  EXPECT_EQ(text(h.run(relay.end())), kUnavailable);
  EXPECT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.server.received().find("DATA"), std::string::npos);
  EXPECT_EQ(series.connect_errors.Value(), 1);
  EXPECT_EQ(series.in_use.Value(), 0);
  EXPECT_EQ(h.metrics.replays_unavailable.Value(), 1);
}

TEST(InlineRelayReleased, EndWithoutContentStillReplaysAndAnswers) {
  Harness h;
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  EXPECT_EQ(h.run(relay.end()).code, 250);
  EXPECT_TRUE(h.server.received().ends_with("DATA\r\n.\r\n")) << h.server.received();
}

TEST(InlineRelayReleased, DataWithoutAcceptedRecipientsIsRefusedAsBefore) {
  FakeScript script;
  script.replies["RCPT TO:<bob@example.com>"] = "550 5.1.1 User unknown\r\n";
  Harness h(script);
  h.start();
  InlineRelay relay(*h.pool, *h.router);
  relay.mail(mail_from(kAlice));
  EXPECT_EQ(h.run(relay.rcpt(kBob)).code, 550);
  relay.release();
  EXPECT_EQ(h.run(relay.data()).code, 554);
}

TEST(InlineRelayReleased, TheReplayTellsWhoTheClientWasAgain) {
  FakeScript script;
  script.capabilities.push_back("XFORWARD NAME ADDR PROTO HELO SOURCE");
  const std::string xforward =
      "XFORWARD NAME=mail.sender.example ADDR=192.0.2.7 PROTO=ESMTP HELO=mail.sender.example "
      "SOURCE=REMOTE";
  script.replies[xforward] = "250 2.0.0 Ok\r\n";
  Harness h(script);
  h.start({}, false, conf::Route::ForwardClient::Xforward);
  InlineRelay relay(*h.pool, *h.router);
  relay.client(h.client);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  EXPECT_TRUE(h.run(relay.content("x\r\n")));
  EXPECT_EQ(h.run(relay.end()).code, 250);
  EXPECT_NE(h.server.received().find("RSET\r\n" + xforward + "\r\nMAIL FROM:"), std::string::npos)
      << h.server.received();
}

TEST(InlineRelayReleased, AQuarantinedMessageIsReplayedToTheQuarantineRouteOnly) {
  QuarantineHarness h;
  InlineRelay relay(*h.pool, *h.router);
  envelope_then_release(h, relay);
  EXPECT_EQ(h.run(relay.data()).code, 354);
  EXPECT_TRUE(h.run(relay.reroute_to_quarantine()));
  EXPECT_TRUE(h.run(relay.content("Subject: q\r\n\r\nx\r\n")));
  EXPECT_EQ(h.run(relay.end()).code, 250);
  // The recipients' route saw the envelope only; its connection was not closed but pooled.
  EXPECT_EQ(h.server.received().find("DATA"), std::string::npos);
  ASSERT_EQ(h.server.connections().size(), 1u);
  EXPECT_FALSE(h.server.connections()[0]->client_closed);
  EXPECT_EQ(h.quarantine.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\n"
            "RCPT TO:<carol@eu.example.com>\r\n"
            "DATA\r\n"
            "Subject: q\r\n\r\nx\r\n.\r\n");
  EXPECT_EQ(h.metrics.replays_ok.Value(), 1);
}

}  // namespace
}  // namespace mxgate::relay
