// The ServerProtocol API as the session code uses it: the Step kinds, the *_done() contract
// and the accessors. The reply rules themselves are covered by transcript_test.cpp.
#include "smtp/server_protocol.hpp"

#include <gtest/gtest.h>

namespace mxgate::smtp {
namespace {

ServerOptions options() {
  ServerOptions o;
  o.hostname = "mx.test";
  o.banner = "ESMTP ready";
  o.max_message_size = 1000;
  o.max_recipients = 3;
  o.max_errors = 2;
  return o;
}

const Reply kOk = Reply::make(250, "2.0.0", "Ok");
const Reply kRefused = Reply::make(550, "5.7.1", "No");

// EHLO, MAIL and one RCPT, all accepted.
ServerProtocol with_recipient() {
  ServerProtocol p(options());
  EXPECT_EQ(p.on_line("EHLO c").kind, StepKind::Reply);
  EXPECT_EQ(p.on_line("MAIL FROM:<a@b.example> SIZE=10").kind, StepKind::Mail);
  p.mail_done(kOk);
  EXPECT_EQ(p.on_line("RCPT TO:<c@d.example>").kind, StepKind::Rcpt);
  p.rcpt_done(kOk);
  return p;
}

TEST(ServerProtocol, GreetsWithHostnameAndBanner) {
  EXPECT_EQ(ServerProtocol(options()).greeting().wire(), "220 mx.test ESMTP ready\r\n");
}

TEST(ServerProtocol, HandsTransactionCommandsToTheCaller) {
  ServerProtocol p(options());
  p.on_line("EHLO client.example");
  EXPECT_TRUE(p.esmtp());
  EXPECT_EQ(p.helo(), "client.example");
  const Step mail = p.on_line("MAIL FROM:<a@b.example> SIZE=10");
  ASSERT_EQ(mail.kind, StepKind::Mail);
  EXPECT_EQ(mail.command.path.address(), "a@b.example");
  EXPECT_FALSE(p.in_transaction());  // not before the caller accepts it
  EXPECT_EQ(p.mail_done(Reply::make(250, "2.1.0", "Ok")).reply.code, 250);
  EXPECT_TRUE(p.in_transaction());
  EXPECT_EQ(p.mail().size, 10U);
  const Step rcpt = p.on_line("RCPT TO:<c@d.example>");
  ASSERT_EQ(rcpt.kind, StepKind::Rcpt);
  EXPECT_EQ(rcpt.command.path.domain, "d.example");
  p.rcpt_done(kRefused);
  EXPECT_EQ(p.recipients(), 0U);
  p.on_line("RCPT TO:<c@d.example>");
  p.rcpt_done(kOk);
  EXPECT_EQ(p.recipients(), 1U);
}

TEST(ServerProtocol, ARefusalByALimitNamesItsKeyAndKeepsTheCommand) {
  ServerProtocol p = with_recipient();
  p.on_line("RCPT TO:<e@d.example>");
  p.rcpt_done(kOk);
  p.on_line("RCPT TO:<f@d.example>");
  p.rcpt_done(kOk);
  const Step over = p.on_line("RCPT TO:<g@d.example>");
  EXPECT_EQ(over.reply.code, 452);
  EXPECT_EQ(over.limit, "server.max_recipients");
  EXPECT_EQ(over.command.path.address(), "g@d.example");
  const Step sequence = p.on_line("MAIL FROM:<a@b.example>");
  EXPECT_EQ(sequence.reply.code, 503);
  EXPECT_TRUE(sequence.limit.empty()) << "a protocol error is no refusal by a limit";
}

TEST(ServerProtocol, RefusedMailOpensNoTransaction) {
  ServerProtocol p(options());
  p.on_line("EHLO c");
  p.on_line("MAIL FROM:<a@b>");
  p.mail_done(Reply::make(451, "4.7.1", "Later"));
  EXPECT_FALSE(p.in_transaction());
  EXPECT_EQ(p.errors(), 1U);
  EXPECT_EQ(p.on_line("RCPT TO:<c@d>").reply.code, 503);
}

TEST(ServerProtocol, DataThenMessageDoneEndsTheTransaction) {
  ServerProtocol p = with_recipient();
  ASSERT_EQ(p.on_line("DATA").kind, StepKind::Data);
  const Step go = p.data_done(Reply::make(354, "", "Go ahead"));
  EXPECT_EQ(go.kind, StepKind::Reply);
  EXPECT_EQ(go.reply.code, 354);
  EXPECT_TRUE(p.in_transaction());
  const Step done = p.message_done(Reply::make(250, "2.0.0", "Ok: queued as X"));
  EXPECT_EQ(done.reply.wire(), "250 2.0.0 Ok: queued as X\r\n");
  EXPECT_FALSE(p.in_transaction());
  EXPECT_EQ(p.recipients(), 0U);
  EXPECT_EQ(p.errors(), 0U);
}

TEST(ServerProtocol, NegativeDataReplyKeepsTheTransaction) {
  ServerProtocol p = with_recipient();
  p.on_line("DATA");
  EXPECT_EQ(p.data_done(Reply::make(451, "4.3.0", "Not now")).kind, StepKind::Reply);
  EXPECT_TRUE(p.in_transaction());
  EXPECT_EQ(p.recipients(), 1U);
  EXPECT_EQ(p.errors(), 1U);
}

TEST(ServerProtocol, BdatChunksAndLast) {
  ServerProtocol p = with_recipient();
  const Step chunk = p.on_line("BDAT 100");
  ASSERT_EQ(chunk.kind, StepKind::Bdat);
  EXPECT_EQ(chunk.command.chunk_size, 100U);
  EXPECT_FALSE(chunk.command.last_chunk);
  p.bdat_done(kOk);
  EXPECT_TRUE(p.in_transaction());
  const Step last = p.on_line("BDAT 0 LAST");
  ASSERT_EQ(last.kind, StepKind::Bdat);
  EXPECT_TRUE(last.command.last_chunk);
  p.message_done(kOk);
  EXPECT_FALSE(p.in_transaction());
}

TEST(ServerProtocol, NegativeBdatReplyAbortsTheTransaction) {
  ServerProtocol p = with_recipient();
  p.on_line("BDAT 10");
  p.bdat_done(Reply::make(452, "4.3.1", "Out of space"));
  EXPECT_FALSE(p.in_transaction());
  const Step next = p.on_line("BDAT 10 LAST");  // already pipelined: read and drop it
  EXPECT_EQ(next.kind, StepKind::DiscardChunk);
  EXPECT_EQ(next.command.chunk_size, 10U);
  EXPECT_EQ(next.reply.code, 503);
}

TEST(ServerProtocol, UnparsableBdatCloses) {
  ServerProtocol p = with_recipient();
  const Step s = p.on_line("BDAT ten");
  EXPECT_EQ(s.kind, StepKind::Close);
  EXPECT_EQ(s.reply.code, 501);
}

TEST(ServerProtocol, StartTlsResetsEverything) {
  ServerOptions o = options();
  o.starttls_available = true;
  ServerProtocol p(o);
  p.on_line("EHLO c");
  const Step s = p.on_line("STARTTLS");
  ASSERT_EQ(s.kind, StepKind::StartTls);
  EXPECT_EQ(s.reply.wire(), "220 2.0.0 Ready to start TLS\r\n");
  p.tls_started();
  EXPECT_TRUE(p.tls_active());
  EXPECT_FALSE(p.esmtp());
  EXPECT_EQ(p.helo(), "");
  EXPECT_EQ(p.on_line("MAIL FROM:<a@b>").reply.code, 503);
}

TEST(ServerProtocol, NothingIsAcceptedAfterClose) {
  ServerProtocol p(options());
  EXPECT_EQ(p.on_line("QUIT").kind, StepKind::Close);
  for (const char* line : {"NOOP", "EHLO c", "QUIT"}) {
    const Step s = p.on_line(line);
    EXPECT_EQ(s.kind, StepKind::Close) << line;
    EXPECT_EQ(s.reply.code, 421) << line;
  }
  EXPECT_EQ(p.on_frame_error(FrameEvent::TooLong).kind, StepKind::Close);
}

TEST(ServerProtocol, ClosesPastTheErrorLimit) {
  ServerProtocol p(options());  // max_errors = 2
  EXPECT_EQ(p.on_line("X").kind, StepKind::Reply);
  EXPECT_EQ(p.on_frame_error(FrameEvent::BareLf).kind, StepKind::Reply);
  const Step s = p.on_line("EXPN x");  // 502 counts too
  EXPECT_EQ(s.kind, StepKind::Close);
  EXPECT_EQ(s.reply.wire(), "421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_EQ(p.errors(), 3U);
}

TEST(ServerProtocol, JunkCommandsPastTheirLimitCountAsErrors) {
  ServerOptions o = options();  // max_errors = 2
  o.max_junk_commands = 3;
  ServerProtocol p(o);
  p.on_line("EHLO c");
  for (const char* line : {"NOOP", "RSET", "VRFY x", "HELP"}) {  // the 4th is over the limit
    EXPECT_EQ(p.on_line(line).kind, StepKind::Reply) << line;
  }
  EXPECT_EQ(p.errors(), 1U);
  EXPECT_EQ(p.on_line("NOOP").kind, StepKind::Reply);
  const Step s = p.on_line("NOOP");
  EXPECT_EQ(s.kind, StepKind::Close);
  EXPECT_EQ(s.reply.wire(), "421 4.7.0 mx.test Error: too many errors\r\n");
}

TEST(ServerProtocol, AMessageStartsTheJunkCountAgain) {
  ServerOptions o = options();
  o.max_junk_commands = 2;
  ServerProtocol p(o);
  p.on_line("EHLO c");
  p.on_line("NOOP");
  p.on_line("NOOP");
  p.on_line("MAIL FROM:<a@b.example>");
  p.mail_done(kOk);
  p.on_line("RCPT TO:<c@d.example>");
  p.rcpt_done(kOk);
  p.on_line("DATA");
  p.data_done(Reply::make(354, "", "Go ahead"));
  p.message_done(kOk);
  p.on_line("NOOP");
  p.on_line("NOOP");
  EXPECT_EQ(p.errors(), 0U);
  p.on_line("NOOP");
  EXPECT_EQ(p.errors(), 1U);
}

TEST(ServerProtocol, DiscardedChunkPastTheErrorLimitCloses) {
  ServerProtocol p(options());
  p.on_line("X");
  p.on_line("Y");
  EXPECT_EQ(p.on_line("BDAT 10").kind, StepKind::Close);
}

TEST(ServerProtocol, DecideHeloHandsTheNameToTheCaller) {
  ServerOptions options;
  options.decide_helo = true;
  ServerProtocol p(options);
  Step helo = p.on_line("EHLO client.example");
  ASSERT_EQ(helo.kind, StepKind::Helo);
  EXPECT_EQ(helo.command.argument, "client.example");
  // Until the caller accepts the name the client is not greeted.
  Step refused = p.helo_done(Reply::make(450, "4.7.1", "Deferred"));
  EXPECT_EQ(refused.reply.code, 450);
  EXPECT_EQ(p.on_line("MAIL FROM:<a@b.example>").reply.code, 503);
  ASSERT_EQ(p.on_line("EHLO client.example").kind, StepKind::Helo);
  Step greeted = p.helo_done(Reply{});
  EXPECT_EQ(greeted.reply.code, 250);
  EXPECT_TRUE(p.esmtp());
  EXPECT_EQ(p.helo(), "client.example");
  EXPECT_EQ(p.on_line("MAIL FROM:<a@b.example>").kind, StepKind::Mail);
}

}  // namespace
}  // namespace mxgate::smtp
