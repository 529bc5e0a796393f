// QueueIntake: queue mode's Transaction. Recipients are routed here (the downstream is not
// asked), the content is collected, and end() stores the message in the durable spool with one
// synced batch on the blocking pool before it answers "250 2.0.0 Ok: queued as <id>"; a failed
// write (disk full, I/O error) answers 451 4.3.0 and leaves nothing half-written.
// A queued message is handed to `queued` (queue_runner's deliver_now) with its content, so
// that it is delivered at once without being read back from the spool.
// Threading: one per session, on the session's worker; the spool write hops to the writers'
// pool and back, and `queued` is called on the worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>

#include "relay/metrics.hpp"
#include "relay/router.hpp"
#include "relay/transaction.hpp"
#include "storage/spool.hpp"

namespace mxgate::relay {

class QueueIntake final : public Transaction {
 public:
  // `client_ip` is the session's (it changes once, after a PROXY header).
  using Queued = std::function<void(storage::Envelope envelope, std::string body)>;
  // `writers`: where the synced commits run (many threads, so that commits share fsyncs).
  QueueIntake(storage::Spool& spool, boost::asio::any_io_executor writers, const Router& router,
              const std::string& client_ip, RelayMetrics& metrics, Queued queued = {});

  void mail(const smtp::Command& mail) override;
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool quarantine = false) override;
  boost::asio::awaitable<smtp::Reply> data() override;
  boost::asio::awaitable<bool> content(std::string_view chunk) override;
  // Marks the envelope quarantined (the queue runner delivers it to the quarantine route).
  boost::asio::awaitable<bool> reroute_to_quarantine() override;
  boost::asio::awaitable<smtp::Reply> end() override;
  void abort() override;

 private:
  enum class Phase { Idle, Envelope, Data };
  storage::Spool& spool_;
  boost::asio::any_io_executor writers_;
  const Router& router_;
  const std::string& client_ip_;
  RelayMetrics& metrics_;
  Queued queued_;
  Phase phase_ = Phase::Idle;
  storage::Envelope envelope_;
  std::string body_;
};

}  // namespace mxgate::relay
