#include "reputation/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace mxgate::reputation {
namespace {

// Higher wins among explicit enforce-mode actions; 0: not explicit (scores decide).
int severity(Action action) {
  switch (action) {
    case Action::Drop:
      return 5;
    case Action::Reject:
      return 4;
    case Action::Defer:
      return 3;
    case Action::Quarantine:
      return 2;
    case Action::Accept:
      return 1;
    case Action::Continue:
      return 0;
  }
  return 0;
}

// The verdict that counts for an outcome, after on_error; nullopt when the failure is ignored.
std::optional<Verdict> effective(const CheckOutcome& outcome) {
  if (!outcome.error && !outcome.timed_out) return outcome.verdict;
  if (outcome.settings.on_error == CheckSettings::OnError::Ignore) return std::nullopt;
  std::string reason =
      fmt::format("check {} {}", outcome.settings.name, outcome.timed_out ? "timed out" : "failed");
  if (!outcome.verdict.reason.empty()) reason += ": " + outcome.verdict.reason;
  return Verdict::defer(outcome.timed_out ? Signal::Timeout : Signal::CheckError,
                        std::move(reason));
}

FiredSignal fired_for(const CheckOutcome& outcome) {
  const auto verdict = effective(outcome);
  FiredSignal fired{outcome.settings.name, Signal::None, Action::Continue, 0, false, {}};
  if (!verdict) {  // ignored failure: listed so that it is counted
    fired.signal = outcome.timed_out ? Signal::Timeout : Signal::CheckError;
    fired.reason = outcome.verdict.reason;
    return fired;
  }
  fired.signal = verdict->signal;
  fired.action = verdict->action;
  fired.score = verdict->score * outcome.settings.weight;
  fired.enforced = outcome.settings.mode == CheckSettings::Mode::Enforce;
  fired.reason = verdict->reason;
  return fired;
}

bool worth_listing(const FiredSignal& fired) {
  return fired.signal != Signal::None || fired.action != Action::Continue || fired.score != 0;
}

void apply_thresholds(StageDecision& d, const Thresholds& t) {
  Action action = Action::Continue;
  double threshold = 0;
  std::string_view name;
  if (t.reject_at > 0 && d.score >= t.reject_at) {
    action = Action::Reject, threshold = t.reject_at, name = "reject_at";
  } else if (t.defer_at > 0 && d.score >= t.defer_at) {
    action = Action::Defer, threshold = t.defer_at, name = "defer_at";
  } else if (t.quarantine_at > 0 && d.score >= t.quarantine_at) {
    action = Action::Quarantine, threshold = t.quarantine_at, name = "quarantine_at";
  }
  if (action == Action::Continue) return;
  d.action = action;
  d.score_based = true;
  d.signal = d.top_signal;
  d.reason = fmt::format("score {:g} >= {} {:g}", d.score, name, threshold);
  if (d.top_signal != Signal::None) {
    d.reason += fmt::format("; top {} {:g}", signal_name(d.top_signal), d.top_score);
    if (!d.top_reason.empty()) d.reason += ": " + d.top_reason;
  }
}

}  // namespace

StageDecision decide(const std::vector<CheckOutcome>& outcomes, const Thresholds& thresholds,
                     const Carry& carry) {
  StageDecision d;
  d.top_signal = carry.top_signal;
  d.top_score = carry.top_score;
  d.top_reason = carry.top_reason;
  const FiredSignal* explicit_winner = nullptr;

  for (const auto& outcome : outcomes) {
    FiredSignal fired = fired_for(outcome);
    if (!worth_listing(fired)) continue;
    d.fired.push_back(std::move(fired));
  }
  for (const auto& fired : d.fired) {
    if (!fired.enforced) {
      d.observed_score += fired.score;
      continue;
    }
    d.stage_score += fired.score;
    if (fired.score > d.top_score) {
      d.top_signal = fired.signal, d.top_score = fired.score, d.top_reason = fired.reason;
    }
    if (severity(fired.action) > (explicit_winner ? severity(explicit_winner->action) : 0)) {
      explicit_winner = &fired;
    }
  }
  d.score = carry.score + d.stage_score;

  if (explicit_winner != nullptr) {
    d.action = explicit_winner->action;
    d.signal = explicit_winner->signal;
    d.reason = explicit_winner->reason;
    return d;
  }
  if (carry.allowed) {
    d.action = Action::Accept;
    d.signal = Signal::ManualAllow;
    d.reason = "allowed earlier in the session";
    return d;
  }
  apply_thresholds(d, thresholds);
  return d;
}

Carry SessionVerdict::carry_for(Stage stage) const {
  // Slots before the stage: connect → none, helo → connect, mail → connect+helo, later → all.
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(stage), slots_.size());
  Carry carry;
  carry.allowed = allowed_session_ || (stage > Stage::Mail && allowed_transaction_);
  for (std::size_t i = 0; i < n; ++i) {
    carry.score += slots_[i].score;
    if (slots_[i].top_score > carry.top_score) {
      carry.top_signal = slots_[i].top_signal;
      carry.top_score = slots_[i].top_score;
      carry.top_reason = slots_[i].top_reason;
    }
  }
  return carry;
}

void SessionVerdict::remember(Stage stage, const StageDecision& decision) {
  // Like scores: connect/helo last for the session, mail for the transaction, rcpt not at all.
  if (decision.action == Action::Accept && stage <= Stage::Mail) {
    (stage <= Stage::Helo ? allowed_session_ : allowed_transaction_) = true;
  }
  if (decision.action == Action::Quarantine) {
    (stage <= Stage::Helo ? quarantine_session_ : quarantine_transaction_) = true;
  }
  const auto i = static_cast<std::size_t>(stage);
  if (i >= slots_.size()) return;  // RCPT and end-of-data scores are not carried
  Slot slot{decision.stage_score, Signal::None, 0, {}};
  for (const auto& fired : decision.fired) {
    if (fired.enforced && fired.score > slot.top_score) {
      slot.top_signal = fired.signal, slot.top_score = fired.score, slot.top_reason = fired.reason;
    }
  }
  slots_[i] = std::move(slot);
}

StageAnswer SessionVerdict::on_stage(Stage stage, const std::vector<CheckOutcome>& outcomes) {
  StageAnswer answer;
  answer.decision = decide(outcomes, thresholds_, carry_for(stage));
  remember(stage, answer.decision);
  const StageDecision& d = answer.decision;
  answer.action = d.action, answer.signal = d.signal, answer.reason = d.reason;

  const bool hard = d.action == Action::Drop || (d.action == Action::Reject && !d.score_based);
  if (stage < Stage::Rcpt && thresholds_.delay_reject && d.action == Action::Reject && !hard) {
    if (!pending_) pending_ = d, pending_stage_ = stage;
    answer.action = Action::Continue, answer.postponed = true;
  } else if (stage < Stage::Rcpt && pending_ && !hard) {
    answer.action = Action::Continue;  // still waiting for RCPT to answer the postponed reject
  } else if (stage >= Stage::Rcpt && pending_ && !hard) {
    answer.action = Action::Reject, answer.signal = pending_->signal;
    answer.reason = pending_->reason, answer.from_earlier = true;
  }
  if (answer.action == Action::Quarantine && stage != Stage::EndOfData) {
    answer.action = Action::Continue;  // accepted now; the message is marked at end of data
  }
  if (stage == Stage::EndOfData && quarantined() &&
      (answer.action == Action::Continue || answer.action == Action::Accept)) {
    answer.action = Action::Quarantine;
    if (answer.reason.empty()) answer.reason = "quarantined by an earlier stage";
  }
  return answer;
}

void SessionVerdict::reset_transaction() {
  slots_[static_cast<std::size_t>(Stage::Mail)] = Slot{};
  quarantine_transaction_ = false;
  allowed_transaction_ = false;
  if (pending_ && pending_stage_ == Stage::Mail) pending_.reset();
}

}  // namespace mxgate::reputation
