#include "postmaster/feedback_intake.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "postmaster/arf.hpp"
#include "postmaster/metrics.hpp"
#include "smtp/replies.hpp"

namespace mxgate::postmaster {
namespace {

using smtp::Reply;

Reply one_kind_per_transaction() { return smtp::replies::separate_transactions(); }

}  // namespace

FeedbackIntake::FeedbackIntake(std::unique_ptr<relay::Transaction> inner, std::string address,
                               storage::ReputationStore& store, PostmasterMetrics& metrics)
    : inner_(std::move(inner)),
      address_(common::ascii_lower(std::move(address))),
      store_(store),
      metrics_(metrics) {}

void FeedbackIntake::mail(const smtp::Command& mail) {
  kind_ = Kind::Unknown;
  report_.clear();
  too_large_ = false;
  inner_->mail(mail);
}

boost::asio::awaitable<Reply> FeedbackIntake::rcpt(smtp::Path recipient, bool quarantine) {
  const bool feedback = common::ascii_lower(recipient.address()) == address_;
  if ((feedback && kind_ == Kind::Relay) || (!feedback && kind_ == Kind::Feedback)) {
    co_return one_kind_per_transaction();
  }
  if (feedback) {
    kind_ = Kind::Feedback;
    co_return smtp::replies::recipient_ok();
  }
  auto reply = co_await inner_->rcpt(std::move(recipient), quarantine);
  if (reply.positive()) kind_ = Kind::Relay;
  co_return reply;
}

boost::asio::awaitable<Reply> FeedbackIntake::data() {
  if (kind_ != Kind::Feedback) {
    auto reply = co_await inner_->data();
    co_return reply;
  }
  co_return smtp::replies::start_data();
}

boost::asio::awaitable<bool> FeedbackIntake::content(std::string_view chunk) {
  if (kind_ != Kind::Feedback) {
    const bool ok = co_await inner_->content(chunk);
    co_return ok;
  }
  if (report_.size() + chunk.size() > kMaxArfBytes) {
    too_large_ = true;
  } else {
    report_.append(chunk);
  }
  co_return true;
}

boost::asio::awaitable<bool> FeedbackIntake::reroute_to_quarantine() {
  if (kind_ == Kind::Feedback) co_return true;  // a report is counted here, never delivered
  const bool moved = co_await inner_->reroute_to_quarantine();
  co_return moved;
}

boost::asio::awaitable<Reply> FeedbackIntake::end() {
  if (kind_ != Kind::Feedback) {
    auto reply = co_await inner_->end();
    co_return reply;
  }
  kind_ = Kind::Unknown;
  std::string error = too_large_ ? "the report is larger than 1 MiB" : "";
  std::optional<FeedbackReport> report;
  std::optional<std::string> counted;
  if (!too_large_) report = parse_arf(report_, error);
  if (report) counted = count_complaint(store_, *report, common::unix_seconds(), error);
  report_.clear();
  if (!counted) {
    spdlog::info("complaint_refused source=mail error={}", common::escape(error));
    co_return smtp::replies::not_a_complaint(error);
  }
  metrics_.complaints_mail.Increment();
  spdlog::info("complaint source=mail feedback_type={} {}", report->feedback_type, *counted);
  co_return smtp::replies::complaint_counted();
}

void FeedbackIntake::abort() {
  kind_ = Kind::Unknown;
  report_.clear();
  inner_->abort();
}

}  // namespace mxgate::postmaster
