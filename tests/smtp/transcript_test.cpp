// Whole client byte streams through framer + state machine + decoder, compared as the reply
// transcript the client would read; every transcript is replayed with the input split at every
// byte and one byte at a time, and must not change.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session_harness.hpp"
#include "split.hpp"

namespace mxgate::smtp {
namespace {

using testing::all_splits;
using testing::FakeBackend;
using testing::SessionHarness;
using testing::show;

ServerOptions test_options() {
  ServerOptions o;
  o.hostname = "mx.test";
  o.max_message_size = 1000;
  o.max_recipients = 2;
  o.max_errors = 5;
  o.starttls_available = true;
  return o;
}

struct SessionRun {
  std::string transcript;
  std::string codes;
  std::vector<std::string> messages;
  bool closed = false;
  bool operator==(const SessionRun&) const = default;
};

SessionRun run(const std::vector<std::string_view>& pieces, const ServerOptions& options,
               LineEndings policy, FakeBackend backend) {
  SessionHarness h(options, policy, backend);
  for (const std::string_view piece : pieces) h.feed(piece);
  return {h.transcript(), h.codes(), h.messages(), h.closed()};
}

// Runs `input` whole and in every split; all must agree. Returns the whole run.
SessionRun replay(std::string_view input, ServerOptions options = test_options(),
                  LineEndings policy = LineEndings::Reject, FakeBackend backend = {}) {
  const SessionRun whole = run({input}, options, policy, backend);
  for (const auto& pieces : all_splits(input)) {
    const SessionRun split = run(pieces, options, policy, backend);
    EXPECT_EQ(split.transcript, whole.transcript)
        << "input=" << show(input) << " pieces=" << pieces.size()
        << " first=" << pieces.front().size();
    EXPECT_EQ(split.messages, whole.messages) << show(input);
    EXPECT_EQ(split.closed, whole.closed) << show(input);
  }
  return whole;
}

TEST(Transcript, FullPipelinedSessionWithDataAndBdat) {
  const SessionRun r = replay(
      "EHLO client.example\r\n"
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
      "Subject: hi\r\n\r\n..dot\r\n.\r\n"
      "MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n"
      "BDAT 5\r\nHelloBDAT 3 LAST\r\n!\r\n"
      "QUIT\r\n");
  EXPECT_EQ(r.transcript,
            "220 mx.test ESMTP\r\n"
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 STARTTLS\r\n"
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 2.0.0 Ok: queued\r\n"
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 5 octets\r\n"
            "250 2.0.0 Ok: queued\r\n"
            "221 2.0.0 Bye\r\n");
  EXPECT_EQ(r.messages, (std::vector<std::string>{"Subject: hi\r\n\r\n.dot\r\n", "Hello!\r\n"}));
  EXPECT_TRUE(r.closed);
}

TEST(Transcript, SmuggledSecondMessageIsRefusedNotDelivered) {
  const std::string input =
      "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
      "Hi\n.\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
      "forged\r\n.\r\nQUIT\r\n";
  const SessionRun rejected = replay(input);
  EXPECT_EQ(rejected.codes, "220 | 250 | 250 2.1.0 | 250 2.1.5 | 354 | 554 5.5.2 | 221 2.0.0");
  EXPECT_TRUE(rejected.messages.empty());
  const SessionRun normalized = replay(input, test_options(), LineEndings::Normalize);
  EXPECT_EQ(normalized.codes, "220 | 250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 221 2.0.0");
  ASSERT_EQ(normalized.messages.size(), 1U);  // one message, the "injection" is its content
  EXPECT_EQ(normalized.messages[0],
            "Hi\r\n.\r\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
            "DATA\r\nforged\r\n");
}

struct Row {
  const char* name;
  std::string input;
  std::string codes;  // after the 220 greeting
  ServerOptions options = test_options();
  FakeBackend backend = {};
};

constexpr const char* kEhlo = "EHLO c\r\n";
constexpr const char* kMail = "MAIL FROM:<a@example.org>\r\n";
constexpr const char* kRcpt = "RCPT TO:<b@example.net>\r\n";

std::vector<Row> rows() {
  const std::string e = kEhlo, m = kMail, r = kRcpt;
  ServerOptions tls_required = test_options();
  tls_required.tls_required = true;
  ServerOptions no_tls = test_options();
  no_tls.starttls_available = false;
  ServerOptions strict = test_options();
  strict.max_errors = 2;
  FakeBackend refuse_data;
  refuse_data.data_code = 451;
  FakeBackend refuse_chunk;
  refuse_chunk.chunk_code = 452;
  return {
      {"HELO", "HELO c\r\n", "250"},
      {"HELO needs an argument", "HELO\r\nEHLO\r\n", "501 5.5.4 | 501 5.5.4"},
      {"second EHLO allowed", e + e + "HELO c\r\n", "250 | 250 | 250"},
      {"EHLO resets the transaction", e + m + r + e + "DATA\r\n" + r,
       "250 | 250 2.1.0 | 250 2.1.5 | 250 | 503 5.5.1 | 503 5.5.1"},
      {"MAIL before HELO", m + "RCPT TO:<b@c>\r\n", "503 5.5.1 | 503 5.5.1"},
      {"MAIL needs STARTTLS", e + m + "STARTTLS\r\n" + e + m,
       "250 | 530 5.7.0 | 220 2.0.0 | 250 | 250 2.1.0", tls_required},
      {"SIZE over the limit", e + "MAIL FROM:<a@b> SIZE=1001\r\nMAIL FROM:<a@b> SIZE=1000\r\n",
       "250 | 552 5.3.4 | 250 2.1.0"},
      {"BINARYMIME not offered", e + "MAIL FROM:<a@b> BODY=BINARYMIME\r\n", "250 | 555 5.5.4"},
      {"unknown MAIL parameter", e + "MAIL FROM:<a@b> RET=FULL\r\n", "250 | 555 5.5.4"},
      {"non-ASCII needs SMTPUTF8",
       e + "MAIL FROM:<j\xc3\xb6rg@example.org>\r\nMAIL FROM:<j\xc3\xb6rg@example.org> "
           "SMTPUTF8\r\n",
       "250 | 553 5.6.7 | 250 2.1.0"},
      {"non-ASCII RCPT needs SMTPUTF8 on MAIL",
       e + m + "RCPT TO:<\xc3\xbc@example.net>\r\nRSET\r\nMAIL FROM:<a@b> SMTPUTF8\r\n" +
           "RCPT TO:<\xc3\xbc@example.net>\r\n",
       "250 | 250 2.1.0 | 553 5.6.7 | 250 2.0.0 | 250 2.1.0 | 250 2.1.5"},
      {"ESMTP parameters after HELO", "HELO c\r\nMAIL FROM:<a@b> SIZE=10\r\n" + m,
       "250 | 555 5.5.4 | 250 2.1.0"},
      {"nested MAIL", e + m + m, "250 | 250 2.1.0 | 503 5.5.1"},
      {"RCPT before MAIL", e + r, "250 | 503 5.5.1"},
      {"too many recipients", e + m + r + r + r,
       "250 | 250 2.1.0 | 250 2.1.5 | 250 2.1.5 | 452 4.5.3"},
      {"refused recipients do not count", e + m + "RCPT TO:<reject@x.example>\r\n" + r + r,
       "250 | 250 2.1.0 | 550 5.7.1 | 250 2.1.5 | 250 2.1.5"},
      {"null RCPT", e + m + "RCPT TO:<>\r\n", "250 | 250 2.1.0 | 501 5.5.4"},
      {"Postmaster RCPT", e + m + "RCPT TO:<Postmaster>\r\n", "250 | 250 2.1.0 | 250 2.1.5"},
      {"DATA without MAIL", e + "DATA\r\n", "250 | 503 5.5.1"},
      {"DATA without recipients", e + m + "RCPT TO:<reject@x.example>\r\nDATA\r\n",
       "250 | 250 2.1.0 | 550 5.7.1 | 503 5.5.1"},
      {"refused DATA keeps the transaction", e + m + r + "DATA\r\n" + r,
       "250 | 250 2.1.0 | 250 2.1.5 | 451 4.3.0 | 250 2.1.5", test_options(), refuse_data},
      {"BDAT after DATA", e + m + r + "DATA\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n",
       "250 | 250 2.1.0 | 250 2.1.5 | 451 4.3.0 | 503 5.5.1 | 250 2.0.0", test_options(),
       refuse_data},
      {"DATA after BDAT", e + m + r + "BDAT 2\r\nabDATA\r\nBDAT 2 LAST\r\ncd",
       "250 | 250 2.1.0 | 250 2.1.5 | 250 2.0.0 | 503 5.5.1 | 250 2.0.0"},
      {"RCPT after BDAT", e + m + r + "BDAT 2\r\nab" + r,
       "250 | 250 2.1.0 | 250 2.1.5 | 250 2.0.0 | 503 5.5.1"},
      {"BDAT without a transaction drops the chunk", e + "BDAT 6\r\nQUIT\r\nNOOP\r\n",
       "250 | 503 5.5.1 | 250 2.0.0"},
      {"BDAT without recipients drops the chunk", e + m + "BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n",
       "250 | 250 2.1.0 | 503 5.5.1 | 250 2.0.0"},
      {"BDAT over the size limit", e + m + r + "BDAT 1001 LAST\r\n" + std::string(1001, 'x') + r,
       "250 | 250 2.1.0 | 250 2.1.5 | 552 5.3.4 | 503 5.5.1"},
      {"BDAT chunks add up to the limit",
       e + m + r + "BDAT 600\r\n" + std::string(600, 'x') + "BDAT 401 LAST\r\n" +
           std::string(401, 'y') + "NOOP\r\n",
       "250 | 250 2.1.0 | 250 2.1.5 | 250 2.0.0 | 552 5.3.4 | 250 2.0.0"},
      {"refused chunk aborts the transaction", e + m + r + "BDAT 2\r\nabBDAT 2 LAST\r\ncd",
       "250 | 250 2.1.0 | 250 2.1.5 | 452 4.3.0 | 503 5.5.1", test_options(), refuse_chunk},
      {"unparsable BDAT closes", e + "BDAT x\r\nNOOP\r\n", "250 | 501 5.5.4"},
      {"RSET keeps HELO, drops the transaction", e + m + "RSET\r\n" + r + m,
       "250 | 250 2.1.0 | 250 2.0.0 | 503 5.5.1 | 250 2.1.0"},
      {"RSET before HELO", "RSET\r\n" + m, "250 2.0.0 | 503 5.5.1"},
      {"NOOP VRFY EXPN HELP", "NOOP\r\nVRFY a\r\nEXPN b\r\nHELP\r\n",
       "250 2.0.0 | 252 2.5.0 | 502 5.5.1 | 214 2.0.0"},
      {"QUIT closes", "QUIT\r\nNOOP\r\n", "221 2.0.0"},
      {"unknown command", "FOO\r\n", "500 5.5.2"},
      {"DATA with an argument", e + m + r + "DATA now\r\n",
       "250 | 250 2.1.0 | 250 2.1.5 | 501 5.5.4"},
      {"STARTTLS not available", "STARTTLS\r\n", "454 4.7.0", no_tls},
      {"STARTTLS twice", e + "STARTTLS\r\nSTARTTLS\r\n", "250 | 220 2.0.0 | 503 5.5.1"},
      {"STARTTLS forgets HELO", e + "STARTTLS\r\n" + m + e, "250 | 220 2.0.0 | 503 5.5.1 | 250"},
      {"STARTTLS in a transaction", e + m + "STARTTLS\r\n", "250 | 250 2.1.0 | 503 5.5.1"},
      {"line too long", std::string(600, 'x') + "\r\nNOOP\r\n", "500 5.5.2 | 250 2.0.0"},
      {"bare LF in a command", "NOOP\nQUIT\r\nNOOP\r\n", "500 5.5.2 | 250 2.0.0"},
      {"bare CR in a command", "NO\rOP\r\nNOOP\r\n", "500 5.5.2 | 250 2.0.0"},
      {"too many errors", "A\r\nB\r\nC\r\nD\r\n", "500 5.5.2 | 500 5.5.2 | 421 4.7.0", strict},
      {"refusals by the caller count",
       e + m + "RCPT TO:<reject@x>\r\nRCPT TO:<tempfail@x>\r\nRCPT TO:<reject@x>\r\nNOOP\r\n",
       "250 | 250 2.1.0 | 550 5.7.1 | 451 4.3.0 | 421 4.7.0", strict},
      {"message ends the transaction", e + m + r + "DATA\r\nx\r\n.\r\n" + r + m,
       "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 503 5.5.1 | 250 2.1.0"},
      {"oversized message is refused", e + m + r + "DATA\r\n" + std::string(999, 'x') + "\r\n.\r\n",
       "250 | 250 2.1.0 | 250 2.1.5 | 354 | 554 5.6.0"},
  };
}

TEST(Transcript, EachRuleGivesTheExpectedReplies) {
  for (const Row& row : rows()) {
    const SessionRun r = replay(row.input, row.options, LineEndings::Reject, row.backend);
    EXPECT_EQ(r.codes, "220 | " + row.codes) << row.name;
  }
}

TEST(Transcript, EhloOmitsStartTlsWhenUnavailableOrActive) {
  ServerOptions no_tls = test_options();
  no_tls.starttls_available = false;
  EXPECT_EQ(replay("EHLO c\r\n", no_tls).transcript.find("STARTTLS"), std::string::npos);
  const SessionRun after = replay("STARTTLS\r\nEHLO c\r\n");
  EXPECT_EQ(after.transcript,
            "220 mx.test ESMTP\r\n220 2.0.0 Ready to start TLS\r\n"
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n");
}

TEST(Transcript, ReplyTextsForTheCommonRefusals) {
  const SessionRun r = replay("EHLO c\r\nMAIL FROM:<a@b>\r\nDATA\r\n" + std::string(600, 'x') +
                              "\r\nNOOP\nX\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_NE(r.transcript.find("503 5.5.1 No valid recipients\r\n"), std::string::npos);
  EXPECT_NE(r.transcript.find("500 5.5.2 Line too long\r\n"), std::string::npos);
  EXPECT_NE(
      r.transcript.find("500 5.5.2 Bare <CR> or <LF> not allowed (RFC 5321 section 2.3.8)\r\n"),
      std::string::npos);
  ServerOptions strict = test_options();
  strict.max_errors = 0;
  EXPECT_EQ(replay("FOO\r\n", strict).transcript,
            "220 mx.test ESMTP\r\n421 4.7.0 mx.test Error: too many errors\r\n");
}

}  // namespace
}  // namespace mxgate::smtp
