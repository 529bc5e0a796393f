// The SMTP server state machine. See server_protocol.hpp for the contract.
// Command order: RFC 5321 §4.1.4 and §3.3; replies: §4.2.2-4.2.3, enhanced codes RFC 3463.
#include "smtp/server_protocol.hpp"

#include <cassert>
#include <utility>

#include "smtp/path.hpp"
#include "smtp/replies.hpp"

namespace mxgate::smtp {
namespace {

bool has_mail_parameters(const Command& command) {
  return command.size.has_value() || command.body != Body::Unspecified || command.smtputf8;
}

// A BDAT line that does not parse leaves us not knowing how many octets follow (RFC 3030 §2).
bool looks_like_bdat(std::string_view line) {
  return line.size() >= 4 && detail::iequals(line.substr(0, 4), "BDAT") &&
         (line.size() == 4 || line[4] == ' ' || line[4] == '\t');
}

}  // namespace

ServerProtocol::ServerProtocol(ServerOptions options) : options_(std::move(options)) {}

Reply ServerProtocol::greeting() const {
  return replies::greeting(options_.hostname, options_.banner);
}

bool ServerProtocol::in_transaction() const {
  return state_ == State::Mail || state_ == State::Rcpt || state_ == State::Data ||
         state_ == State::Bdat;
}

Step ServerProtocol::on_line(std::string_view line) {
  if (state_ == State::Closed) {
    return {StepKind::Close, replies::closing(options_.hostname)};
  }
  // A caller bug: command lines cannot arrive while message content is being read.
  assert(state_ != State::Data);
  if (state_ == State::Data) return close(replies::internal_error());
  ParseResult parsed = parse_command(line);
  if (!parsed.command) {
    if (looks_like_bdat(line)) return close(std::move(parsed.error));
    return reply(std::move(parsed.error));
  }
  Command& command = *parsed.command;
  switch (command.verb) {
    case Verb::Helo:
    case Verb::Ehlo:
      return on_helo(std::move(command));
    case Verb::Mail:
      return on_mail(std::move(command));
    case Verb::Rcpt:
      return on_rcpt(std::move(command));
    case Verb::Data:
      return on_data(std::move(command));
    case Verb::Bdat:
      return on_bdat(std::move(command));
    case Verb::StartTls:
      return on_starttls(std::move(command));
    default:
      return on_other(command);
  }
}

// RFC 5321 §4.1.1.1: EHLO/HELO may come again at any time and reset the transaction.
Step ServerProtocol::on_helo(Command command) {
  reset_transaction();
  if (options_.decide_helo) {
    state_ = State::Fresh;  // until helo_done() accepts the name
    helo_.clear();
    return decide(StepKind::Helo, std::move(command));
  }
  return greet(command);
}

Step ServerProtocol::helo_done(Reply refusal) {
  Command command = std::move(pending_);
  pending_ = Command{};
  if (refusal.code != 0) return reply(std::move(refusal));
  return greet(command);
}

Step ServerProtocol::greet(const Command& command) {
  state_ = State::Ready;
  esmtp_ = command.verb == Verb::Ehlo;
  helo_ = command.argument;
  if (esmtp_) return reply_ehlo(command);
  return reply(replies::hello(options_.hostname));
}

// RFC 1869 §4.3: the EHLO reply lists the extensions; enhanced codes do not go on it.
Step ServerProtocol::reply_ehlo(const Command&) {
  return reply(replies::ehlo(options_.hostname, options_.max_message_size,
                             options_.starttls_available && !tls_));
}

Step ServerProtocol::on_mail(Command command) {
  if (state_ == State::Fresh) return reply(replies::bad_sequence(replies::Sequence::HeloFirst));
  if (options_.tls_required && !tls_) {
    return refuse(replies::starttls_first(), "tls.require", std::move(command));
  }
  if (in_transaction()) return reply(replies::bad_sequence(replies::Sequence::NestedMail));
  if (!esmtp_ && has_mail_parameters(command)) {
    return reply(replies::parameters_need_ehlo());
  }
  if (command.body == Body::BinaryMime) {  // RFC 3030 §3: only when BINARYMIME is advertised
    return refuse(replies::binarymime_unsupported(), "binarymime", std::move(command));
  }
  if (command.size && *command.size > options_.max_message_size) {  // RFC 1870 §6.2
    return refuse(replies::message_over_limit(), "server.max_message_size", std::move(command));
  }
  if (!command.path.ascii() && !command.smtputf8) {  // RFC 6531 §3.5
    return refuse(replies::needs_smtputf8(), "smtputf8", std::move(command));
  }
  return decide(StepKind::Mail, std::move(command));
}

Step ServerProtocol::on_rcpt(Command command) {
  if (state_ == State::Fresh || state_ == State::Ready) {
    return reply(replies::bad_sequence(replies::Sequence::NeedMail));
  }
  if (state_ == State::Bdat) return reply(replies::bad_sequence(replies::Sequence::RcptAfterBdat));
  if (!command.path.ascii() && !mail_.smtputf8) {  // RFC 6531 §3.5
    return refuse(replies::needs_smtputf8(), "smtputf8", std::move(command));
  }
  if (recipients_ >= options_.max_recipients) {  // RFC 5321 §4.5.3.1.10
    return refuse(replies::too_many_recipients(), "server.max_recipients", std::move(command));
  }
  return decide(StepKind::Rcpt, std::move(command));
}

Step ServerProtocol::on_data(Command command) {
  if (state_ == State::Fresh || state_ == State::Ready) {
    return reply(replies::bad_sequence(replies::Sequence::NeedMail));
  }
  if (state_ == State::Bdat)
    return reply(replies::bad_sequence(replies::Sequence::DataAfterBdat));  // RFC 3030 §2
  if (state_ == State::Mail)
    return reply(replies::bad_sequence(replies::Sequence::NoRecipients));  // §3.3
  used_data_ = true;
  return decide(StepKind::Data, std::move(command));
}

// RFC 3030 §2: a refused BDAT chunk must still be read, or the stream loses its framing.
Step ServerProtocol::on_bdat(Command command) {
  Step step;
  if (state_ == State::Fresh || state_ == State::Ready) {
    step = reply(replies::bad_sequence(replies::Sequence::NeedMail));
  } else if (state_ == State::Mail) {
    step = reply(replies::bad_sequence(replies::Sequence::NoRecipients));
  } else if (used_data_) {
    step = reply(replies::bad_sequence(replies::Sequence::BdatAfterData));
  } else if (command.chunk_size > options_.max_message_size - chunk_octets_) {
    reset_transaction();  // RFC 3030 §2: a failed chunk fails the transaction
    step = reply(replies::message_over_limit());
    step.limit = "server.max_message_size";
  } else {
    chunk_octets_ += command.chunk_size;
    state_ = State::Bdat;
    return decide(StepKind::Bdat, std::move(command));
  }
  if (step.kind == StepKind::Reply) step.kind = StepKind::DiscardChunk;
  step.command = std::move(command);
  return step;
}

Step ServerProtocol::on_starttls(Command command) {
  if (!options_.starttls_available) return reply(replies::tls_unavailable());
  if (tls_) return reply(replies::bad_sequence(replies::Sequence::TlsActive));
  if (in_transaction()) return reply(replies::bad_sequence(replies::Sequence::TlsInTransaction));
  return Step{StepKind::StartTls, replies::ready_for_tls(), std::move(command)};
}

Step ServerProtocol::on_other(const Command& command) {
  switch (command.verb) {
    case Verb::Rset:  // RFC 5321 §4.1.1.5: the transaction goes, HELO stays
      reset_transaction();
      return junk(replies::ok());
    case Verb::Noop:
      return junk(replies::ok());
    case Verb::Vrfy:  // RFC 5321 §3.5.3, §7.3
      return junk(replies::vrfy());
    case Verb::Expn:
      return reply(replies::expn());
    case Verb::Help:
      return junk(replies::help());
    case Verb::Quit:
      return close(replies::bye());
    default:
      break;
  }
  return reply(replies::unknown_command());
}

Step ServerProtocol::on_frame_error(FrameEvent event) {
  if (state_ == State::Closed) return on_line({});
  if (event == FrameEvent::TooLong) {  // RFC 5321 §4.5.3.1.4, §4.2.2
    return reply(replies::line_too_long());
  }
  assert(event == FrameEvent::BareLf || event == FrameEvent::BareCr);
  return reply(replies::bare_line_ending());
}

Step ServerProtocol::mail_done(Reply reply_to_send) {
  if (reply_to_send.positive() && state_ == State::Ready) {
    Command mail = std::move(pending_);
    reset_transaction();
    mail_ = std::move(mail);
    state_ = State::Mail;
  }
  return reply(std::move(reply_to_send));
}

Step ServerProtocol::rcpt_done(Reply reply_to_send) {
  if (reply_to_send.positive() && (state_ == State::Mail || state_ == State::Rcpt)) {
    ++recipients_;
    state_ = State::Rcpt;
  }
  return reply(std::move(reply_to_send));
}

Step ServerProtocol::data_done(Reply reply_to_send) {
  // Any other reply keeps the transaction: the client may RSET or try again.
  if (reply_to_send.code == 354 && state_ == State::Rcpt) state_ = State::Data;
  return reply(std::move(reply_to_send));
}

Step ServerProtocol::bdat_done(Reply reply_to_send) {
  if (!reply_to_send.positive()) reset_transaction();  // RFC 3030 §2
  return reply(std::move(reply_to_send));
}

Step ServerProtocol::message_done(Reply reply_to_send) {
  reset_transaction();
  if (reply_to_send.positive()) junk_commands_ = 0;
  return reply(std::move(reply_to_send));
}

void ServerProtocol::tls_started() {
  // RFC 3207 §4.2: discard all knowledge obtained from the client before the handshake.
  reset_transaction();
  tls_ = true;
  esmtp_ = false;
  helo_.clear();
  if (state_ != State::Closed) state_ = State::Fresh;
}

Step ServerProtocol::reply(Reply reply_to_send) {
  if (reply_to_send.code >= 400 && ++errors_ > options_.max_errors) {
    return close(replies::too_many_errors(options_.hostname));
  }
  return Step{StepKind::Reply, std::move(reply_to_send), {}};
}

Step ServerProtocol::junk(Reply reply_to_send) {
  if (++junk_commands_ > options_.max_junk_commands && ++errors_ > options_.max_errors) {
    return close(replies::too_many_errors(options_.hostname));
  }
  return reply(std::move(reply_to_send));
}

Step ServerProtocol::refuse(Reply reply_to_send, std::string_view limit, Command command) {
  Step step = reply(std::move(reply_to_send));
  if (step.kind != StepKind::Reply) return step;  // past max_errors: the session closes
  step.limit = limit;
  step.command = std::move(command);
  return step;
}

Step ServerProtocol::close(Reply reply_to_send) {
  reset_transaction();
  state_ = State::Closed;
  return Step{StepKind::Close, std::move(reply_to_send), {}};
}

Step ServerProtocol::decide(StepKind kind, Command command) {
  pending_ = command;
  return Step{kind, {}, std::move(command)};
}

void ServerProtocol::reset_transaction() {
  mail_ = Command{};
  pending_ = Command{};
  recipients_ = 0;
  used_data_ = false;
  chunk_octets_ = 0;
  if (in_transaction()) state_ = State::Ready;
}

}  // namespace mxgate::smtp
