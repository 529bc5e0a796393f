// Recipient verification (relay.recipient_verification, issue 20): RCPT learns whether the
// mailbox exists before mxgate answers 250, so that queue mode refuses unknown users at RCPT
// ("550 5.1.1", which the session counts for list hygiene and the dictionary cutoff) instead
// of bouncing them later (backscatter).
//   list     the RecipientList of the configuration snapshot (recipient_list.hpp)
//   callout  the route's mailbox server over the worker's pooled connections (pool.hpp):
//            [RSET] MAIL FROM:<> RCPT TO:<x> RSET, pipelined when it offers PIPELINING
//            (RFC 2920), the connection going back to the pool; answers cached (verify_cache.hpp)
// judge_callout() is the pure decision: RCPT 2xx valid, RCPT 5xx unknown, anything else (a
// refused null sender, a 4xx, a timeout, no connection) tempfail, which is never cached and
// answers "450 4.1.1" (smtp/replies.hpp says why that code).
// The mailbox server's text stays out of the client's 550: it may name internal hosts and
// differs between backends; mxgate's log line keeps it.
// VerifyingTransaction wraps the session's Transaction: a routed recipient is verified first,
// and only a valid one reaches the wrapped transaction; anything else (no MAIL yet, a domain in
// no route) goes through unchanged, so the wrapped one answers as before.
// Threading: one Verifier per worker (it uses the worker's pool); the cache is shared.
// Failure: a downstream failure is counted like the relay's (count_failure) and becomes a
// tempfail; nothing throws.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "relay/recipient_list.hpp"
#include "relay/router.hpp"
#include "relay/transaction.hpp"
#include "relay/verify_cache.hpp"
#include "smtp/reply.hpp"

namespace mxgate::relay {

class Pool;
struct RelayMetrics;

enum class Answer { Valid, Unknown, Tempfail };

// The replies of one callout: to MAIL FROM:<> and to RCPT TO (nullopt: none, the connection
// failed before).
Answer judge_callout(const std::optional<smtp::Reply>& mail,
                     const std::optional<smtp::Reply>& rcpt);

class Verifier {
 public:
  // `pool` (the worker's), `cache` and `metrics` (the process's) outlive the verifier.
  Verifier(Pool& pool, VerifyCache& cache, RelayMetrics& metrics);

  // The answer for `recipient` of `route` under `config` (`list`: list mode's, may be null
  // otherwise). `config`, `route` and `list` outlive the call.
  boost::asio::awaitable<Answer> check(const conf::RelayConfig& config, const RecipientList* list,
                                       const conf::Route& route, smtp::Path recipient);

 private:
  boost::asio::awaitable<Answer> callout(const conf::RelayConfig& config, const conf::Route& route,
                                         smtp::Path recipient);
  Answer from_list(const RecipientList* list, const std::string& address);

  Pool& pool_;
  VerifyCache& cache_;
  RelayMetrics& metrics_;
};

class VerifyingTransaction final : public Transaction {
 public:
  // `config`, `router` and `list` belong to the session's snapshot, which outlives it.
  VerifyingTransaction(std::unique_ptr<Transaction> inner, Verifier& verifier,
                       const conf::RelayConfig& config, const Router& router,
                       const RecipientList* list);

  void client(const smtp::ClientIdentity& client) override { inner_->client(client); }
  void mail(const smtp::Command& mail) override;
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool quarantine = false) override;
  void release() override { inner_->release(); }
  boost::asio::awaitable<smtp::Reply> data() override;
  boost::asio::awaitable<bool> content(std::string_view chunk) override;
  boost::asio::awaitable<bool> reroute_to_quarantine() override;
  boost::asio::awaitable<smtp::Reply> end() override;
  void abort() override;
  std::string relay_name() const override { return inner_->relay_name(); }

 private:
  std::unique_ptr<Transaction> inner_;
  Verifier& verifier_;
  const conf::RelayConfig& config_;
  const Router& router_;
  const RecipientList* list_;
  bool started_ = false;  // MAIL was given and the transaction has not ended
};

}  // namespace mxgate::relay
