// Transaction: where a session hands one mail transaction (MAIL, RCPTs, content). Two kinds:
// InlineRelay (inline mode: each step forwarded to the mailbox servers as it happens, the
// client's replies are theirs) and QueueIntake (queue mode: recipients routed here, content
// stored in the durable spool, "250 ... queued as <id>" once it is on disk). Wrappers
// (VerifyingTransaction, postmaster::FeedbackIntake) forward what they do not handle.
// The calls come in this order: client(), mail(), rcpt()..., [release()], data(),
// [reroute_to_quarantine()], content()..., end(); abort() at any time.
// Threading: one per session, on the session's worker.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

#include "smtp/client_protocol.hpp"
#include "smtp/command.hpp"
#include "smtp/reply.hpp"

namespace mxgate::relay {

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Who the original client is, for a route that forwards it (XCLIENT/XFORWARD); before mail().
  virtual void client(const smtp::ClientIdentity& client) = 0;
  // Starts a transaction for the accepted MAIL (no I/O yet).
  virtual void mail(const smtp::Command& mail) = 0;
  // One recipient; the reply for the client. `quarantine`: to the quarantine route, if any.
  virtual boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient,
                                                   bool quarantine = false) = 0;
  // The caller holds this message's content until its end of data (it judges the message
  // first) and is about to call data(): from now until end(), the transaction holds nothing
  // downstream, so that a client trickling its content holds no connection of the mailbox
  // servers. InlineRelay gives its connection back to the pool and keeps the envelope; data()
  // then answers 354 itself (on the same conditions as otherwise), and the first content(),
  // reroute_to_quarantine() or end() replays the envelope and DATA on a connection taken again
  // (a refusal or a lost downstream there: end() answers 451 4.4.1, nothing is delivered).
  // Implementations that hold nothing downstream (queue mode) ignore it. No I/O.
  virtual void release() = 0;
  // DATA (or its equivalent); 354 means content may follow.
  virtual boost::asio::awaitable<smtp::Reply> data() = 0;
  // Decoded content (CRLF line endings, no transparency dots). false: it failed; the caller
  // keeps reading the client's data and calls end() for the reply.
  virtual boost::asio::awaitable<bool> content(std::string_view chunk) = 0;
  // The end of data quarantined the message: the transaction goes to the router's quarantine
  // route instead (the same sender and the recipients accepted so far), after data() and
  // before any content was passed on. Nothing changes without a quarantine route or when the
  // transaction already goes there. false: the quarantine route did not take it; end() then
  // answers 4xx.
  virtual boost::asio::awaitable<bool> reroute_to_quarantine() = 0;
  // The final reply; the transaction is over afterwards.
  virtual boost::asio::awaitable<smtp::Reply> end() = 0;
  // Abandons the transaction: nothing of it is delivered.
  virtual void abort() = 0;
  // The downstream of the transaction's last reply, for the log ("host[address]:port"); empty
  // when no downstream answered (queue mode's intake, no connection). Kept after end().
  virtual std::string relay_name() const = 0;
};

}  // namespace mxgate::relay
