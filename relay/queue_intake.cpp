#include "relay/queue_intake.hpp"

#include <chrono>

#include "common/clock.hpp"
#include "io/blocking.hpp"
#include "smtp/replies.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using smtp::Reply;

namespace {}  // namespace

QueueIntake::QueueIntake(storage::Spool& spool, asio::any_io_executor writers, const Router& router,
                         const std::string& client_ip, RelayMetrics& metrics, Queued queued)
    : spool_(spool),
      writers_(std::move(writers)),
      router_(router),
      client_ip_(client_ip),
      metrics_(metrics),
      queued_(std::move(queued)) {}

void QueueIntake::mail(const smtp::Command& mail) {
  abort();
  envelope_.mail_from = mail.path.address();
  envelope_.smtputf8 = mail.smtputf8;
  envelope_.eight_bit = mail.body == smtp::Body::EightBitMime;
  envelope_.client_ip = client_ip_;
  phase_ = Phase::Envelope;
}

asio::awaitable<Reply> QueueIntake::rcpt(smtp::Path recipient, bool quarantine) {
  if (phase_ != Phase::Envelope) co_return smtp::replies::transaction_out_of_order();
  if (!router_.route_for(recipient)) co_return smtp::replies::relaying_denied();
  envelope_.quarantine = envelope_.quarantine || (quarantine && router_.quarantine_route());
  envelope_.recipients.push_back(
      {recipient.address(), storage::SpoolRecipient::State::Pending, ""});
  co_return smtp::replies::recipient_ok();
}

asio::awaitable<Reply> QueueIntake::data() {
  if (phase_ != Phase::Envelope) co_return smtp::replies::transaction_out_of_order();
  if (envelope_.recipients.empty()) co_return smtp::replies::no_valid_recipients();
  phase_ = Phase::Data;
  co_return smtp::replies::start_data();
}

asio::awaitable<bool> QueueIntake::content(std::string_view chunk) {
  if (phase_ != Phase::Data) co_return false;
  body_.append(chunk);
  co_return true;
}

asio::awaitable<bool> QueueIntake::reroute_to_quarantine() {
  if (phase_ != Phase::Data) co_return false;
  if (router_.quarantine_route()) envelope_.quarantine = true;
  co_return true;
}

asio::awaitable<Reply> QueueIntake::end() {
  if (phase_ != Phase::Data) {
    abort();
    co_return smtp::replies::transaction_out_of_order();
  }
  envelope_.id = spool_.make_id();
  envelope_.created_ms = envelope_.due_ms = common::unix_millis();
  envelope_.size = body_.size();
  // The synced write waits for the disk: on the writers' pool, where concurrent sessions'
  // writes share one fsync (RocksDB's group commit: one writer syncs for all that wait).
  const auto started = std::chrono::steady_clock::now();
  const auto ec =
      co_await io::run_blocking(writers_, [&] { return spool_.commit(envelope_, body_); });
  metrics_.queue_commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (ec) metrics_.queue_commit_errors.Increment();
  const std::string id = envelope_.id;
  if (!ec && queued_) queued_(std::move(envelope_), std::move(body_));
  abort();
  if (ec) co_return smtp::replies::queue_write_error();
  co_return smtp::replies::queued_as(id);
}

void QueueIntake::abort() {
  phase_ = Phase::Idle;
  envelope_ = storage::Envelope{};
  body_.clear();
}

}  // namespace mxgate::relay
