#include "relay/queue_intake.hpp"

#include <boost/asio/post.hpp>
#include <chrono>

#include "common/clock.hpp"
#include "io/blocking.hpp"
#include "smtp/replies.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using smtp::Reply;

QueueIntake::QueueIntake(storage::Spool& spool, asio::any_io_executor writers, const Router& router,
                         const std::string& client_ip, RelayMetrics& metrics, Queued queued)
    : spool_(spool),
      writers_(std::move(writers)),
      router_(router),
      client_ip_(client_ip),
      metrics_(metrics),
      queued_(std::move(queued)) {}

QueueIntake::~QueueIntake() { discard_staged(); }

void QueueIntake::client(const smtp::ClientIdentity& client) { client_ = client; }

void QueueIntake::mail(const smtp::Command& mail) {
  abort();
  envelope_.mail_from = mail.path.address();
  envelope_.smtputf8 = mail.smtputf8;
  envelope_.eight_bit = mail.body == smtp::Body::EightBitMime;
  envelope_.client_ip = client_ip_;
  envelope_.client_name = client_.name;
  envelope_.client_helo = client_.helo;
  envelope_.client_esmtp = client_.esmtp;
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
  if (phase_ != Phase::Data || stage_error_) co_return false;
  held_.append(chunk);
  size_ += chunk.size();
  // More than a piece held: the first piece goes to the spool. The last piece stays here for
  // the commit, so a staged body always has more than one piece.
  while (held_.size() > storage::kBodyPiece) {
    if (envelope_.id.empty()) envelope_.id = spool_.make_id();
    // (A lambda that owns a string, as a temporary of a co_await, is destroyed twice by GCC 12.)
    stage_error_ = co_await io::run_blocking(writers_, [&] {
      return spool_.stage(envelope_.id, staged_,
                          std::string_view(held_).substr(0, storage::kBodyPiece));
    });
    if (stage_error_) {
      metrics_.queue_commit_errors.Increment();
      held_.clear();
      co_return false;
    }
    held_.erase(0, storage::kBodyPiece);
    ++staged_;
    metrics_.queue_receiving_bytes.Increment(static_cast<double>(storage::kBodyPiece));
  }
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
  if (stage_error_) {
    abort();
    co_return smtp::replies::queue_write_error();
  }
  if (envelope_.id.empty()) envelope_.id = spool_.make_id();
  envelope_.created_ms = envelope_.due_ms = common::unix_millis();
  envelope_.size = size_;
  // The synced write waits for the disk: on the writers' pool, where concurrent sessions'
  // writes share one fsync (RocksDB's group commit: one writer syncs for all that wait).
  const auto started = std::chrono::steady_clock::now();
  const auto ec =
      co_await io::run_blocking(writers_, [&] { return spool_.commit(envelope_, held_, staged_); });
  metrics_.queue_commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (ec) {
    metrics_.queue_commit_errors.Increment();
    abort();
    co_return smtp::replies::queue_write_error();
  }
  const std::string id = envelope_.id;
  if (queued_) {
    std::optional<std::string> body;
    if (staged_ == 0) body = std::move(held_);
    queued_(std::move(envelope_), std::move(body));
  }
  unstaged();  // committed: nothing to discard
  abort();
  co_return smtp::replies::queued_as(id);
}

void QueueIntake::abort() {
  discard_staged();
  phase_ = Phase::Idle;
  envelope_ = storage::Envelope{};
  held_.clear();
  size_ = 0;
  stage_error_.clear();
}

// The pieces of an abandoned body leave the spool on the writers' pool; if mxgate stops
// first, the next open of the spool removes them.
void QueueIntake::discard_staged() {
  if (staged_ == 0) return;
  asio::post(writers_, [&spool = spool_, id = envelope_.id, staged = staged_] {
    (void)spool.discard(id, staged);
  });
  unstaged();
}

void QueueIntake::unstaged() {
  metrics_.queue_receiving_bytes.Decrement(static_cast<double>(staged_) *
                                           static_cast<double>(storage::kBodyPiece));
  staged_ = 0;
}

}  // namespace mxgate::relay
