// Inline relaying of one client session's transactions to the mailbox servers: nothing is
// acknowledged to the client before the downstream acknowledged it.
// - The downstream connection is taken from the worker's Pool (RSET between transactions) or
//   opened at the first RCPT of a transaction; MAIL is sent then (pipelined with the first RCPT
//   when the downstream offers PIPELINING). Each RCPT's reply is the downstream's own.
// - Recipients whose route differs from the transaction's first route get 452 4.5.3 so that
//   the client retries them in another transaction; unrouted domains get 550 5.7.1.
// - Content is streamed as it arrives (dot-stuffed here); the final reply is the downstream's.
//   Such a transaction holds its connection from the first RCPT to the end of the message.
// - A message that the session holds until its end of data (release(), issue 22) holds no
//   connection while the client sends it: at DATA the connection goes back to the pool (its
//   next user's RSET drops the open transaction) and the client gets our own 354; at the end
//   of data a connection is taken again and MAIL, the accepted RCPTs (one write with
//   PIPELINING) and DATA are replayed before the content. The quarantine route takes a
//   message the same way (reroute_to_quarantine()).
// - A replay that the downstream refuses (a recipient, MAIL or DATA) or cannot take: 451 4.4.1
//   at end(), nothing delivered. Never a 5xx: the end of data has one reply for every
//   recipient (RFC 5321 §3.3), and after a 4yz the client keeps the message and retries it
//   (§4.2.5); its retry hears each recipient's own answer at RCPT.
// - Downstream unreachable, timing out or talking nonsense: 451 4.4.1 (never a 5xx).
// Metrics: relay/metrics.hpp (the pool's connection series, mxgate_relay_replays_total).
// Threading: one instance per session, used only on that session's worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string_view>

#include "relay/transaction.hpp"
#include "smtp/command.hpp"
#include "smtp/reply.hpp"

namespace mxgate::relay {

class Pool;
class Router;
class Downstream;

class InlineRelay final : public Transaction {
 public:
  // `pool` and `router` outlive the relay (they belong to the worker and the config snapshot).
  InlineRelay(Pool& pool, const Router& router);
  ~InlineRelay() override;
  InlineRelay(const InlineRelay&) = delete;
  InlineRelay& operator=(const InlineRelay&) = delete;

  // Starts a transaction for the accepted MAIL (no I/O yet).
  void client(const smtp::ClientIdentity& client) override;
  void mail(const smtp::Command& mail) override;

  // Routes and forwards one recipient; returns the reply for the client. `quarantine`: a
  // recipient of ours goes to the router's quarantine route when it has one.
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool quarantine = false) override;

  // The content will be held until its end of data: the connection goes back to the pool now
  // and data() answers 354 itself; the envelope is replayed when content (or end()) comes.
  void release() override;

  // Sends DATA (or its equivalent); 354 means content may follow. Released: 354 without asking
  // the downstream (a recipient accepted, no connection lost since), as the downstream's DATA
  // cannot be refused before it was sent.
  boost::asio::awaitable<smtp::Reply> data() override;

  // Streams decoded content (CRLF line endings, no transparency dots); the first piece of a
  // released transaction replays its envelope first. false: the downstream failed or refused
  // the replay; the caller keeps reading the client's data and then calls end() for the reply.
  boost::asio::awaitable<bool> content(std::string_view chunk) override;

  // Mid-DATA, before any content: the downstream connection is closed (so it drops the
  // transaction; a released one has none) and MAIL, the accepted RCPTs and DATA are replayed
  // to the quarantine route. Any recipient it does not accept fails the message (451 4.4.1
  // at end()).
  boost::asio::awaitable<bool> reroute_to_quarantine() override;

  // Ends the content and returns the downstream's final reply (or 451 4.4.1 on failure).
  // The transaction is over afterwards; the connection goes back to the pool when healthy.
  boost::asio::awaitable<smtp::Reply> end() override;

  // Abandons the transaction (client RSET, refused content, session end): a connection that is
  // mid-DATA is closed so the downstream discards the message, never delivers part of it.
  void abort() override;

  // The downstream that the transaction's last recipient or message went to.
  std::string relay_name() const override;

  // A recipient of the current transaction was accepted (even if the downstream was lost since:
  // data() then answers 451 4.4.1, so the client retries instead of hearing "no recipients").
  bool has_recipients() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mxgate::relay
