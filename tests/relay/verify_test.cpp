// Recipient verification: the callout cache's TTLs and bound (time as a parameter), the list
// parser, judge_callout's decision table, and the Verifier and VerifyingTransaction against the
// FakeServer on 127.0.0.1 (the callout's bytes on the wire, its answer from the cache the second
// time, a tempfail never cached), each run bounded to 2 s.
#include "relay/verify.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "conf/config.hpp"
#include "relay/recipient_list.hpp"
#include "relay/verify_cache.hpp"
#include "tests/relay/fake_transaction.hpp"
#include "tests/relay/harness.hpp"

namespace mxgate::relay {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Verification = conf::RelayConfig::Verification;

const VerifyCache::TimePoint kStart{};

TEST(VerifyCache, KeepsPositiveAndNegativeAnswersForTheirOwnTtl) {
  VerifyCache cache(10);
  cache.store("bob@example.com", true, kStart, 24h);
  cache.store("nobody@example.com", false, kStart, 1h);
  EXPECT_EQ(cache.find("bob@example.com", kStart + 59min), true);
  EXPECT_EQ(cache.find("nobody@example.com", kStart + 59min), false);
  EXPECT_EQ(cache.find("nobody@example.com", kStart + 1h), std::nullopt);
  EXPECT_EQ(cache.find("bob@example.com", kStart + 23h), true);
  EXPECT_EQ(cache.find("bob@example.com", kStart + 24h), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);  // expired entries are dropped when looked up
  EXPECT_EQ(cache.find("carol@example.com", kStart), std::nullopt);
}

TEST(VerifyCache, OverItsBoundTheOldestStoredEntryGoes) {
  prometheus::Registry registry;
  RelayMetrics metrics(registry);
  VerifyCache cache(2, &metrics.verification.cache_entries);
  cache.store("a@x.test", true, kStart, 1h);
  cache.store("b@x.test", false, kStart + 1s, 1h);
  cache.store("a@x.test", true, kStart + 2s, 1h);  // stored again: now the newest
  cache.store("c@x.test", true, kStart + 3s, 1h);
  EXPECT_EQ(cache.find("b@x.test", kStart + 4s), std::nullopt);
  EXPECT_EQ(cache.find("a@x.test", kStart + 4s), true);
  EXPECT_EQ(cache.find("c@x.test", kStart + 4s), true);
  EXPECT_EQ(metrics.verification.cache_entries.Value(), 2);
  cache.set_capacity(1);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("c@x.test", kStart + 4s), true);
  EXPECT_EQ(metrics.verification.cache_entries.Value(), 1);
}

TEST(RecipientList, KnowsAddressesAndCatchAllsWithoutRegardToCase) {
  const auto list = parse_recipient_list(
      "# known users\n"
      "bob@example.com\n"
      "  Carol@Example.COM   # trailing comment\r\n"
      "\n"
      "@catchall.test\n",
      "recipients.txt");
  EXPECT_EQ(list.size(), 3u);
  EXPECT_TRUE(list.known("bob@example.com"));
  EXPECT_TRUE(list.known("BOB@EXAMPLE.COM"));
  EXPECT_TRUE(list.known("carol@example.com"));
  EXPECT_TRUE(list.known("anyone@catchall.test"));
  EXPECT_TRUE(list.known("anyone@CatchAll.test."));
  EXPECT_FALSE(list.known("dave@example.com"));
  EXPECT_FALSE(list.known("bob@sub.example.com"));
  EXPECT_FALSE(list.known("catchall.test"));
}

TEST(RecipientList, ABadLineNamesTheFileAndTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"bob@example.com\nnot-an-address\n",
       "recipients.txt:2: relay.recipient_list: \"not-an-address\" is neither an address "
       "(bob@example.net) nor @domain"},
      {"\n\n# c\nbob@\n",
       "recipients.txt:4: relay.recipient_list: \"bob@\" has no domain after '@'"},
      {"bob smith@example.com\n",
       "recipients.txt:1: relay.recipient_list: \"bob smith@example.com\" contains a space, a "
       "control character or one of < > ,"},
  };
  for (const auto& c : cases) {
    try {
      (void)parse_recipient_list(c.text, "recipients.txt");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const conf::ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
      EXPECT_EQ(e.file(), "recipients.txt");
    }
  }
}

TEST(RecipientList, AMissingFileIsAConfigError) {
  EXPECT_THROW((void)load_recipient_list("/nonexistent/mxgate/recipients"), conf::ConfigError);
}

TEST(JudgeCallout, MapsTheMailboxServersRepliesToAnAnswer) {
  const auto r = [](int code) { return std::optional(smtp::Reply::make(code, "", "x")); };
  const std::optional<smtp::Reply> none;
  struct Case {
    std::optional<smtp::Reply> mail, rcpt;
    Answer answer;
  };
  const Case cases[] = {
      {r(250), r(250), Answer::Valid},    {r(250), r(251), Answer::Valid},
      {r(250), r(550), Answer::Unknown},  {r(250), r(553), Answer::Unknown},
      {r(250), r(450), Answer::Tempfail}, {r(250), r(421), Answer::Tempfail},
      {r(550), r(503), Answer::Tempfail},  // the null sender refused: says nothing
      {r(451), none, Answer::Tempfail},   {none, none, Answer::Tempfail},
      {r(250), none, Answer::Tempfail},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(judge_callout(c.mail, c.rcpt), c.answer)
        << (c.mail ? c.mail->code : 0) << " " << (c.rcpt ? c.rcpt->code : 0);
  }
}

struct VerifyHarness : Harness {
  explicit VerifyHarness(FakeScript script = {}) : Harness(std::move(script)) {
    config.recipient_verification = Verification::Callout;
    config.verify_timeout = 500ms;
  }
  Answer check(smtp::Path recipient) {
    return run(verifier.check(config, list, router->route(0), std::move(recipient)));
  }
  VerifyCache cache{100};
  Verifier verifier{*pool_ptr(), cache, metrics};
  const RecipientList* list = nullptr;

 private:
  Pool* pool_ptr() {
    start();
    return &*pool;
  }
};

TEST(Verifier, AsksTheMailboxServerOnceThenAnswersFromTheCache) {
  VerifyHarness h;
  EXPECT_EQ(h.check(kBob), Answer::Valid);
  EXPECT_EQ(h.check(addr("Bob", "EXAMPLE.com")), Answer::Valid);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nRSET\r\n");
  EXPECT_EQ(h.metrics.verification.valid_callout.Value(), 1);
  EXPECT_EQ(h.metrics.verification.valid_cache.Value(), 1);
  EXPECT_EQ(h.pool->idle_count(), 1u);  // the connection went back to the pool
}

TEST(Verifier, AnUnknownUserIsCachedForTheNegativeTtl) {
  FakeScript script;
  script.replies["RCPT TO:<nobody@example.com>"] = "550 5.1.1 nobody: no such user here\r\n";
  VerifyHarness h(script);
  const auto nobody = addr("nobody", "example.com");
  EXPECT_EQ(h.check(nobody), Answer::Unknown);
  EXPECT_EQ(h.check(nobody), Answer::Unknown);
  EXPECT_EQ(h.check(kBob), Answer::Valid);  // the same pooled connection, RSET first
  EXPECT_EQ(h.server.connections().size(), 1u);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.com>\r\nRSET\r\n"
            "RSET\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nRSET\r\n");
  EXPECT_EQ(h.metrics.verification.unknown_callout.Value(), 1);
  EXPECT_EQ(h.metrics.verification.unknown_cache.Value(), 1);
  EXPECT_EQ(h.cache.size(), 2u);
}

TEST(Verifier, ATemporaryFailureIsNeverCached) {
  FakeScript script;
  script.replies["RCPT TO:<bob@example.com>"] = "451 4.3.0 try later\r\n";
  VerifyHarness h(script);
  EXPECT_EQ(h.check(kBob), Answer::Tempfail);
  EXPECT_EQ(h.cache.size(), 0u);
  h.server.script.replies.clear();
  EXPECT_EQ(h.check(kBob), Answer::Valid);
  EXPECT_EQ(h.metrics.verification.tempfail_callout.Value(), 1);
  EXPECT_EQ(h.metrics.verification.valid_callout.Value(), 1);
}

TEST(Verifier, NoConnectionIsATempfail) {
  VerifyHarness h;
  const conf::HostPort closed{"127.0.0.1", closed_port()};
  h.router.emplace(std::vector<conf::Route>{{{"example.com"}, {closed}, false}});
  EXPECT_EQ(h.check(kBob), Answer::Tempfail);
  EXPECT_EQ(h.cache.size(), 0u);
  EXPECT_EQ(h.series(closed).connect_errors.Value(), 1);
}

TEST(Verifier, WithoutPipeliningOneCommandAtATime) {
  FakeScript script;
  script.capabilities = {"8BITMIME"};
  script.replies["MAIL FROM:<>"] = "550 5.7.1 no bounces here\r\n";
  VerifyHarness h(script);
  EXPECT_EQ(h.check(kBob), Answer::Tempfail);
  EXPECT_EQ(h.server.received(), "EHLO relay.test\r\nMAIL FROM:<>\r\n");
}

// RFC 6531: a non-ASCII mailbox is asked about in an SMTPUTF8 transaction when the server
// offers one, and as the delivery would go otherwise.
TEST(Verifier, ANonAsciiMailboxIsAskedAboutWithSmtputf8WhenOffered) {
  FakeScript script;
  script.capabilities.push_back("SMTPUTF8");
  VerifyHarness h(script);
  EXPECT_EQ(h.check(addr("jos\xc3\xa9", "example.com")), Answer::Valid);
  EXPECT_EQ(h.check(addr("ann", "example.com")), Answer::Valid);
  EXPECT_EQ(h.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<> SMTPUTF8\r\nRCPT TO:<jos\xc3\xa9@example.com>\r\n"
            "RSET\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<ann@example.com>\r\nRSET\r\n");
  VerifyHarness plain;
  EXPECT_EQ(plain.check(addr("jos\xc3\xa9", "example.com")), Answer::Valid);
  EXPECT_EQ(plain.server.received(),
            "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<jos\xc3\xa9@example.com>\r\nRSET\r\n");
}

TEST(Verifier, ListModeAnswersFromTheList) {
  VerifyHarness h;
  h.config.recipient_verification = Verification::List;
  const auto list = parse_recipient_list("bob@example.com\n", "list");
  h.list = &list;
  EXPECT_EQ(h.check(kBob), Answer::Valid);
  EXPECT_EQ(h.check(addr("eve", "example.com")), Answer::Unknown);
  EXPECT_TRUE(h.server.connections().empty());
  EXPECT_EQ(h.metrics.verification.valid_list.Value(), 1);
  EXPECT_EQ(h.metrics.verification.unknown_list.Value(), 1);
}

asio::awaitable<std::vector<smtp::Reply>> envelope(Transaction& t, std::vector<smtp::Path> to) {
  std::vector<smtp::Reply> replies;
  replies.push_back(co_await t.rcpt(kBob));  // before MAIL: the wrapped transaction's answer
  t.mail(mail_from(kAlice));
  for (auto& r : to) replies.push_back(co_await t.rcpt(std::move(r)));
  co_return replies;
}

TEST(VerifyingTransaction, OnlyValidRoutedRecipientsReachTheWrappedTransaction) {
  VerifyHarness h;
  h.config.recipient_verification = Verification::List;
  const auto list = parse_recipient_list("bob@example.com\n", "list");
  auto downstream = std::make_shared<FakeDownstream>();
  downstream->rcpt_replies[kBob.address()] = smtp::Reply::make(250, "2.1.5", "Ok");
  VerifyingTransaction t(std::make_unique<FakeTransaction>(downstream), h.verifier, h.config,
                         *h.router, &list);
  const auto replies =
      h.run(envelope(t, {kBob, addr("eve", "example.com"), addr("x", "elsewhere.test")}));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].code, 250);  // not verified before MAIL: the fake answers anything
  EXPECT_EQ(text(replies[1]), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(text(replies[2]), "550 5.1.1 Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(replies[3].code, 250);  // no route: the wrapped transaction decides (the fake's 250)
  EXPECT_EQ(h.metrics.verification.unknown_list.Value(), 1);
  EXPECT_EQ(h.metrics.verification.valid_list.Value(), 1);
}

}  // namespace
}  // namespace mxgate::relay
