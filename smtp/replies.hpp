// Every reply mxgate's SMTP side sends, built in this one place: the banner and its greet-pause
// first line, the 421 refusals and goodbyes, the protocol's own errors (RFC 5321 §4.2.2-4.2.3,
// enhanced codes RFC 3463), the transaction replies of the relay and of queue mode, and the
// complaint intake's. Replies that decide about a sender (554 5.7.1 Blocked, 421 4.7.0 Deferred)
// come from reputation/replies.hpp, which maps a verdict to its reply.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace mxgate::smtp::replies {

// Connection and session.
Reply greeting(std::string_view hostname, std::string_view banner);  // 220
std::string greet_pause_line(std::string_view hostname);  // "220-<host> ESMTP\r\n", on the wire
enum class Crowd { Global, Network, Address };            // which session cap a client is over
Reply too_many_connections(std::string_view hostname, Crowd crowd);  // 421 4.7.0
Reply shutting_down(std::string_view hostname);                      // 421 4.3.2
Reply timeout(std::string_view hostname);                            // 421 4.4.2
Reply too_many_errors(std::string_view hostname);                    // 421 4.7.0
Reply closing(std::string_view hostname);                            // 421 4.7.0
Reply internal_error();                                              // 421 4.3.0
Reply bye();                                                         // 221

// Commands.
Reply ok();                              // 250 2.0.0 (RSET, NOOP)
Reply hello(std::string_view hostname);  // 250 to HELO
// 250 to EHLO: the extensions (RFC 1869 §4.3; no enhanced codes on it), STARTTLS when offered.
Reply ehlo(std::string_view hostname, std::uint64_t max_message_size, bool starttls);
Reply sender_ok();                                      // 250 2.1.0
Reply recipient_ok();                                   // 250 2.1.5
Reply unknown_command();                                // 500 5.5.2
Reply syntax_error(std::string_view why);               // 501 5.5.4
Reply unsupported_parameter(std::string_view keyword);  // 555 5.5.4 (keyword shown_text)

// A piece of the client's command quoted in a reply: at most kMaxShownText octets ("..." when
// cut), each octet outside printable ASCII as '?', so that a reply line stays within RFC 5321
// §4.5.3.1.5's 512 octets and carries nothing but text.
inline constexpr std::size_t kMaxShownText = 64;
std::string shown_text(std::string_view client_text);
enum class Sequence {
  HeloFirst,
  NestedMail,
  NeedMail,
  RcptAfterBdat,
  DataAfterBdat,
  BdatAfterData,
  NoRecipients,
  TlsActive,
  TlsInTransaction,
};
Reply bad_sequence(Sequence what);  // 503 5.5.1
Reply starttls_first();             // 530 5.7.0 (RFC 3207)
Reply parameters_need_ehlo();       // 555 5.5.4 (RFC 5321 §4.1.1.11)
Reply binarymime_unsupported();     // 555 5.5.4 (RFC 3030 §3)
Reply message_over_limit();         // 552 5.3.4 (RFC 1870 §6.2)
Reply needs_smtputf8();             // 553 5.6.7 (RFC 6531 §3.5)
Reply too_many_recipients();        // 452 4.5.3 (RFC 5321 §4.5.3.1.10)
Reply tls_unavailable();            // 454 4.7.0
Reply ready_for_tls();              // 220 2.0.0
Reply plaintext_after_starttls();   // 554 5.5.1 (RFC 3207 §4.2, CVE-2011-0411)
Reply vrfy();                       // 252 2.5.0 (RFC 5321 §3.5.3)
Reply expn();                       // 502 5.5.1
Reply help();                       // 214 2.0.0
Reply line_too_long();              // 500 5.5.2 (RFC 5321 §4.5.3.1.4)
Reply bare_line_ending();           // 500 5.5.2 (RFC 5321 §2.3.8)

// Message content.
Reply start_data();                          // 354
Reply chunk_received(std::uint64_t octets);  // 250 2.0.0 after a BDAT chunk (RFC 3030)
Reply message_too_big();                     // 552 5.3.4
Reply bare_line_ending_in_data();            // 554 5.5.2 (RFC 5321 §2.3.8)
Reply data_line_too_long();                  // 554 5.6.0 (RFC 5321 §4.5.3.1.6)
// 451 4.3.1 (RFC 3463 §3.4, "mail system full"): no memory or disk left to hold a message.
Reply insufficient_resources();

// Relaying and queue mode.
Reply relaying_denied();               // 550 5.7.1
Reply other_route();                   // 452 4.5.3: a recipient of another route
Reply downstream_unavailable();        // 451 4.4.1
Reply no_valid_recipients();           // 554 5.5.1
Reply transaction_out_of_order();      // 503 5.5.1: the relay's own sequence check
Reply queued_as(std::string_view id);  // 250 2.0.0
Reply discarded();                     // 250 2.0.0: accepted and dropped, as a filter asked
Reply queue_write_error();             // 451 4.3.0

// Complaint reports by mail (postmaster/feedback_intake.hpp).
Reply separate_transactions();                // 452 4.5.3
Reply complaint_counted();                    // 250 2.0.0
Reply not_a_complaint(std::string_view why);  // 550 5.6.0

// Recipient verification (relay/verify.hpp). RFC 3463 §3.2 X.1.1 "bad destination mailbox
// address"; the 450 is Postfix's unverified_recipient_tempfail_code with the 4.1.1 it sends:
// the mailbox cannot be confirmed now, the client's queue retries.
Reply recipient_unknown();     // 550 5.1.1
Reply recipient_unverified();  // 450 4.1.1

}  // namespace mxgate::smtp::replies
