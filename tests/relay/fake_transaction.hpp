// A fake downstream for tests of what sits above relay::Transaction (the SMTP session, the queue
// runner): it records every transaction and answers with the replies the test sets, without
// sockets. FakeDownstream is shared by every FakeTransaction a test makes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "relay/transaction.hpp"
#include "smtp/replies.hpp"

namespace mxgate::relay::testing {

struct FakeDownstream {
  struct Message {
    smtp::ClientIdentity client;  // as told before the MAIL
    std::string mail_from;
    std::vector<std::string> recipients;
    std::string content;
    bool quarantined = false;  // moved to the quarantine route at the end of data
    bool released = false;     // released before DATA (its content held until the end)
  };
  std::vector<Message> delivered;  // transactions that ended with a 2xx
  std::size_t aborted = 0;         // transactions abandoned after MAIL
  // The replies: per recipient address (default recipient_ok), to DATA (of a transaction not
  // released: a released one gets 354 without asking, as InlineRelay's), and the final one.
  std::map<std::string, smtp::Reply> rcpt_replies;
  smtp::Reply data_reply = smtp::replies::start_data();
  smtp::Reply end_reply = smtp::Reply::make(250, "2.0.0", "Ok: delivered");
  bool quarantine_ok = true;  // reroute_to_quarantine()'s answer
};

class FakeTransaction final : public Transaction {
 public:
  explicit FakeTransaction(std::shared_ptr<FakeDownstream> downstream)
      : downstream_(std::move(downstream)) {}

  void client(const smtp::ClientIdentity& client) override { client_ = client; }
  std::string relay_name() const override { return {}; }
  void mail(const smtp::Command& mail) override {
    abort();
    current_ = FakeDownstream::Message{client_, mail.path.address(), {}, {}, false, false};
    open_ = true;
  }
  boost::asio::awaitable<smtp::Reply> rcpt(smtp::Path recipient, bool) override {
    const auto found = downstream_->rcpt_replies.find(recipient.address());
    smtp::Reply reply =
        found == downstream_->rcpt_replies.end() ? smtp::replies::recipient_ok() : found->second;
    if (reply.positive()) current_.recipients.push_back(recipient.address());
    co_return reply;
  }
  void release() override { current_.released = true; }
  boost::asio::awaitable<smtp::Reply> data() override {
    if (current_.recipients.empty()) co_return smtp::replies::no_valid_recipients();
    if (current_.released) co_return smtp::replies::start_data();
    co_return downstream_->data_reply;
  }
  boost::asio::awaitable<bool> content(std::string_view chunk) override {
    current_.content.append(chunk);
    co_return true;
  }
  boost::asio::awaitable<bool> reroute_to_quarantine() override {
    current_.quarantined = true;
    co_return downstream_->quarantine_ok;
  }
  boost::asio::awaitable<smtp::Reply> end() override {
    open_ = false;
    if (downstream_->end_reply.positive()) downstream_->delivered.push_back(current_);
    co_return downstream_->end_reply;
  }
  void abort() override {
    if (open_) ++downstream_->aborted;
    open_ = false;
  }

 private:
  std::shared_ptr<FakeDownstream> downstream_;
  FakeDownstream::Message current_;
  smtp::ClientIdentity client_;
  bool open_ = false;
};

}  // namespace mxgate::relay::testing
