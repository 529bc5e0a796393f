#include "reputation/policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxgate::reputation {
namespace {

using Mode = CheckSettings::Mode;
using OnError = CheckSettings::OnError;

CheckOutcome enforce(std::string_view name, Verdict verdict, double weight = 1) {
  return CheckOutcome{CheckSettings{name, weight}, std::move(verdict)};
}

CheckOutcome observe(std::string_view name, Verdict verdict) {
  CheckOutcome outcome = enforce(std::move(name), std::move(verdict));
  outcome.settings.mode = Mode::Observe;
  return outcome;
}

CheckOutcome failed(std::string_view name, OnError on_error, bool timed_out, Mode mode = Mode::Enforce) {
  CheckOutcome outcome = enforce(std::move(name), Verdict::cont(0, Signal::None, "SERVFAIL"));
  outcome.settings.on_error = on_error;
  outcome.settings.mode = mode;
  outcome.error = !timed_out;
  outcome.timed_out = timed_out;
  return outcome;
}

struct ScoreCase {
  std::vector<double> scores;  // one Continue check each (weight 1)
  double weight;               // of the last check
  Thresholds thresholds;
  Action expected;
};

TEST(Decide, WeightedScoresAgainstThresholds) {
  const Thresholds def{};  // defer 5, reject 10, quarantine off
  const Thresholds quarantine{5, 10, 3, true};
  const Thresholds off{0, 0, 0, true};
  const std::vector<ScoreCase> cases = {
      {{}, 1, def, Action::Continue},
      {{4.9}, 1, def, Action::Continue},
      {{5}, 1, def, Action::Defer},  // at the threshold counts
      {{2, 3}, 1, def, Action::Defer},
      {{9.99}, 1, def, Action::Defer},
      {{5, 5}, 1, def, Action::Reject},
      {{5, 2.5}, 2, def, Action::Reject},  // 5 + 2.5 * 2
      {{5, 3}, 0, def, Action::Defer},     // weight 0 mutes a check
      {{12, -3}, 1, def, Action::Defer},   // negative scores (allowlists) subtract
      {{2.9}, 1, quarantine, Action::Continue},
      {{3}, 1, quarantine, Action::Quarantine},
      {{5}, 1, quarantine, Action::Defer},
      {{100}, 1, off, Action::Continue},  // thresholds <= 0 are off
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    std::vector<CheckOutcome> outcomes;
    for (std::size_t j = 0; j < c.scores.size(); ++j) {
      const double w = j + 1 == c.scores.size() ? c.weight : 1;
      outcomes.push_back(enforce("c" + std::to_string(j),
                                 Verdict::cont(c.scores[j], Signal::RdnsMissing, "r"), w));
    }
    const StageDecision d = decide(outcomes, c.thresholds);
    EXPECT_EQ(d.action, c.expected) << "case " << i;
    EXPECT_EQ(d.score_based, c.expected != Action::Continue) << "case " << i;
  }
}

TEST(Decide, ScoreDecisionNamesTheLargestContributor) {
  const StageDecision d =
      decide({enforce("rdns", Verdict::cont(3, Signal::RdnsMissing, "no PTR")),
              enforce("rep", Verdict::cont(8, Signal::ReputationPoor, "score 12"))},
             Thresholds{});
  EXPECT_EQ(d.action, Action::Reject);
  EXPECT_EQ(d.signal, Signal::ReputationPoor);
  EXPECT_EQ(d.score, 11);
  EXPECT_EQ(d.reason, "score 11 >= reject_at 10; top reputation_poor 8: score 12");
  ASSERT_EQ(d.fired.size(), 2u);
  EXPECT_EQ(d.fired[0].check, "rdns");
  EXPECT_EQ(d.fired[1].signal, Signal::ReputationPoor);
}

TEST(Decide, ObserveModeIsReportedButNeverDecides) {
  const std::vector<std::vector<CheckOutcome>> cases = {
      {observe("dnsbl", Verdict::reject(Signal::DnsblListed, "zen"))},
      {observe("pregreet", Verdict::drop(Signal::Pregreet, "talked early"))},
      {observe("rep", Verdict::cont(50, Signal::ReputationPoor, "bad"))},
      {observe("rate", Verdict::defer(Signal::RateLimited, "fast", 7))},
      {failed("dns", OnError::Defer, true, Mode::Observe)},
  };
  for (const auto& outcomes : cases) {
    const StageDecision d = decide(outcomes, Thresholds{});
    EXPECT_EQ(d.action, Action::Continue) << d.fired[0].check;
    EXPECT_EQ(d.score, 0);
    ASSERT_EQ(d.fired.size(), 1u);
    EXPECT_FALSE(d.fired[0].enforced);
  }
  const StageDecision d = decide({observe("rep", Verdict::cont(50, Signal::ReputationPoor, "")),
                                  enforce("rdns", Verdict::cont(1, Signal::RdnsMissing, ""))},
                                 Thresholds{});
  EXPECT_EQ(d.observed_score, 50);
  EXPECT_EQ(d.score, 1);
  EXPECT_EQ(d.fired[0].signal, Signal::ReputationPoor);
}

TEST(Decide, FailuresFollowOnError) {
  struct Case {
    CheckOutcome outcome;
    Action action;
    Signal signal;
  };
  const std::vector<Case> cases = {
      {failed("dnsbl", OnError::Defer, true), Action::Defer, Signal::Timeout},
      {failed("store", OnError::Defer, false), Action::Defer, Signal::CheckError},
      {failed("dnsbl", OnError::Ignore, true), Action::Continue, Signal::None},
      {failed("store", OnError::Ignore, false), Action::Continue, Signal::None},
  };
  for (const auto& c : cases) {
    const StageDecision d = decide({c.outcome}, Thresholds{});
    EXPECT_EQ(d.action, c.action) << c.outcome.settings.name;
    EXPECT_EQ(d.signal, c.signal) << c.outcome.settings.name;
    ASSERT_EQ(d.fired.size(), 1u);  // counted either way
    EXPECT_EQ(d.fired[0].enforced, c.outcome.settings.on_error == OnError::Defer);
  }
  EXPECT_EQ(decide({failed("dnsbl", OnError::Defer, true)}, Thresholds{}).reason,
            "check dnsbl timed out: SERVFAIL");
}

TEST(Decide, ExplicitActionsWinBySeverityThenPipelineOrder) {
  const Verdict allow = Verdict::accept(Signal::ManualAllow, "allowed");
  const Verdict block = Verdict::reject(Signal::ManualBlock, "blocked");
  const Verdict drop = Verdict::drop(Signal::Pregreet, "pregreet");
  const Verdict defer = Verdict::defer(Signal::RateLimited, "rate");
  const Verdict dnsbl = Verdict::reject(Signal::DnsblListed, "zen");
  struct Case {
    std::vector<Verdict> verdicts;
    Action action;
    Signal signal;
  };
  const std::vector<Case> cases = {
      {{allow, block}, Action::Reject, Signal::ManualBlock},  // block beats allow
      {{block, allow}, Action::Reject, Signal::ManualBlock},
      {{block, drop}, Action::Drop, Signal::Pregreet},
      {{defer, block}, Action::Reject, Signal::ManualBlock},
      {{allow, defer}, Action::Defer, Signal::RateLimited},
      {{dnsbl, block}, Action::Reject, Signal::DnsblListed},  // first of equals
      {{allow, Verdict::cont(50, Signal::ReputationPoor, "")}, Action::Accept, Signal::ManualAllow},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::vector<CheckOutcome> outcomes;
    for (const auto& v : cases[i].verdicts) outcomes.push_back(enforce("c", v));
    const StageDecision d = decide(outcomes, Thresholds{});
    EXPECT_EQ(d.action, cases[i].action) << "case " << i;
    EXPECT_EQ(d.signal, cases[i].signal) << "case " << i;
    EXPECT_FALSE(d.score_based) << "case " << i;
  }
}

TEST(Decide, AllowBypassesScoreRejectButNotManualBlock) {
  const auto poor = enforce("rep", Verdict::cont(20, Signal::ReputationPoor, "poor"));
  const auto allow = enforce("list", Verdict::accept(Signal::ManualAllow, "partner"));
  const auto block = enforce("list", Verdict::reject(Signal::ManualBlock, "spam run"));
  EXPECT_EQ(decide({poor}, Thresholds{}).action, Action::Reject);
  EXPECT_EQ(decide({allow, poor}, Thresholds{}).action, Action::Accept);
  EXPECT_EQ(decide({poor}, Thresholds{}, Carry{0, true}).action, Action::Accept);
  EXPECT_EQ(decide({block, poor}, Thresholds{}, Carry{0, true}).action, Action::Reject);
}

std::vector<CheckOutcome> score(double points, Signal signal = Signal::ReputationPoor) {
  return {enforce("rep", Verdict::cont(points, signal, "history"))};
}

TEST(SessionVerdict, DelayRejectCarriesAConnectScoreRejectToEveryRcpt) {
  SessionVerdict session{Thresholds{}};
  const StageAnswer connect = session.on_stage(Stage::Connect, score(12));
  EXPECT_EQ(connect.action, Action::Continue);
  EXPECT_TRUE(connect.postponed);
  EXPECT_EQ(connect.decision.action, Action::Reject);
  EXPECT_EQ(session.on_stage(Stage::Helo, {}).action, Action::Continue);
  EXPECT_EQ(session.on_stage(Stage::Mail, {}).action, Action::Continue);
  for (int rcpt = 0; rcpt < 2; ++rcpt) {
    const StageAnswer answer = session.on_stage(Stage::Rcpt, {});
    EXPECT_EQ(answer.action, Action::Reject);
    EXPECT_EQ(answer.signal, Signal::ReputationPoor);
    EXPECT_TRUE(answer.from_earlier);
  }
  session.reset_transaction();  // a connect-time reject outlives RSET
  EXPECT_EQ(session.on_stage(Stage::Rcpt, {}).action, Action::Reject);
}

TEST(SessionVerdict, ManualBlockAndDropActAtConnect) {
  for (const Verdict& v : {Verdict::reject(Signal::ManualBlock, "blocked"),
                           Verdict::drop(Signal::Pregreet, "early talker")}) {
    SessionVerdict session{Thresholds{}};
    const StageAnswer answer = session.on_stage(Stage::Connect, {enforce("c", v)});
    EXPECT_EQ(answer.action, v.action);
    EXPECT_EQ(answer.signal, v.signal);
    EXPECT_FALSE(answer.postponed);
  }
}

TEST(SessionVerdict, WithoutDelayRejectAScoreRejectActsAtOnce) {
  SessionVerdict session{Thresholds{5, 10, 0, false}};
  EXPECT_EQ(session.on_stage(Stage::Connect, score(12)).action, Action::Reject);
}

TEST(SessionVerdict, ScoreDeferActsAtOnce) {
  SessionVerdict session{Thresholds{}};
  EXPECT_EQ(session.on_stage(Stage::Connect, score(6)).action, Action::Defer);
}

TEST(SessionVerdict, ScoresAddUpAcrossStages) {
  SessionVerdict session{Thresholds{}};
  EXPECT_EQ(session.on_stage(Stage::Connect, score(4, Signal::RdnsMissing)).action,
            Action::Continue);
  const StageAnswer helo = session.on_stage(Stage::Helo, score(3, Signal::HeloInvalid));
  EXPECT_EQ(helo.action, Action::Defer);
  EXPECT_EQ(helo.decision.score, 7);
  EXPECT_EQ(helo.signal, Signal::RdnsMissing);  // the largest contributor so far
}

TEST(SessionVerdict, RerunningAStageReplacesItsScore) {
  SessionVerdict session{Thresholds{}};
  session.on_stage(Stage::Helo, score(4));
  session.on_stage(Stage::Helo, score(4));  // EHLO again after STARTTLS
  EXPECT_EQ(session.on_stage(Stage::Mail, {}).decision.score, 4);
}

TEST(SessionVerdict, RcptScoresStayWithTheirRecipient) {
  SessionVerdict session{Thresholds{}};
  session.on_stage(Stage::Mail, score(3));
  EXPECT_EQ(session.on_stage(Stage::Rcpt, score(3)).action, Action::Defer);
  EXPECT_EQ(session.on_stage(Stage::Rcpt, {}).action, Action::Continue);
}

TEST(SessionVerdict, RsetForgetsAMailStageReject) {
  SessionVerdict session{Thresholds{}};
  EXPECT_TRUE(session.on_stage(Stage::Mail, score(11)).postponed);
  session.reset_transaction();
  EXPECT_EQ(session.on_stage(Stage::Mail, {}).decision.score, 0);
  EXPECT_EQ(session.on_stage(Stage::Rcpt, {}).action, Action::Continue);
}

TEST(SessionVerdict, ConnectAllowBypassesLaterScoreRejects) {
  SessionVerdict session{Thresholds{}};
  EXPECT_EQ(
      session.on_stage(Stage::Connect, {enforce("list", Verdict::accept(Signal::ManualAllow, "p"))})
          .action,
      Action::Accept);
  EXPECT_EQ(session.on_stage(Stage::Mail, score(30)).action, Action::Accept);
  EXPECT_EQ(session.on_stage(Stage::Rcpt, score(30)).action, Action::Accept);
  EXPECT_EQ(session.on_stage(Stage::EndOfData, score(30)).action, Action::Accept);
  EXPECT_TRUE(session.allowed());
}

TEST(SessionVerdict, AnAllowAtRcptCoversOnlyThatRecipient) {
  SessionVerdict session{Thresholds{}};
  const auto allow = enforce("list", Verdict::accept(Signal::DnsblAllowlisted, "dnswl"));
  EXPECT_EQ(session.on_stage(Stage::Rcpt, {allow, score(30)[0]}).action, Action::Accept);
  EXPECT_EQ(session.on_stage(Stage::Rcpt, score(30)).action, Action::Reject);
  EXPECT_FALSE(session.allowed());
}

TEST(SessionVerdict, AnAllowAtMailLastsForTheTransaction) {
  SessionVerdict session{Thresholds{}};
  session.on_stage(Stage::Mail, {enforce("list", Verdict::accept(Signal::ManualAllow, "sender"))});
  EXPECT_EQ(session.on_stage(Stage::Rcpt, score(30)).action, Action::Accept);
  session.reset_transaction();
  EXPECT_EQ(session.on_stage(Stage::Rcpt, score(30)).action, Action::Reject);
}

TEST(SessionVerdict, QuarantineIsAnsweredAtEndOfData) {
  SessionVerdict session{Thresholds{5, 10, 3, true}};
  EXPECT_EQ(session.on_stage(Stage::Connect, score(3)).action, Action::Continue);
  EXPECT_EQ(session.on_stage(Stage::Rcpt, {}).action, Action::Continue);
  EXPECT_EQ(session.on_stage(Stage::EndOfData, {}).action, Action::Quarantine);
}

TEST(SessionVerdict, ExplicitQuarantineAtMailLastsForTheTransaction) {
  SessionVerdict session{Thresholds{}};
  session.on_stage(Stage::Mail, {enforce("c", Verdict::quarantine(Signal::Anomaly, "odd burst"))});
  EXPECT_TRUE(session.quarantined());
  EXPECT_EQ(session.on_stage(Stage::EndOfData, {}).action, Action::Quarantine);
  session.reset_transaction();
  EXPECT_EQ(session.on_stage(Stage::EndOfData, {}).action, Action::Continue);
}

}  // namespace
}  // namespace mxgate::reputation
