#include "smtp/replies.hpp"

#include <fmt/format.h>

namespace mxgate::smtp::replies {

Reply greeting(std::string_view hostname, std::string_view banner) {
  return Reply::make(220, "", fmt::format("{} {}", hostname, banner));
}

std::string greet_pause_line(std::string_view hostname) {
  return fmt::format("220-{} ESMTP\r\n", hostname);
}

Reply too_many_connections(std::string_view hostname, Crowd crowd) {
  static constexpr std::string_view kFrom[] = {"", " from your network", " from your address"};
  const std::string_view later = crowd == Crowd::Global ? ", try again later" : "";
  return Reply::make(421, "4.7.0",
                     fmt::format("{} Error: too many connections{}{}", hostname,
                                 kFrom[static_cast<int>(crowd)], later));
}

Reply shutting_down(std::string_view hostname) {
  return Reply::make(421, "4.3.2",
                     fmt::format("{} Service shutting down, try again later", hostname));
}

Reply timeout(std::string_view hostname) {
  return Reply::make(421, "4.4.2", fmt::format("{} Error: timeout exceeded", hostname));
}

Reply too_many_errors(std::string_view hostname) {
  return Reply::make(421, "4.7.0", fmt::format("{} Error: too many errors", hostname));
}

Reply closing(std::string_view hostname) {
  return Reply::make(421, "4.7.0", fmt::format("{} Error: closing", hostname));
}

Reply internal_error() { return Reply::make(421, "4.3.0", "Internal protocol error"); }
Reply bye() { return Reply::make(221, "2.0.0", "Bye"); }

Reply ok() { return Reply::make(250, "2.0.0", "Ok"); }
Reply hello(std::string_view hostname) { return Reply::make(250, "", hostname); }
Reply ehlo(std::string_view hostname, std::uint64_t max_message_size, bool starttls) {
  Reply reply{250,
              "",
              {std::string(hostname), "PIPELINING", fmt::format("SIZE {}", max_message_size),
               "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"}};
  if (starttls) reply.lines.emplace_back("STARTTLS");
  return reply;
}

Reply sender_ok() { return Reply::make(250, "2.1.0", "Ok"); }
Reply recipient_ok() { return Reply::make(250, "2.1.5", "Ok"); }
Reply unknown_command() { return Reply::make(500, "5.5.2", "Error: command not recognized"); }
Reply syntax_error(std::string_view why) { return Reply::make(501, "5.5.4", why); }

Reply unsupported_parameter(std::string_view keyword) {
  return Reply::make(555, "5.5.4", "Unsupported parameter " + shown_text(keyword));
}

std::string shown_text(std::string_view client_text) {
  const bool cut = client_text.size() > kMaxShownText;
  std::string out(client_text.substr(0, kMaxShownText));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (cut) out += "...";
  return out;
}

Reply bad_sequence(Sequence what) {
  static constexpr std::string_view kTexts[] = {"Error: send HELO/EHLO first",
                                                "Error: nested MAIL command",
                                                "Error: need MAIL command",
                                                "Error: RCPT after BDAT",
                                                "Error: DATA after BDAT",
                                                "Error: BDAT after DATA",
                                                "No valid recipients",
                                                "Error: TLS already active",
                                                "Error: MAIL transaction in progress"};
  return Reply::make(503, "5.5.1", kTexts[static_cast<int>(what)]);
}

Reply starttls_first() { return Reply::make(530, "5.7.0", "Must issue a STARTTLS command first"); }
Reply parameters_need_ehlo() { return Reply::make(555, "5.5.4", "ESMTP parameters require EHLO"); }
Reply binarymime_unsupported() {
  return Reply::make(555, "5.5.4", "BODY=BINARYMIME not supported");
}
Reply message_over_limit() { return Reply::make(552, "5.3.4", "Message size exceeds fixed limit"); }
Reply needs_smtputf8() { return Reply::make(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"); }
Reply too_many_recipients() { return Reply::make(452, "4.5.3", "Too many recipients"); }
Reply tls_unavailable() { return Reply::make(454, "4.7.0", "TLS not available"); }
Reply ready_for_tls() { return Reply::make(220, "2.0.0", "Ready to start TLS"); }

Reply plaintext_after_starttls() {
  return Reply::make(554, "5.5.1", "Error: plaintext pipelined behind STARTTLS");
}

Reply vrfy() {
  return Reply::make(252, "2.5.0",
                     "Cannot VRFY user, but will accept message and attempt delivery");
}

Reply expn() { return Reply::make(502, "5.5.1", "EXPN not supported"); }

Reply help() {
  return Reply::make(
      214, "2.0.0",
      "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS; see RFC 5321");
}

Reply line_too_long() { return Reply::make(500, "5.5.2", "Line too long"); }

Reply bare_line_ending() {
  return Reply::make(500, "5.5.2", "Bare <CR> or <LF> not allowed (RFC 5321 section 2.3.8)");
}

Reply start_data() { return Reply::make(354, "", "End data with <CR><LF>.<CR><LF>"); }

Reply chunk_received(std::uint64_t octets) {
  return Reply::make(250, "2.0.0", fmt::format("{} octets received", octets));
}

Reply message_too_big() {
  return Reply::make(552, "5.3.4", "Error: message size exceeds fixed maximum message size");
}

Reply bare_line_ending_in_data() {
  return Reply::make(554, "5.5.2",
                     "Error: bare <CR> or <LF> in message data (RFC 5321 section 2.3.8); "
                     "message discarded");
}

Reply data_line_too_long() {
  return Reply::make(554, "5.6.0",
                     "Error: line longer than 1000 octets (RFC 5321 section 4.5.3.1.6); "
                     "message discarded");
}

Reply insufficient_resources() {
  return Reply::make(451, "4.3.1", "Insufficient system resources, try again later");
}

Reply relaying_denied() { return Reply::make(550, "5.7.1", "Relaying denied"); }

Reply other_route() {
  return Reply::make(452, "4.5.3",
                     "Recipient routes to another server, try again in a new transaction");
}

Reply downstream_unavailable() {
  return Reply::make(451, "4.4.1", "Downstream unavailable, try again later");
}

Reply no_valid_recipients() { return Reply::make(554, "5.5.1", "No valid recipients"); }
Reply transaction_out_of_order() { return Reply::make(503, "5.5.1", "Bad sequence of commands"); }
Reply discarded() { return Reply::make(250, "2.0.0", "Ok"); }

Reply queued_as(std::string_view id) {
  return Reply::make(250, "2.0.0", fmt::format("Ok: queued as {}", id));
}
Reply queue_write_error() { return Reply::make(451, "4.3.0", "Error: queue file write error"); }

Reply separate_transactions() {
  return Reply::make(452, "4.5.3", "Complaint reports and other mail go in separate transactions");
}

Reply complaint_counted() { return Reply::make(250, "2.0.0", "Ok: complaint counted"); }

Reply not_a_complaint(std::string_view why) {
  return Reply::make(550, "5.6.0", fmt::format("Not a complaint report (RFC 5965): {}", why));
}

Reply recipient_unknown() {
  return Reply::make(550, "5.1.1", "Recipient address rejected: User unknown");
}

Reply recipient_unverified() {
  return Reply::make(450, "4.1.1",
                     "Recipient address rejected: unverified address, try again later");
}

}  // namespace mxgate::smtp::replies
