// FeedbackIntake: complaint reports (RFC 5965) sent by mail to feedback.address, handled by
// mxgate itself (issue 8). It wraps the session's Transaction: a transaction whose recipient
// is the feedback address is not relayed; its content (at most kMaxArfBytes) is read as a
// report and counted against the Source-IP and domains it names (arf.hpp), and the sender
// hears "250 2.0.0 Ok: complaint counted", or "550 5.6.0" when it is not a report. Any other
// transaction goes to the wrapped one. A transaction cannot mix the two: the second kind of
// recipient gets 452 4.5.3 (the client sends it in its own transaction, RFC 5321 §3.3).
// Threading: one per session, on its worker; counting queues a store update (no I/O).
#pragma once

#include <memory>
#include <string>

#include "relay/transaction.hpp"

namespace mxgate::storage {
class ReputationStore;
}

namespace mxgate::postmaster {

struct PostmasterMetrics;

class FeedbackIntake final : public relay::Transaction {
 public:
  // `address`: the feedback address, compared without regard to case.
  FeedbackIntake(std::unique_ptr<relay::Transaction> inner, std::string address,
                 storage::ReputationStore& store, PostmasterMetrics& metrics);

  void client(const smtp::ClientIdentity& client) override { inner_->client(client); }

  void mail(const smtp::Command& mail) override;
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool quarantine = false) override;
  void release() override { inner_->release(); }  // a report is held here in any case
  boost::asio::awaitable<smtp::Reply> data() override;
  boost::asio::awaitable<bool> content(std::string_view chunk) override;
  boost::asio::awaitable<bool> reroute_to_quarantine() override;
  boost::asio::awaitable<smtp::Reply> end() override;
  void abort() override;
  std::string relay_name() const override { return inner_->relay_name(); }

 private:
  enum class Kind { Unknown, Relay, Feedback };
  std::unique_ptr<relay::Transaction> inner_;
  std::string address_;  // lower case
  storage::ReputationStore& store_;
  PostmasterMetrics& metrics_;
  Kind kind_ = Kind::Unknown;
  std::string report_;
  bool too_large_ = false;
};

}  // namespace mxgate::postmaster
