// The policy core: how the verdicts of one stage's pipeline of checks become one decision, and
// how decisions accumulate across the stages of a session (ARCHITECTURE principle 3). Rspamd-
// style weights and Postfix-style delay_reject. Pure: a function of (settings, outcomes, state);
// running the checks (deadlines, DNS, storage) is the caller's job. Thread-compatible; a
// SessionVerdict belongs to one session.
//
// decide() — the precise rule, applied to the outcomes of one stage:
//  1. A check that failed (error) or ran out of time (timed_out) counts only through on_error:
//     Defer makes it a Defer verdict with signal check_error or timeout; Ignore drops it (it is
//     still listed in `fired`, marked not enforced, so it is counted).
//  2. Observe-mode outcomes are listed in `fired` and summed into observed_score; they never
//     change the action, the score or the deciding signal.
//  3. Among enforce-mode outcomes, explicit actions win by severity:
//     Drop > Reject > Defer > Quarantine > Accept; among equals, the first in pipeline order.
//     So an explicit block beats an allow, and a temporary failure is never turned into an
//     acceptance.
//  4. Otherwise an Accept (e.g. manual_allow), now or earlier in the session, beats scores: the
//     decision is Accept whatever the score.
//  5. Otherwise the total score (carried + this stage's sum of score * weight) is compared with
//     the thresholds: >= reject_at → Reject; else >= defer_at → Defer; else >= quarantine_at →
//     Quarantine. A threshold <= 0 is off. The deciding signal is the largest contributor.
// Checks that an allow should bypass must therefore return scores (Continue), not Reject.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reputation/verdict.hpp"

namespace mxgate::reputation {

inline constexpr std::chrono::milliseconds kDefaultCheckTimeout{2000};

// The points a check gives for one of its signals (checks.hpp lists each check's signals and
// their defaults; config may change them).
struct SignalPoints {
  Signal signal = Signal::None;
  double points = 0;
  bool operator==(const SignalPoints&) const = default;
};

// A check's SignalPoints, stored inline: a session copies its checks' settings for every check
// it runs, and the copies must not allocate.
class PointsList {
 public:
  static constexpr std::size_t kCapacity = 14;  // the most signals a check has (checks.cpp)
  template <typename It>
  void assign(It first, It last) {
    size_ = 0;
    for (; first != last && size_ < kCapacity; ++first) items_[size_++] = *first;
  }
  SignalPoints* begin() { return items_.data(); }
  SignalPoints* end() { return items_.data() + size_; }
  const SignalPoints* begin() const { return items_.data(); }
  const SignalPoints* end() const { return items_.data() + size_; }
  bool empty() const { return size_ == 0; }
  bool operator==(const PointsList& other) const {
    return std::equal(begin(), end(), other.begin(), other.end());
  }

 private:
  std::array<SignalPoints, kCapacity> items_{};
  std::size_t size_ = 0;
};

// One check's configuration (conf/ fills these in from [checks.<name>]). Copies without
// allocating: `name` views a name of known_checks() (or a literal in tests).
struct CheckSettings {
  // Observe: log and count only. Off: not run at all (the caller skips it).
  enum class Mode : std::uint8_t { Enforce, Observe, Off };
  enum class OnError : std::uint8_t { Defer, Ignore };

  using Points = SignalPoints;

  std::string_view name;
  double weight = 1;  // multiplies every score the check returns
  PointsList points;
  double points_for(Signal signal) const {
    for (const auto& p : points) {
      if (p.signal == signal) return p.points;
    }
    return 0;
  }
  Mode mode = Mode::Enforce;
  std::chrono::milliseconds timeout = kDefaultCheckTimeout;
  OnError on_error = OnError::Defer;
  bool operator==(const CheckSettings&) const = default;
};

struct Thresholds {
  double defer_at = 5;
  double reject_at = 10;
  double quarantine_at = 0;  // 0: off
  bool delay_reject = true;  // answer score rejects from before RCPT at RCPT (SessionVerdict)
  bool operator==(const Thresholds&) const = default;
};

// What one check produced. When error or timed_out is set, `verdict` may carry a reason only.
struct CheckOutcome {
  CheckSettings settings;
  Verdict verdict;
  bool error = false;
  bool timed_out = false;
};

// One signal a check raised, for the session log line and metrics.
struct FiredSignal {
  std::string_view check;  // CheckSettings::name
  Signal signal = Signal::None;
  Action action = Action::Continue;  // after on_error mapping
  double score = 0;                  // weighted
  bool enforced = true;              // false: observe mode, or an error with on_error = ignore
  std::string reason;
};

// What the earlier stages of a session pass on to decide().
struct Carry {
  double score = 0;
  bool allowed = false;  // an earlier stage decided Accept
  Signal top_signal = Signal::None;
  double top_score = 0;
  std::string top_reason;
};

struct StageDecision {
  Action action = Action::Continue;
  Signal signal = Signal::None;  // the deciding signal
  std::string reason;
  double score = 0;                  // carried + this stage's weighted enforce-mode sum
  double stage_score = 0;            // this stage's weighted enforce-mode sum
  double observed_score = 0;         // what observe-mode checks would have added
  bool score_based = false;          // the action comes from a threshold (delay_reject applies)
  Signal top_signal = Signal::None;  // largest score contributor, carried or of this stage
  double top_score = 0;
  std::string top_reason;
  std::vector<FiredSignal> fired;
};

StageDecision decide(const std::vector<CheckOutcome>& outcomes, const Thresholds& thresholds,
                     const Carry& carry = {});

// What to answer now at a stage, after the session's memory is applied.
struct StageAnswer {
  Action action = Action::Continue;
  Signal signal = Signal::None;
  std::string reason;
  bool postponed = false;     // this stage decided a reject that will be answered at RCPT
  bool from_earlier = false;  // the answer is a reject postponed from an earlier stage
  StageDecision decision;     // this stage's own decision (for logs and metrics)
};

// Accumulates decisions over one SMTP session. Scores of connect and helo last for the session,
// the mail score for the transaction; a RCPT score applies to that recipient only. Re-running
// a stage (EHLO after STARTTLS) replaces its earlier score. An Accept (allow) lasts as long as
// the score of its stage would.
//
// delay_reject: a score-based Reject decided at connect, helo or mail is answered Continue and
// remembered; every RCPT is then answered with it, so the log holds the envelope. An explicit
// Reject (manual_block, ...) and Drop act at once. Quarantine decided at any stage turns the end
// of data's Continue/Accept into Quarantine.
class SessionVerdict {
 public:
  explicit SessionVerdict(Thresholds thresholds) : thresholds_(thresholds) {}

  StageAnswer on_stage(Stage stage, const std::vector<CheckOutcome>& outcomes);
  // RSET, a new MAIL after end of data, or EHLO: forgets the transaction's score, quarantine
  // and a reject postponed from MAIL. A reject postponed from connect/helo stays.
  void reset_transaction();

  bool allowed() const { return allowed_session_ || allowed_transaction_; }
  bool quarantined() const { return quarantine_session_ || quarantine_transaction_; }
  // The postponed reject, if any (the caller may skip later pipelines).
  const std::optional<StageDecision>& pending_reject() const { return pending_; }

 private:
  Carry carry_for(Stage stage) const;
  void remember(Stage stage, const StageDecision& decision);

  struct Slot {
    double score = 0;
    Signal top_signal = Signal::None;
    double top_score = 0;
    std::string top_reason;
  };
  Thresholds thresholds_;
  std::array<Slot, 3> slots_{};          // Connect, Helo, Mail
  bool allowed_session_ = false;         // an Accept at connect or helo
  bool allowed_transaction_ = false;     // an Accept at mail
  bool quarantine_session_ = false;      // decided at connect or helo
  bool quarantine_transaction_ = false;  // decided at mail or rcpt
  std::optional<StageDecision> pending_;
  Stage pending_stage_ = Stage::Connect;
};

}  // namespace mxgate::reputation
