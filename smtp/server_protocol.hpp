// The SMTP server state machine (RFC 5321 §4.1.4 command order, §3.3 transactions, RFC 1869
// EHLO, RFC 2920 PIPELINING, RFC 3030 CHUNKING, RFC 3207 STARTTLS, RFC 2034 enhanced codes).
// It decides everything that depends only on the protocol: sequence, syntax, limits (SIZE,
// recipients, errors) and the replies for them. Decisions that need I/O or policy (MAIL, RCPT,
// DATA, BDAT, STARTTLS) come back as a Step the caller carries out; the caller then reports the
// reply it chose through the matching *_done() call, which returns the Step to take next.
// Every 4xx/5xx reply counts as an error; past max_errors the Step is Close with 421 4.7.0.
// So does every NOOP, RSET, VRFY or HELP past max_junk_commands since the last message
// (Postfix's smtpd_junk_command_limit): they are harmless alone, and a client that sends
// nothing else is wasting the session.
// Beyond the obvious: a BDAT line that does not parse is answered 501 and Close (the chunk
// length is unknown, the stream is lost); a BDAT whose chunks would exceed max_message_size is
// a DiscardChunk with 552 5.3.4 and ends the transaction (RFC 3030 §2); STARTTLS inside a
// transaction is 503 5.5.1. After Close, on_line() keeps returning Close with 421.
// Pure: no I/O, no clock. One instance per connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/command.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/reply.hpp"

namespace mxgate::smtp {

struct ServerOptions {
  std::string hostname = "localhost";
  std::string banner = "ESMTP";
  std::uint64_t max_message_size = 10 * 1024 * 1024;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_errors = 20;
  std::uint32_t max_junk_commands = 100;
  bool starttls_available = false;  // a certificate is configured
  bool tls_required = false;        // MAIL before STARTTLS: 530 5.7.0
  bool decide_helo = false;         // HELO/EHLO come back as a Helo step (policy checks)
};

enum class StepKind {
  Reply,         // send `reply`, read the next command
  Close,         // send `reply`, then close the connection
  StartTls,      // send `reply` (220), handshake, then call tls_started()
  Helo,          // `command` is a valid HELO/EHLO (with decide_helo); call helo_done()
  Mail,          // `command` is a valid MAIL; decide and call mail_done()
  Rcpt,          // `command` is a valid RCPT within limits; route it and call rcpt_done()
  Data,          // `command` is a valid DATA with recipients; call data_done() (354 to proceed)
  Bdat,          // read `command.chunk_size` octets as content, then call bdat_done() for a
                 // chunk without LAST, or message_done() after the LAST chunk
  DiscardChunk,  // read and drop `command.chunk_size` octets, then send `reply`
};

struct Step {
  StepKind kind = StepKind::Reply;
  Reply reply;
  Command command;
  // Set when a limit of this server refuses a MAIL, RCPT or BDAT (`reply`, with `command`):
  // the configuration key or the rule, for the refused log line.
  std::string_view limit;
};

class ServerProtocol {
 public:
  explicit ServerProtocol(ServerOptions options);

  Reply greeting() const;  // "220 <hostname> <banner>"

  Step on_line(std::string_view line);    // one framed command line
  Step on_frame_error(FrameEvent event);  // TooLong: 500 5.5.2; BareLf/BareCr: 500 5.5.2

  // A refusal (4xx/5xx) leaves the client ungreeted; an empty Reply (code 0) accepts the name
  // and sends the HELO/EHLO reply.
  Step helo_done(Reply refusal);
  Step mail_done(Reply reply);     // positive: the transaction is open
  Step rcpt_done(Reply reply);     // positive: the recipient counts
  Step data_done(Reply reply);     // 354: the caller reads the content; otherwise no data
  Step bdat_done(Reply reply);     // after a chunk without LAST; negative aborts the transaction
  Step message_done(Reply reply);  // after <CRLF>.<CRLF> or the LAST chunk; ends the transaction
  void tls_started();              // forget HELO and everything else (RFC 3207 §4.2)

  bool in_transaction() const;  // between an accepted MAIL and the end of its message
  bool tls_active() const { return tls_; }
  bool esmtp() const { return esmtp_; }
  const std::string& helo() const { return helo_; }
  const Command& mail() const { return mail_; }  // the accepted MAIL of the transaction
  std::uint32_t recipients() const { return recipients_; }
  std::uint32_t errors() const { return errors_; }

 private:
  enum class State { Fresh, Ready, Mail, Rcpt, Data, Bdat, Closed };
  Step reply(Reply reply);  // counts errors, closes past the limit
  Step refuse(Reply reply, std::string_view limit, Command command);  // see Step::limit
  Step reply_ehlo(const Command& command);
  Step on_helo(Command command);
  Step greet(const Command& command);  // accepts HELO/EHLO and replies
  Step on_mail(Command command);
  Step on_rcpt(Command command);
  Step on_data(Command command);
  Step on_bdat(Command command);
  Step on_starttls(Command command);
  Step on_other(const Command& command);
  Step junk(Reply reply);  // the reply to a NOOP, RSET, VRFY or HELP
  Step close(Reply reply);
  Step decide(StepKind kind, Command command);  // hands a command to the caller
  void reset_transaction();

  ServerOptions options_;
  State state_ = State::Fresh;
  bool tls_ = false;
  bool esmtp_ = false;
  std::string helo_;
  Command mail_;
  std::uint32_t recipients_ = 0;
  std::uint32_t errors_ = 0;
  std::uint32_t junk_commands_ = 0;  // since the last message
  Command pending_;                 // the MAIL/RCPT/DATA/BDAT the caller is deciding on
  bool used_data_ = false;          // this transaction saw DATA (no BDAT may follow)
  std::uint64_t chunk_octets_ = 0;  // BDAT octets announced in this transaction
};

}  // namespace mxgate::smtp
