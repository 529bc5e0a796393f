// QueueIntake: queue mode's Transaction. Recipients are routed here (the downstream is not
// asked), the content is collected, and end() stores the message in the durable spool with one
// synced batch on the blocking pool before it answers "250 2.0.0 Ok: queued as <id>"; a failed
// write (disk full, I/O error) answers 451 4.3.0 and leaves nothing half-written.
// Memory: at most storage::kBodyPiece octets of content are held; every full piece beyond
// them is staged in the spool as it arrives (no fsync; the commit's makes it durable), and an
// abandoned transaction's pieces are discarded.
// A queued message is handed to `queued` (queue_runner's deliver_now) with its content when it
// was held whole, so that it is delivered at once without being read back from the spool.
// Threading: one per session, on the session's worker; the spool write hops to the writers'
// pool and back, and `queued` is called on the worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "relay/metrics.hpp"
#include "relay/router.hpp"
#include "relay/transaction.hpp"
#include "storage/spool.hpp"

namespace mxgate::relay {

class QueueIntake final : public Transaction {
 public:
  // `client_ip` is the session's (it changes once, after a PROXY header).
  // `body`: the content, or nullopt when it was staged in pieces (read from the spool).
  using Queued = std::function<void(storage::Envelope envelope, std::optional<std::string> body)>;
  // `writers`: where the synced commits run (many threads, so that commits share fsyncs).
  QueueIntake(storage::Spool& spool, boost::asio::any_io_executor writers, const Router& router,
              const std::string& client_ip, RelayMetrics& metrics, Queued queued = {});
  ~QueueIntake() override;
  QueueIntake(const QueueIntake&) = delete;
  QueueIntake& operator=(const QueueIntake&) = delete;

  void client(const smtp::ClientIdentity& client) override;

  void mail(const smtp::Command& mail) override;
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool quarantine = false) override;
  void release() override {}  // nothing is held downstream: the spool is the downstream
  boost::asio::awaitable<smtp::Reply> data() override;
  boost::asio::awaitable<bool> content(std::string_view chunk) override;
  // Marks the envelope quarantined (the queue runner delivers it to the quarantine route).
  boost::asio::awaitable<bool> reroute_to_quarantine() override;
  boost::asio::awaitable<smtp::Reply> end() override;
  void abort() override;
  std::string relay_name() const override { return {}; }  // none: the spool

 private:
  enum class Phase { Idle, Envelope, Data };
  storage::Spool& spool_;
  boost::asio::any_io_executor writers_;
  const Router& router_;
  const std::string& client_ip_;
  smtp::ClientIdentity client_;
  RelayMetrics& metrics_;
  Queued queued_;
  Phase phase_ = Phase::Idle;
  void discard_staged();
  void unstaged();  // the staged pieces are no longer this transaction's

  storage::Envelope envelope_;
  std::string held_;          // content not staged yet (at most one piece once staging)
  std::uint64_t size_ = 0;    // content octets so far
  std::uint32_t staged_ = 0;  // pieces staged in the spool under envelope_.id
  boost::system::error_code stage_error_;
};

}  // namespace mxgate::relay
