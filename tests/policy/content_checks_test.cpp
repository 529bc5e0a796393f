// The content checks' judging (pure): format findings become their signals with their points,
// a linked domain's store listing and uri zone answers become a verdict and the portal's note,
// and bulk mail without a DKIM-signed one-click unsubscribe (RFC 8058) raises
// bulk_no_one_click; each fault alone and together.
#include "policy/content_checks.hpp"

#include <gtest/gtest.h>

#include "reputation/checks.hpp"

namespace mxgate::policy {
namespace {

using content::Finding;
using reputation::Action;
using reputation::Signal;

reputation::CheckSettings defaults(std::string_view name) {
  for (const auto& settings : reputation::default_check_settings()) {
    if (settings.name == name) return settings;
  }
  throw std::logic_error("no such check");
}

std::vector<Signal> signals(const CheckResult& result) {
  std::vector<Signal> out;
  for (const auto& verdict : result.verdicts) out.push_back(verdict.signal);
  return out;
}

TEST(FindingSignal, EveryFindingHasTheSignalOfItsName) {
  for (const auto finding : content::all_findings()) {
    EXPECT_EQ(reputation::signal_name(finding_signal(finding)), content::finding_name(finding));
  }
}

TEST(JudgeFormat, NothingFoundNothingSaid) {
  EXPECT_TRUE(judge_format(defaults("format"), {}).verdicts.empty());
}

TEST(JudgeFormat, EachFindingAloneScoresItsPointsWithItsDetail) {
  const auto settings = defaults("format");
  for (const auto finding : content::all_findings()) {
    const auto result = judge_format(settings, {{finding, "seen in part 1.2"}});
    ASSERT_EQ(result.verdicts.size(), 1u) << content::finding_name(finding);
    const auto& verdict = result.verdicts[0];
    EXPECT_EQ(verdict.action, Action::Continue);
    EXPECT_EQ(verdict.signal, finding_signal(finding));
    EXPECT_EQ(verdict.score, settings.points_for(finding_signal(finding)));
    EXPECT_GT(verdict.score, 0) << content::finding_name(finding) << " has default points";
    EXPECT_EQ(verdict.reason, "seen in part 1.2");
  }
}

TEST(JudgeFormat, FindingsTogetherEachRaiseTheirOwnSignal) {
  auto settings = defaults("format");
  const auto result = judge_format(settings, {{Finding::DateMissing, "no Date field"},
                                              {Finding::MessageIdMissing, "no Message-ID"},
                                              {Finding::MimeBadBase64, "part 2: bad base64"}});
  EXPECT_EQ(signals(result), (std::vector<Signal>{Signal::DateMissing, Signal::MessageIdMissing,
                                                  Signal::MimeBadBase64}));
  double total = 0;
  for (const auto& verdict : result.verdicts) total += verdict.score;
  EXPECT_EQ(total, settings.points_for(Signal::DateMissing) +
                       settings.points_for(Signal::MessageIdMissing) +
                       settings.points_for(Signal::MimeBadBase64));
}

constexpr std::int64_t kNow = 1'800'000'000;

LinkedDomainAnswers listed(reputation::ListingAction action, std::string reason,
                           std::int64_t expires = 0) {
  LinkedDomainAnswers answers;
  answers.domain = "evil.example";
  answers.store = storage::Lookup::Found;
  answers.record.listing = {action, std::move(reason), "manual", kNow - 10, expires};
  return answers;
}

ZoneAnswer zone_listing(const char* zone, const char* answer, reputation::Verdict verdict) {
  return ZoneAnswer{CheckResult{{std::move(verdict)}}, zone, answer};
}

TEST(JudgeLinked, AStoreBlockRejectsAndNamesTheDomainForThePortal) {
  ContentFindings findings;
  const auto result = judge_linked(
      listed(reputation::ListingAction::Block, "phishing kit on the site"), kNow, findings);
  ASSERT_EQ(result.verdicts.size(), 1u);
  EXPECT_EQ(result.verdicts[0].action, Action::Reject);
  EXPECT_EQ(result.verdicts[0].signal, Signal::UriListed);
  EXPECT_EQ(result.verdicts[0].reason, "links to evil.example, listed: phishing kit on the site");
  EXPECT_EQ(findings.listed_domain, "evil.example");
  EXPECT_EQ(findings.listed_by, "uri:evil.example");
  EXPECT_EQ(findings.listing_reason, "phishing kit on the site");
}

TEST(JudgeLinked, AnAllowListingDecidesAloneAndAnExpiredOneNothing) {
  const auto allow = listed(reputation::ListingAction::Allow, "our own newsletter host");
  const auto decided = judge_uri_listing(allow, kNow);
  ASSERT_TRUE(decided) << "the zones are not asked";
  EXPECT_TRUE(decided->verdicts.empty());
  EXPECT_FALSE(decided->error);
  const auto expired = listed(reputation::ListingAction::Block, "cleaned", kNow - 1);
  EXPECT_FALSE(judge_uri_listing(expired, kNow));
  LinkedDomainAnswers missing;
  missing.domain = "fine.example";
  EXPECT_FALSE(judge_uri_listing(missing, kNow));
}

TEST(JudgeLinked, ZoneListingsScoreOrActAndTheRefusalIsNoted) {
  LinkedDomainAnswers answers;
  answers.domain = "bad.example";
  answers.zones.push_back(zone_listing(
      "score.example", "127.0.0.2",
      reputation::Verdict::cont(2.5, Signal::UriDnsblListed, "links to bad.example, ...")));
  answers.zones.push_back(ZoneAnswer{});  // a zone that does not list it
  answers.zones.push_back(zone_listing(
      "dbl.example", "127.0.1.2",
      reputation::Verdict::reject(Signal::UriDnsblListed, "links to bad.example, ...")));
  ContentFindings findings;
  const auto result = judge_linked(answers, kNow, findings);
  EXPECT_EQ(signals(result), (std::vector<Signal>{Signal::UriDnsblListed, Signal::UriDnsblListed}));
  EXPECT_EQ(findings.listed_domain, "bad.example");
  EXPECT_EQ(findings.listed_by, "dbl.example") << "the refusing zone, over the scoring one";
  EXPECT_EQ(findings.listing_reason, "127.0.1.2");

  // A later domain's mere score does not replace the note of a refusal.
  LinkedDomainAnswers other;
  other.domain = "meh.example";
  other.zones.push_back(zone_listing(
      "score.example", "127.0.0.3",
      reputation::Verdict::cont(1, Signal::UriDnsblListed, "links to meh.example, ...")));
  judge_linked(other, kNow, findings);
  EXPECT_EQ(findings.listed_domain, "bad.example");
}

TEST(JudgeLinked, FailuresWithoutAListingAreAnErrorNeverAListing) {
  LinkedDomainAnswers answers;
  answers.domain = "slow.example";
  answers.store = storage::Lookup::Error;
  answers.zones.push_back(
      ZoneAnswer{CheckResult{{}, true, "dbl.example: servfail"}, "dbl.example", {}});
  ContentFindings findings;
  auto result = judge_linked(answers, kNow, findings);
  EXPECT_TRUE(result.verdicts.empty());
  EXPECT_TRUE(result.error);
  EXPECT_EQ(result.error_text,
            "linked domain slow.example: reputation store read failed; dbl.example: servfail");
  EXPECT_TRUE(findings.listed_domain.empty());

  // A listing in another zone still counts.
  answers.zones.push_back(zone_listing(
      "uri.example", "127.0.0.2",
      reputation::Verdict::cont(3, Signal::UriDnsblListed, "links to slow.example, ...")));
  result = judge_linked(answers, kNow, findings);
  EXPECT_FALSE(result.error);
  EXPECT_EQ(signals(result), std::vector<Signal>{Signal::UriDnsblListed});
}

auth::DkimCheck dkim(auth::DkimStatus status, std::vector<std::string> signed_fields) {
  auth::DkimCheck check;
  check.verdict.status = status;
  check.domain = "news.example";
  check.selector = "s1";
  check.signed_fields = std::move(signed_fields);
  return check;
}

content::BulkFacts one_click_list() {
  content::BulkFacts bulk;
  bulk.list_id = true;
  bulk.list_unsubscribe = true;
  bulk.https_unsubscribe = true;
  bulk.one_click = true;
  return bulk;
}

const std::vector<std::string> kSignsBoth{"from", "to", "subject", "list-unsubscribe",
                                          "list-unsubscribe-post"};

TEST(JudgeBulk, PersonalMailIsNoBulkMail) {
  const auto settings = defaults("bulk_unsubscribe");
  EXPECT_TRUE(judge_bulk(settings, {}, 0, 0, {}).verdicts.empty());
  EXPECT_TRUE(judge_bulk(settings, {}, 500, 1000, {}).verdicts.empty()) << "under the volume";
  EXPECT_TRUE(judge_bulk(settings, {}, 5000, 0, {}).verdicts.empty()) << "volume off";
}

TEST(JudgeBulk, SignedOneClickPasses) {
  const auto settings = defaults("bulk_unsubscribe");
  EXPECT_TRUE(
      judge_bulk(settings, one_click_list(), 0, 0,
                 {dkim(auth::DkimStatus::Fail, {}), dkim(auth::DkimStatus::Pass, kSignsBoth)})
          .verdicts.empty());
}

TEST(JudgeBulk, EachMissingPieceAloneRaisesTheSignal) {
  const auto settings = defaults("bulk_unsubscribe");
  const std::vector<auth::DkimCheck> signed_both{dkim(auth::DkimStatus::Pass, kSignsBoth)};
  struct Case {
    const char* what;
    content::BulkFacts bulk;
    std::vector<auth::DkimCheck> dkim;
    const char* missing;
  };
  auto no_https = one_click_list();
  no_https.https_unsubscribe = false;
  auto no_post = one_click_list();
  no_post.one_click = false;
  const std::vector<Case> cases = {
      {"mailto: only", no_https, signed_both, "no https List-Unsubscribe"},
      {"no List-Unsubscribe-Post", no_post, signed_both,
       "no List-Unsubscribe-Post: List-Unsubscribe=One-Click"},
      {"unsigned",
       one_click_list(),
       {},
       "List-Unsubscribe and List-Unsubscribe-Post not signed by a passing DKIM signature"},
      {"signature failed",
       one_click_list(),
       {dkim(auth::DkimStatus::Fail, kSignsBoth)},
       "List-Unsubscribe and List-Unsubscribe-Post not signed by a passing DKIM signature"},
      {"Post not in h=",
       one_click_list(),
       {dkim(auth::DkimStatus::Pass, {"from", "list-unsubscribe"})},
       "List-Unsubscribe and List-Unsubscribe-Post not signed by a passing DKIM signature"},
  };
  for (const auto& c : cases) {
    const auto result = judge_bulk(settings, c.bulk, 0, 0, c.dkim);
    ASSERT_EQ(result.verdicts.size(), 1u) << c.what;
    EXPECT_EQ(result.verdicts[0].signal, Signal::BulkNoOneClick) << c.what;
    EXPECT_EQ(result.verdicts[0].action, Action::Continue) << c.what;
    EXPECT_EQ(result.verdicts[0].score, settings.points_for(Signal::BulkNoOneClick)) << c.what;
    EXPECT_EQ(result.verdicts[0].reason,
              std::string("bulk mail (List-Id, List-Unsubscribe) without one-click unsubscribe: ") +
                  c.missing)
        << c.what;
  }
}

TEST(JudgeBulk, WhatMakesMailBulkAloneAndTogether) {
  const auto settings = defaults("bulk_unsubscribe");
  content::BulkFacts precedence;
  precedence.precedence_bulk = true;
  auto result = judge_bulk(settings, precedence, 0, 0, {});
  ASSERT_EQ(result.verdicts.size(), 1u);
  EXPECT_EQ(result.verdicts[0].reason,
            "bulk mail (Precedence: bulk) without one-click unsubscribe: no https "
            "List-Unsubscribe");
  // A sender over the daily volume sends bulk mail, whatever its header says.
  result = judge_bulk(settings, {}, 1001, 1000, {});
  ASSERT_EQ(result.verdicts.size(), 1u);
  EXPECT_EQ(result.verdicts[0].reason,
            "bulk mail (1001 messages from the sender domain today) without one-click "
            "unsubscribe: no https List-Unsubscribe");
  EXPECT_TRUE(judge_bulk(settings, {}, 1000, 1000, {}).verdicts.empty()) << "not over it";
  content::BulkFacts all = precedence;
  all.list_id = all.list_unsubscribe = true;
  EXPECT_EQ(bulk_because(all, 2000, 1000),
            "List-Id, List-Unsubscribe, Precedence: bulk, 2000 messages from the sender domain "
            "today");
}

TEST(ParseOptions, ComeFromTheContentSection) {
  conf::Config config;
  config.content.max_depth = 3;
  config.content.max_uri_domains = 7;
  config.auth.max_header_size = 4096;
  const auto options = parse_options(config, true);
  EXPECT_EQ(options.limits.max_depth, 3u);
  EXPECT_EQ(options.limits.max_uri_domains, 7u);
  EXPECT_EQ(options.limits.max_header_bytes, 4096u);
  EXPECT_TRUE(options.smtputf8);
}

}  // namespace
}  // namespace mxgate::policy
