// The authentication checks' judging (pure) and the Authentication-Results they lead to:
// SPF scores, DKIM scores only when nothing passed, DMARC policies with pct sampling, the
// [auth] switches and an allow listing, and which domains earn reputation.
#include "policy/auth_checks.hpp"

#include <gtest/gtest.h>

#include "reputation/checks.hpp"

namespace mxgate::policy {
namespace {

using reputation::Action;
using reputation::Signal;

reputation::CheckSettings defaults(std::string_view name) {
  for (const auto& settings : reputation::default_check_settings()) {
    if (settings.name == name) return settings;
  }
  throw std::logic_error("no such check");
}

auth::DkimCheck dkim(auth::DkimStatus status, std::string domain,
                     std::uint64_t unsigned_octets = 0) {
  auth::DkimCheck check;
  check.verdict.status = status;
  check.verdict.reason = status == auth::DkimStatus::Fail ? "body hash mismatch" : "";
  check.verdict.unsigned_body_octets = unsigned_octets;
  check.domain = std::move(domain);
  check.selector = "s1";
  return check;
}

auth::DmarcCheck dmarc_fail(auth::dmarc::Policy policy, int pct = 100) {
  auth::DmarcCheck check;
  check.result = auth::dmarc::Result::Fail;
  check.policy = policy;
  check.pct = pct;
  check.from_domain = "bank.example";
  check.record_found = true;
  return check;
}

std::vector<std::pair<Action, Signal>> actions(const CheckResult& result) {
  std::vector<std::pair<Action, Signal>> out;
  for (const auto& verdict : result.verdicts) out.emplace_back(verdict.action, verdict.signal);
  return out;
}

TEST(JudgeSpf, FailAndSoftfailScoreTheirPoints) {
  const auto settings = defaults("spf");
  auth::spf::Evaluation spf;
  spf.result = auth::spf::Result::Fail;
  spf.domain = "example.org";
  spf.mechanism = "-all";
  auto result = judge_spf(settings, spf);
  ASSERT_EQ(result.verdicts.size(), 1u);
  EXPECT_EQ(result.verdicts[0].signal, Signal::SpfFail);
  EXPECT_EQ(result.verdicts[0].score, 3);
  EXPECT_EQ(result.verdicts[0].reason, "SPF fail for example.org by -all");
  spf.result = auth::spf::Result::SoftFail;
  EXPECT_EQ(judge_spf(settings, spf).verdicts.at(0).score, 1);
  for (auto other : {auth::spf::Result::Pass, auth::spf::Result::None, auth::spf::Result::Neutral,
                     auth::spf::Result::TempError, auth::spf::Result::PermError}) {
    spf.result = other;
    EXPECT_TRUE(judge_spf(settings, spf).verdicts.empty());
  }
}

TEST(JudgeDkim, AFailureCountsOnlyWhenNothingPassed) {
  const auto settings = defaults("dkim");
  EXPECT_TRUE(judge_dkim(settings, {}).verdicts.empty());
  EXPECT_EQ(actions(judge_dkim(settings, {dkim(auth::DkimStatus::Fail, "a.example")})),
            (std::vector<std::pair<Action, Signal>>{{Action::Continue, Signal::DkimFail}}));
  EXPECT_TRUE(judge_dkim(settings, {dkim(auth::DkimStatus::Fail, "author.example"),
                                    dkim(auth::DkimStatus::Pass, "list.example")})
                  .verdicts.empty())
      << "a mailing list broke the author's signature and signed itself";
  auto testing = dkim(auth::DkimStatus::Fail, "a.example");
  testing.verdict.testing = true;
  EXPECT_TRUE(judge_dkim(settings, {testing}).verdicts.empty()) << "t=y: like no signature";
  const auto partial = judge_dkim(settings, {dkim(auth::DkimStatus::Pass, "a.example", 120)});
  ASSERT_EQ(partial.verdicts.size(), 1u);
  EXPECT_EQ(partial.verdicts[0].signal, Signal::DkimUnsignedContent);
  EXPECT_EQ(partial.verdicts[0].reason, "DKIM d=a.example l= leaves 120 body octets unsigned");
}

TEST(JudgeDmarc, PoliciesAreEnforcedAsConfigured) {
  const auto settings = defaults("dmarc");
  using P = auth::dmarc::Policy;
  DmarcEnforcement on;
  EXPECT_EQ(actions(judge_dmarc(settings, dmarc_fail(P::Reject), true, on)),
            (std::vector<std::pair<Action, Signal>>{{Action::Reject, Signal::DmarcFail}}));
  EXPECT_EQ(actions(judge_dmarc(settings, dmarc_fail(P::Quarantine), true, on)),
            (std::vector<std::pair<Action, Signal>>{{Action::Quarantine, Signal::DmarcFail}}));
  const auto none = judge_dmarc(settings, dmarc_fail(P::None), true, on);
  ASSERT_EQ(none.verdicts.size(), 1u);
  EXPECT_EQ(none.verdicts[0].action, Action::Continue);
  EXPECT_EQ(none.verdicts[0].score, 2);

  DmarcEnforcement no_reject = on;
  no_reject.reject = false;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject), true, no_reject).verdicts[0].action,
            Action::Quarantine);
  DmarcEnforcement neither = no_reject;
  neither.quarantine = false;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject), true, neither).verdicts[0].action,
            Action::Continue);
  DmarcEnforcement allowed = on;
  allowed.allowed = true;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject), true, allowed).verdicts[0].action,
            Action::Continue)
      << "an operator's allow listing bypasses DMARC policies";
}

// [auth] trusted_arc_sealers (RFC 8617 §7, RFC 7489 §6.7): a trusted sealer that vouched turns
// an enforced policy into the dmarc_fail score, and the reason names the sealer.
TEST(JudgeDmarc, ATrustedArcSealersVouchScoresInsteadOfEnforcing) {
  const auto settings = defaults("dmarc");
  using P = auth::dmarc::Policy;
  DmarcEnforcement vouched;
  vouched.arc_vouch = auth::ArcVouch{"lists.example.org", "dkim=pass header.d=example.org"};
  for (const P policy : {P::Reject, P::Quarantine, P::None}) {
    const auto result = judge_dmarc(settings, dmarc_fail(policy), true, vouched);
    ASSERT_EQ(result.verdicts.size(), 1u);
    EXPECT_EQ(result.verdicts[0].action, Action::Continue);
    EXPECT_EQ(result.verdicts[0].signal, Signal::DmarcFail);
    EXPECT_EQ(result.verdicts[0].score, 2);
    EXPECT_NE(result.verdicts[0].reason.find(", not enforced: trusted ARC sealer lists.example.org "
                                             "recorded dkim=pass header.d=example.org"),
              std::string::npos)
        << result.verdicts[0].reason;
  }
}

TEST(JudgeDmarc, PctSamplesTheFailuresThePolicyAppliesTo) {
  const auto settings = defaults("dmarc");
  using P = auth::dmarc::Policy;
  DmarcEnforcement e;
  e.sample = 0.3;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject, 50), true, e).verdicts[0].action,
            Action::Reject);
  e.sample = 0.7;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject, 50), true, e).verdicts[0].action,
            Action::Quarantine)
      << "RFC 7489 §6.6.4: outside the sample, the next milder policy";
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Quarantine, 50), true, e).verdicts[0].action,
            Action::Continue);
  e.sample = 0;
  EXPECT_EQ(judge_dmarc(settings, dmarc_fail(P::Reject, 0), true, e).verdicts[0].action,
            Action::Quarantine)
      << "pct=0 applies the policy to no message";
}

TEST(JudgeDmarc, PassNoRecordAndUnauthenticatedMail) {
  const auto settings = defaults("dmarc");
  auth::DmarcCheck pass;
  pass.result = auth::dmarc::Result::Pass;
  EXPECT_TRUE(judge_dmarc(settings, pass, true, {}).verdicts.empty());
  auth::DmarcCheck none;  // no record
  EXPECT_EQ(actions(judge_dmarc(settings, none, false, {})),
            (std::vector<std::pair<Action, Signal>>{{Action::Continue, Signal::Unauthenticated}}));
  auth::DmarcCheck no_from;
  no_from.result = auth::dmarc::Result::Fail;
  no_from.reason = "no From field";
  const auto result = judge_dmarc(settings, no_from, true, {});
  ASSERT_EQ(result.verdicts.size(), 1u);
  EXPECT_EQ(result.verdicts[0].action, Action::Continue) << "no policy to enforce";
  EXPECT_EQ(result.verdicts[0].reason, "DMARC fail: no From field");
}

TEST(AuthFindings, OnlyAuthenticatedDomainsEarnReputation) {
  AuthFindings findings;
  findings.identity.sender = "bounce@Mail.Example.ORG";
  EXPECT_FALSE(findings.sender_authenticated());
  EXPECT_TRUE(findings.authenticated_domains().empty());
  findings.spf = auth::spf::Evaluation{};
  findings.spf->result = auth::spf::Result::Pass;
  findings.dkim = std::vector<auth::DkimCheck>{dkim(auth::DkimStatus::Pass, "example.org"),
                                               dkim(auth::DkimStatus::Fail, "forged.example"),
                                               dkim(auth::DkimStatus::Pass, "example.org")};
  EXPECT_TRUE(findings.sender_authenticated());
  EXPECT_EQ(findings.authenticated_domains(),
            (std::vector<std::string>{"mail.example.org", "example.org"}));
  findings.identity.sender.clear();  // the null sender: SPF vouched for the HELO name only
  EXPECT_FALSE(findings.sender_authenticated());
  EXPECT_EQ(findings.authenticated_domains(), std::vector<std::string>{"example.org"});
}

TEST(AuthFindings, FailuresToCount) {
  AuthFindings findings;
  EXPECT_FALSE(findings.failed());
  findings.dkim = std::vector<auth::DkimCheck>{dkim(auth::DkimStatus::Fail, "a.example"),
                                               dkim(auth::DkimStatus::Pass, "b.example")};
  EXPECT_FALSE(findings.failed()) << "one signature passed";
  findings.dkim->pop_back();
  EXPECT_TRUE(findings.failed());
  findings.dkim.reset();
  findings.dmarc = dmarc_fail(auth::dmarc::Policy::None);
  EXPECT_TRUE(findings.failed());
  findings.dmarc.reset();
  findings.spf = auth::spf::Evaluation{};
  findings.spf->result = auth::spf::Result::SoftFail;
  EXPECT_FALSE(findings.failed());
  findings.spf->result = auth::spf::Result::Fail;
  EXPECT_TRUE(findings.failed());
}

// RFC 8617 §10.1: arc=none|pass|fail; smtp.remote-ip and header.oldest-pass (§10.2).
TEST(AuthResultsOfFindings, ArcResults) {
  AuthFindings findings;
  findings.arc_asked = true;
  const auto format = [&] {
    return auth::format_results(auth_results(findings, "mx", "192.0.2.1", "", ""), false);
  };
  EXPECT_EQ(format(),
            "mx; dkim=none; arc=fail reason=\"not finished in time\" "
            "smtp.remote-ip=192.0.2.1")
      << "RFC 8617 has no temperror";
  findings.arc = auth::ArcVerdict{};
  EXPECT_EQ(format(), "mx; dkim=none; arc=none");
  findings.arc->status = auth::ArcStatus::Pass;
  findings.arc->sealers = {"origin.example", "lists.example.org"};
  findings.arc->oldest_pass = 2;
  EXPECT_EQ(format(),
            "mx; dkim=none; arc=pass (i=2 d=lists.example.org) header.oldest-pass=2 "
            "smtp.remote-ip=192.0.2.1");
  EXPECT_EQ(findings.summary(), "arc:pass");
  findings.arc->status = auth::ArcStatus::Fail;
  findings.arc->reason = "ARC-Seal i=1 d=origin.example: signature mismatch";
  EXPECT_EQ(format(),
            "mx; dkim=none; arc=fail reason=\"ARC-Seal i=1 d=origin.example: "
            "signature mismatch\" smtp.remote-ip=192.0.2.1");
  findings.arc = auth::ArcVerdict{};
  EXPECT_EQ(findings.summary(), "") << "no ARC sets: nothing to say in the log line";
}

TEST(AuthResultsOfFindings, UnfinishedChecksAreTemporaryErrors) {
  AuthFindings findings;
  findings.spf_asked = findings.dkim_asked = findings.dmarc_asked = true;
  findings.identity.sender = "a@example.org";
  const auto results =
      auth_results(findings, "mx.example.net", "192.0.2.1", "pass", "mail.example");
  EXPECT_EQ(auth::format_results(results, false),
            "mx.example.net; spf=temperror reason=\"not finished in time\" "
            "smtp.mailfrom=a@example.org; dkim=temperror reason=\"not finished in time\"; "
            "dmarc=temperror reason=\"not finished in time\"; "
            "iprev=pass policy.iprev=192.0.2.1 (mail.example)");
  AuthFindings off;  // checks in mode "off", rdns undecided: nothing to report but dkim=none
  EXPECT_EQ(auth::format_results(auth_results(off, "mx", "192.0.2.1", "", ""), false),
            "mx; dkim=none");
}

TEST(AppliedDmarc, SaysWhyThePolicyAppliedIsNotTheOneAskedFor) {
  using P = auth::dmarc::Policy;
  using O = auth::dmarc_report::Override;
  struct Case {
    const char* what;
    auth::DmarcCheck dmarc;
    DmarcEnforcement enforcement;
    P policy;
    O reason;
  };
  DmarcEnforcement on, no_reject, no_quarantine, allowed, vouched, outside_sample;
  no_reject.reject = false;
  no_quarantine.reject = no_quarantine.quarantine = false;
  allowed.allowed = true;
  vouched.arc_vouch = auth::ArcVouch{"lists.example.org", "dmarc=pass"};
  outside_sample.sample = 0.75;
  auth::DmarcCheck pass = dmarc_fail(P::Reject);
  pass.result = auth::dmarc::Result::Pass;
  const Case cases[] = {
      {"enforced", dmarc_fail(P::Reject), on, P::Reject, O::None},
      {"a pass", pass, on, P::None, O::None},
      {"p=none", dmarc_fail(P::None), on, P::None, O::None},
      {"outside pct", dmarc_fail(P::Reject, 50), outside_sample, P::Quarantine, O::SampledOut},
      {"dmarc_reject off", dmarc_fail(P::Reject), no_reject, P::Quarantine, O::LocalPolicy},
      {"both off", dmarc_fail(P::Reject), no_quarantine, P::None, O::LocalPolicy},
      {"allow listed", dmarc_fail(P::Quarantine), allowed, P::None, O::LocalPolicy},
      {"trusted sealer", dmarc_fail(P::Reject), vouched, P::None, O::TrustedForwarder},
  };
  for (const auto& c : cases) {
    const auto applied = applied_dmarc(c.dmarc, c.enforcement);
    EXPECT_EQ(applied.policy, c.policy) << c.what;
    EXPECT_EQ(applied.reason, c.reason) << c.what;
  }
}

}  // namespace
}  // namespace mxgate::policy
