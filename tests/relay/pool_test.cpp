// Connection life cycle: pooling with RSET, replacement of a dead pooled connection, abort
// mid-DATA and between MAIL and DATA, MAIL refusals, HELO fallback, STARTTLS and require_tls,
// draining; the downstream gates: an open circuit skipped or failing fast, a transaction
// waiting for a slot under max_connections; the connections in use gauge. Against the
// FakeServer on 127.0.0.1, each run bounded to 2 s.
#include "relay/pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <chrono>
#include <string>

#include "relay/gates.hpp"
#include "tests/relay/harness.hpp"

namespace mxgate::relay {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(Pool, ReusesAConnectionForTheNextTransactionWithRset) {
  Harness h;
  h.start();
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"one\r\n"}).end.code, 250);
  EXPECT_EQ(h.send(mail_from(addr("", "")), {kBob}, {"two\r\n"}).end.code, 250);
  ASSERT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            "one\r\n.\r\n"
            "RSET\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            "two\r\n.\r\n");
  EXPECT_EQ(h.fake_series().opened.Value(), 1);
  EXPECT_EQ(h.fake_series().reused.Value(), 1);
}

TEST(Pool, AConnectionHandedOutCountsInUseUntilItComesBackOrCloses) {
  Harness h;
  h.start();
  auto& in_use = h.fake_series().in_use;
  auto first = h.run(h.pool->acquire(h.router->route(0)));
  auto second = h.run(h.pool->acquire(h.router->route(0)));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(in_use.Value(), 2);
  h.pool->release(std::move(*first));
  EXPECT_EQ(in_use.Value(), 1);
  second->reset();  // closed by its user (a failure, an abort mid-DATA)
  EXPECT_EQ(in_use.Value(), 0);
  auto again = h.run(h.pool->acquire(h.router->route(0)));  // the pooled one
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)->reused);
  EXPECT_EQ(in_use.Value(), 1);
}

TEST(Pool, ReplacesADeadPooledConnectionTransparently) {
  FakeScript script;
  script.close_after_message = true;
  Harness h(script);
  h.start();
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"one\r\n"}).end.code, 250);
  const Sent second = h.send(mail_from(kAlice), {kBob}, {"two\r\n"});
  ASSERT_EQ(second.rcpt.size(), 1u);
  EXPECT_EQ(second.rcpt[0].code, 250);
  EXPECT_EQ(second.end.code, 250);
  ASSERT_EQ(h.server.connections().size(), 2u);
  EXPECT_EQ(h.server.received(1),
            "EHLO relay.test\r\nMAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\nDATA\r\ntwo\r\n.\r\n");
  EXPECT_EQ(h.fake_series().opened.Value(), 2);
  EXPECT_EQ(h.fake_series().protocol_errors.Value(), 0);
}

// DATA accepted, content flushed (over the 64 KiB write threshold), then abandoned.
asio::awaitable<int> abandon_mid_data(InlineRelay& relay) {
  relay.mail(mail_from(kAlice));
  co_await relay.rcpt(kBob);
  const Reply data = co_await relay.data();
  const bool written = co_await relay.content(std::string(70000, 'x') + "\r\n");
  relay.abort();
  co_return written ? data.code : -1;
}

TEST(InlineRelay, AbortMidDataClosesWithoutTheTerminator) {
  Harness h;
  h.start();
  {
    InlineRelay relay(*h.pool, *h.router);
    EXPECT_EQ(h.run(abandon_mid_data(relay)), 354);
  }
  ASSERT_TRUE(h.settle([&] { return h.server.connections().at(0)->client_closed; }));
  const auto& record = *h.server.connections().at(0);
  EXPECT_TRUE(record.in_data);
  EXPECT_NE(record.received.find("DATA\r\nxxxx"), std::string::npos);
  EXPECT_EQ(record.received.find("\r\n.\r\n"), std::string::npos);
  EXPECT_EQ(h.pool->idle_count(), 0u);
}

asio::awaitable<Sent> abandon_then_resend(Harness& h) {
  {
    InlineRelay relay(h.pool.value(), h.router.value());
    relay.mail(mail_from(kAlice));
    co_await relay.rcpt(kBob);
    relay.abort();
  }
  InlineRelay relay(h.pool.value(), h.router.value());
  // Named vectors: g++ 12 miscompiles braced initializer lists inside co_await expressions.
  std::vector<smtp::Path> to{kBob};
  std::vector<std::string> content{"z\r\n"};
  co_return co_await send_message(relay, mail_from(addr("zoe", "sender.example")), std::move(to),
                                  std::move(content));
}

TEST(InlineRelay, AbortBeforeDataKeepsTheConnectionForReuseWithRset) {
  Harness h;
  h.start();
  const Sent sent = h.run(abandon_then_resend(h));
  EXPECT_EQ(sent.end.code, 250);
  ASSERT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n"
            "RSET\r\nMAIL FROM:<zoe@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            "z\r\n.\r\n");
}

TEST(InlineRelay, RefusedMailAnswersTheRecipientAndIsRetried) {
  FakeScript script;
  script.replies["MAIL FROM:<spam@bad.example>"] = "553 5.7.1 Sender rejected\r\n";
  script.replies["MAIL FROM:<busy@sender.example>"] = "452 4.3.1 Insufficient system storage\r\n";
  Harness h(script);
  h.start();
  const Sent permanent = h.send(mail_from(addr("spam", "bad.example")), {kBob, kBob}, {});
  ASSERT_EQ(permanent.rcpt.size(), 2u);
  EXPECT_EQ(text(permanent.rcpt[0]), "553 5.7.1 Sender rejected\r\n");
  EXPECT_EQ(text(permanent.rcpt[1]), "553 5.7.1 Sender rejected\r\n");
  const Sent transient = h.send(mail_from(addr("busy", "sender.example")), {kBob}, {});
  EXPECT_EQ(text(transient.rcpt.at(0)), "451 4.3.1 Insufficient system storage\r\n");
  // Pipelined: each RCPT went out with its MAIL, and each MAIL was tried again.
  const std::string& received = h.server.received();
  EXPECT_NE(received.find("MAIL FROM:<spam@bad.example>\r\nRCPT TO:<bob@example.com>\r\n"
                          "MAIL FROM:<spam@bad.example>\r\nRCPT TO:<bob@example.com>\r\n"),
            std::string::npos);
}

TEST(InlineRelay, WithoutPipeliningSendsNoRcptAfterARefusedMail) {
  FakeScript script;
  script.capabilities = {"8BITMIME"};
  script.replies["MAIL FROM:<spam@bad.example>"] = "553 5.7.1 Sender rejected\r\n";
  Harness h(script);
  h.start();
  EXPECT_EQ(h.send(mail_from(addr("spam", "bad.example")), {kBob}, {}).rcpt.at(0).code, 553);
  EXPECT_EQ(h.server.received(), "EHLO relay.test\r\nMAIL FROM:<spam@bad.example>\r\n");
}

TEST(InlineRelay, FallsBackToHeloAndDropsEsmtpParameters) {
  FakeScript script;
  script.replies["EHLO relay.test"] = "502 5.5.2 Error: command not implemented\r\n";
  Harness h(script);
  h.start();
  smtp::Command mail = mail_from(kAlice);
  mail.size = 10;
  mail.body = smtp::Body::EightBitMime;
  mail.smtputf8 = true;
  EXPECT_EQ(h.send(mail, {kBob}, {"x\r\n"}).end.code, 250);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nHELO relay.test\r\nMAIL FROM:<alice@sender.example>\r\n"
            "RCPT TO:<bob@example.com>\r\nDATA\r\nx\r\n.\r\n");
}

TEST(InlineRelay, UpgradesWithStartTlsWhenOffered) {
  FakeScript script;
  script.starttls = true;
  Harness h(script);
  h.start({{"localhost", h.server.port()}}, /*require_tls=*/true);
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"secret\r\n"}).end.code, 250);
  ASSERT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.server.connections()[0]->sni, "localhost");
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nSTARTTLS\r\nEHLO relay.test\r\n"
            "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            "secret\r\n.\r\n");
  EXPECT_EQ(h.series({"localhost", h.server.port()}).tls_errors.Value(), 0);
  EXPECT_EQ(h.series({"localhost", h.server.port()}).opened.Value(), 1);
}

TEST(InlineRelay, RequiredTlsNotOfferedGives451) {
  Harness h;
  h.start({}, /*require_tls=*/true);
  const Sent sent = h.send(mail_from(kAlice), {kBob}, {});
  EXPECT_EQ(text(sent.rcpt.at(0)), "451 4.4.1 Downstream unavailable, try again later\r\n");
  EXPECT_EQ(h.fake_series().tls_errors.Value(), 1);
}

TEST(Pool, ShutdownClosesIdleConnectionsAndRefusesNewOnes) {
  Harness h;
  h.start();
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"x\r\n"}).end.code, 250);
  EXPECT_EQ(h.pool->idle_count(), 1u);
  h.pool->shutdown();
  EXPECT_EQ(h.pool->idle_count(), 0u);
  ASSERT_TRUE(h.settle([&] { return h.server.connections().at(0)->client_closed; }));
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {}).rcpt.at(0).code, 451);
  EXPECT_EQ(h.server.connections().size(), 1u);
}

TEST(Pool, ClosesIdleConnectionsAfterTheIdleTimeout) {
  Harness h;
  h.config.pool_idle_timeout = 50ms;
  h.start();
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"x\r\n"}).end.code, 250);
  ASSERT_TRUE(h.settle([&] { return h.server.connections().at(0)->client_closed; }));
  EXPECT_EQ(h.pool->idle_count(), 0u);
}

TEST(Pool, UpdateKeepsIdleConnectionsUnlessTheHeloNameChanged) {
  Harness h;
  h.start();
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"x\r\n"}).end.code, 250);
  conf::RelayConfig changed = h.config;
  changed.command_timeout = 300ms;
  h.pool->update(changed, "relay.test");
  EXPECT_EQ(h.pool->idle_count(), 1u);
  EXPECT_EQ(h.pool->config().command_timeout, 300ms);
  h.pool->update(changed, "renamed.test");
  EXPECT_EQ(h.pool->idle_count(), 0u);
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"y\r\n"}).end.code, 250);
  ASSERT_EQ(h.server.connections().size(), 2u);
  EXPECT_TRUE(h.server.received(1).starts_with("EHLO renamed.test\r\n"));
}

const conf::HostPort kRefused{"127.0.0.1", 1};  // nothing listens there: refused at once

TEST(Pool, AnOpenCircuitIsSkippedThenFailsFastWithout) {
  common::ManualClock clock;
  DownstreamGates gates({0, 1, 30s, 60s}, clock);
  Harness h;
  h.gates = &gates;
  h.start({kRefused, {"127.0.0.1", h.server.port()}});
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"one\r\n"}).end.code, 250);
  EXPECT_EQ(h.series(kRefused).connect_errors.Value(), 1);
  EXPECT_EQ(gates.counts().open_circuits, 1u);
  h.pool.emplace(h.context.get_executor(), h.config, "relay.test", h.metrics, &gates);  // no idle
  EXPECT_EQ(h.send(mail_from(kAlice), {kBob}, {"two\r\n"}).end.code, 250);
  EXPECT_EQ(h.series(kRefused).connect_errors.Value(), 1);  // not tried again

  h.router.emplace(std::vector<conf::Route>{{{"example.com"}, {kRefused}, false}});
  const Sent refused = h.send(mail_from(kAlice), {kBob}, {"three\r\n"});
  ASSERT_EQ(refused.rcpt.size(), 1u);
  EXPECT_EQ(text(refused.rcpt[0]).substr(0, 9), "451 4.4.1");
  EXPECT_EQ(h.series(kRefused).connect_errors.Value(), 1);
  EXPECT_EQ(h.series(kRefused).circuit_refusals.Value(), 1);
}

asio::awaitable<Sent> finish(InlineRelay& relay, std::string content) {
  Sent sent;
  sent.data = co_await relay.data();
  co_await relay.content(content);
  sent.end = co_await relay.end();
  co_return sent;
}

// `first` holds the only slot; `second` waits for it, and gets it when `first` ends.
asio::awaitable<Sent> wait_for_the_slot(Harness& h, bool first_ends) {
  InlineRelay first(*h.pool, *h.router);
  InlineRelay second(*h.pool, *h.router);
  first.mail(mail_from(kAlice));
  co_await first.rcpt(kBob);
  std::string one = "one\r\n";
  if (first_ends) asio::co_spawn(h.context, finish(first, one), asio::detached);
  std::vector<smtp::Path> to{kBob};
  std::vector<std::string> content{"two\r\n"};
  const Sent sent = co_await send_message(second, mail_from(kAlice), to, content);
  co_return sent;
}

TEST(Pool, ATransactionOverTheConnectionLimitWaitsForASlot) {
  common::ManualClock clock;
  DownstreamGates gates({1, 0, 30s, 60s}, clock);
  Harness h;
  h.gates = &gates;
  h.start();
  const Sent second = h.run(wait_for_the_slot(h, true));
  EXPECT_EQ(second.end.code, 250);
  EXPECT_EQ(h.server.connections().size(), 1u);  // the slot came with the pooled connection
  EXPECT_EQ(h.fake_series().busy.Value(), 0);
}

TEST(Pool, ATransactionThatNeverGetsASlotGets451AfterTheConnectTimeout) {
  common::ManualClock clock;
  DownstreamGates gates({1, 0, 30s, 60s}, clock);
  Harness h;
  h.gates = &gates;
  h.start();
  const Sent second = h.run(wait_for_the_slot(h, false));
  ASSERT_EQ(second.rcpt.size(), 1u);
  EXPECT_EQ(text(second.rcpt[0]).substr(0, 9), "451 4.4.1");
  EXPECT_EQ(h.fake_series().busy.Value(), 1);
}

}  // namespace
}  // namespace mxgate::relay
