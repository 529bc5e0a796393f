// The log line of one recipient's outcome, in both modes (like Postfix's "to=<...> relay=...
// delay=... dsn=... status=... (reply)"), so that "why did my mail to bob@ bounce?" has an
// answer in the log:
//   recipient id=<transaction or queue id> to=<address> relay=host[address]:port delay=<s>
//             dsn=X.Y.Z status=sent|deferred|bounced|refused reply="<code> <X.Y.Z> <text>"
// Inline mode: one per recipient refused at RCPT and one per accepted recipient once the
// downstream answered the end of data. Queue mode: one per refused RCPT, then one per recipient
// per delivery attempt (relay/queue_runner.cpp adds, for a bounce, bounce=<the DSN's id>).
// Pure.
#pragma once

#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace mxgate::relay {

struct RecipientOutcome {
  std::string_view id;       // the transaction (inline) or queued message
  std::string_view address;  // without angle brackets
  std::string_view relay;    // Downstream::relay_name(); empty: "none"
  double delay = 0;          // seconds since the message came in
  const smtp::Reply& reply;  // the reply that decided
  std::string_view status;   // sent, deferred, bounced or refused
};

// "X.Y.Z": the reply's enhanced code, or its class with ".0.0" when it has none (RFC 3463).
std::string dsn_of(const smtp::Reply& reply);

// The line, without a level; callers may append more key=value pairs.
std::string recipient_line(const RecipientOutcome& outcome);

}  // namespace mxgate::relay
