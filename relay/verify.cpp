#include "relay/verify.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <string_view>
#include <utility>

#include "common/log.hpp"
#include "io/clock.hpp"
#include "relay/metrics.hpp"
#include "relay/pool.hpp"
#include "smtp/replies.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using boost::system::error_code;
using smtp::Reply;

namespace {

// What a callout's exchange came to; `failure` set when the connection failed.
struct Exchange {
  std::optional<Reply> mail;
  std::optional<Reply> rcpt;
  error_code failure;
};

std::string rcpt_line(const smtp::Path& recipient) {
  std::string line = "RCPT TO:<" + recipient.local_part;
  if (!recipient.domain.empty()) line += "@" + recipient.domain;
  return line + ">";
}

// [RSET] MAIL FROM:<> RCPT TO RSET: written at once when the server pipelines, else one round
// trip each; a refused MAIL ends it there (its RCPT says nothing).
asio::awaitable<Exchange> ask(Downstream& conn, const smtp::Path& recipient,
                              conf::Duration timeout) {
  enum class Step { Rset, Mail, Rcpt };
  std::array<std::pair<Step, std::string>, 4> steps;
  std::size_t n = 0;
  if (conn.needs_rset) steps[n++] = {Step::Rset, "RSET"};
  // RFC 6531 §3.4: a non-ASCII mailbox is asked about in an SMTPUTF8 transaction, when the
  // server offers one (as the delivery would be made).
  const bool utf8 = !recipient.ascii() && conn.capabilities().smtputf8;
  steps[n++] = {Step::Mail, utf8 ? "MAIL FROM:<> SMTPUTF8" : "MAIL FROM:<>"};
  steps[n++] = {Step::Rcpt, rcpt_line(recipient)};
  steps[n++] = {Step::Rset, "RSET"};
  const bool pipelined = conn.capabilities().pipelining;
  if (pipelined) {
    for (std::size_t i = 0; i < n; ++i) conn.queue(steps[i].second);
  }
  Exchange out;
  for (std::size_t i = 0; i < n; ++i) {
    if (!pipelined) conn.queue(steps[i].second);
    // Not a conditional expression of two co_awaits: GCC 12 miscompiles those.
    boost::system::result<Reply> reply = make_error_code(Error::protocol);
    if (i == 0 || !pipelined) {
      reply = co_await conn.exchange(timeout);
    } else {
      reply = co_await conn.read_reply(timeout);
    }
    if (!reply) {
      out.failure = reply.error();
      co_return out;
    }
    if (reply->code == 421) {  // the server is closing: nothing more is coming
      conn.close();
      co_return out;
    }
    const Step step = steps[i].first;
    if (step == Step::Mail) out.mail = *reply;
    if (step == Step::Rcpt) out.rcpt = *reply;
    if (step == Step::Rset && !reply->positive()) {
      out.failure = make_error_code(Error::protocol);
      co_return out;
    }
    if (step == Step::Mail && !reply->positive() && !pipelined) co_return out;
  }
  conn.needs_rset = false;
  co_return out;
}

}  // namespace

Answer judge_callout(const std::optional<Reply>& mail, const std::optional<Reply>& rcpt) {
  // A refused null sender says nothing about the mailbox (RFC 5321 §4.5.5 requires accepting
  // it); neither does a missing or transient RCPT reply.
  if (!mail || mail->klass() != 2 || !rcpt) return Answer::Tempfail;
  if (rcpt->klass() == 2) return Answer::Valid;
  if (rcpt->permanent()) return Answer::Unknown;
  return Answer::Tempfail;
}

Verifier::Verifier(Pool& pool, VerifyCache& cache, RelayMetrics& metrics)
    : pool_(pool), cache_(cache), metrics_(metrics) {}

asio::awaitable<Answer> Verifier::check(const conf::RelayConfig& config, const RecipientList* list,
                                        const conf::Route& route, smtp::Path recipient) {
  using Verification = conf::RelayConfig::Verification;
  const std::string address = normalize_address(recipient.address());
  if (config.recipient_verification == Verification::Off) co_return Answer::Valid;
  if (config.recipient_verification == Verification::List) co_return from_list(list, address);
  auto& counts = metrics_.verification;
  if (auto cached = cache_.find(address, io::Clock::now())) {
    (*cached ? counts.valid_cache : counts.unknown_cache).Increment();
    co_return *cached ? Answer::Valid : Answer::Unknown;
  }
  const Answer answer = co_await callout(config, route, std::move(recipient));
  switch (answer) {
    case Answer::Valid:
      counts.valid_callout.Increment();
      cache_.store(address, true, io::Clock::now(), config.verify_positive_ttl);
      break;
    case Answer::Unknown:
      counts.unknown_callout.Increment();
      cache_.store(address, false, io::Clock::now(), config.verify_negative_ttl);
      break;
    case Answer::Tempfail:
      counts.tempfail_callout.Increment();
      break;
  }
  co_return answer;
}

Answer Verifier::from_list(const RecipientList* list, const std::string& address) {
  const bool known = list != nullptr && list->known(address);
  (known ? metrics_.verification.valid_list : metrics_.verification.unknown_list).Increment();
  return known ? Answer::Valid : Answer::Unknown;
}

// A pooled connection found dead before anything was answered is replaced once by a new one,
// as the inline relay does.
asio::awaitable<Answer> Verifier::callout(const conf::RelayConfig& config, const conf::Route& route,
                                          smtp::Path recipient) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto acquired = co_await pool_.acquire(route, attempt == 0, /*as_ourselves=*/true);
    if (!acquired) co_return Answer::Tempfail;  // counted by the pool
    std::unique_ptr<Downstream> conn = std::move(*acquired);
    const Exchange exchange = co_await ask(*conn, recipient, config.verify_timeout);
    const auto target = conn->target();
    DownstreamMetrics* series = conn->metrics;
    const bool stale = conn->reused && !exchange.mail;
    pool_.release(std::move(conn));  // closed instead when it failed
    if (exchange.failure && stale && attempt == 0) continue;
    if (exchange.failure) {
      if (series != nullptr) count_failure(*series, exchange.failure);
      spdlog::warn("verify downstream={}:{} error={}", target.host, target.port,
                   exchange.failure.message());
    }
    const Answer answer = judge_callout(exchange.mail, exchange.rcpt);
    if (answer != Answer::Valid) {
      const Reply* said = exchange.rcpt   ? &*exchange.rcpt
                          : exchange.mail ? &*exchange.mail
                                          : nullptr;
      spdlog::info("verify_callout to={} result={} downstream={}:{} reply={}",
                   common::escape(recipient.address()),
                   answer == Answer::Unknown ? "unknown" : "tempfail", target.host, target.port,
                   common::escape(said != nullptr ? said->text() : exchange.failure.message()));
    }
    co_return answer;
  }
  co_return Answer::Tempfail;
}

VerifyingTransaction::VerifyingTransaction(std::unique_ptr<Transaction> inner, Verifier& verifier,
                                           const conf::RelayConfig& config, const Router& router,
                                           const RecipientList* list)
    : inner_(std::move(inner)),
      verifier_(verifier),
      config_(config),
      router_(router),
      list_(list) {}

void VerifyingTransaction::mail(const smtp::Command& mail) {
  started_ = true;
  inner_->mail(mail);
}

asio::awaitable<Reply> VerifyingTransaction::rcpt(smtp::Path recipient, bool quarantine) {
  const auto route = started_ ? router_.route_for(recipient) : std::nullopt;
  if (route) {
    const Answer answer =
        co_await verifier_.check(config_, list_, router_.route(*route), recipient);
    switch (answer) {
      case Answer::Valid:
        break;
      case Answer::Unknown:
        co_return smtp::replies::recipient_unknown();
      case Answer::Tempfail:
        co_return smtp::replies::recipient_unverified();
    }
  }
  co_return co_await inner_->rcpt(std::move(recipient), quarantine);
}

asio::awaitable<Reply> VerifyingTransaction::data() { return inner_->data(); }

asio::awaitable<bool> VerifyingTransaction::content(std::string_view chunk) {
  return inner_->content(chunk);
}

asio::awaitable<bool> VerifyingTransaction::reroute_to_quarantine() {
  return inner_->reroute_to_quarantine();
}

asio::awaitable<Reply> VerifyingTransaction::end() {
  started_ = false;
  return inner_->end();
}

void VerifyingTransaction::abort() {
  started_ = false;
  inner_->abort();
}

}  // namespace mxgate::relay
