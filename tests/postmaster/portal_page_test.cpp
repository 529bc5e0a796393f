// The portal's judgement and rendering: listings of the IP and of its network block, an allow
// wins over scores, a score at defer_at or reject_at defers or blocks with its signals as
// reasons, a throttle deferral in effect defers; every outside text is escaped in HTML and
// JSON; the checks render pass and fail. Issue 15: what a delisting request leads to
// (decide_delist) and that the page agrees with it, the ramp only for an address that may send,
// human times, a network listing named as such, what happens after a request, the JSON fields.
#include "postmaster/portal_page.hpp"

#include <gtest/gtest.h>

#include "postmaster/human_time.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::postmaster {
namespace {

using reputation::ListingAction;
using reputation::Record;
using reputation::Signal;

constexpr std::int64_t kNow = 1'800'000'000;

Record listed(ListingAction action, std::string reason, std::int64_t expires = 0) {
  Record r;
  r.listing.action = action;
  r.listing.reason = std::move(reason);
  r.listing.created = kNow - 3600;
  r.listing.expires = expires;
  return r;
}

// A record whose complaint rate is far above 0.3% (1000 delivered, 50 complaints today).
Record complained() {
  Record r;
  r.first_seen = kNow - 90 * 86400;
  reputation::DayCounters day;
  day.day = static_cast<std::uint32_t>(kNow / 86400);
  day.counters.accepted = 1000;
  day.counters.complaints = 50;
  r.days.push_back(day);
  return r;
}

IpReport judge(const Record* ip, const Record* network = nullptr,
               std::optional<DeferralShown> deferral = std::nullopt) {
  reputation::Thresholds thresholds;  // defer at 5, reject at 10
  return judge_ip("192.0.2.7", ip, {{"192.0.2.0/24", network}}, reputation::ModelSettings{},
                  thresholds, deferral, kNow);
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(PortalJudge, AListingOfTheIpOrItsNetworkBlocksWithItsReasonAndTimes) {
  const auto ip = listed(ListingAction::Block, "spam trap hits", kNow + 86400);
  auto report = judge(&ip);
  EXPECT_EQ(report.status, IpReport::Status::Blocked);
  EXPECT_EQ(report.since, kNow - 3600);
  EXPECT_EQ(report.until, kNow + 86400);
  ASSERT_EQ(report.reasons.size(), 1u);
  EXPECT_EQ(report.reasons[0].signal, Signal::ManualBlock);
  EXPECT_EQ(report.reasons[0].detail, "spam trap hits");

  const auto network = listed(ListingAction::Block, "snowshoe range");
  report = judge(nullptr, &network);
  EXPECT_EQ(report.status, IpReport::Status::Blocked);
  EXPECT_EQ(report.reasons.at(0).detail, "snowshoe range");

  const auto expired = listed(ListingAction::Block, "old", kNow - 1);
  EXPECT_EQ(judge(&expired).status, IpReport::Status::NotListed);
}

TEST(PortalJudge, ScoresDeferAndAnAllowListingWins) {
  const auto ip = complained();
  auto report = judge(&ip);
  EXPECT_EQ(report.status, IpReport::Status::Deferred);  // complaint_rate: 5 points = defer_at
  ASSERT_FALSE(report.reasons.empty());
  EXPECT_EQ(report.reasons[0].signal, Signal::ComplaintRate);
  EXPECT_EQ(guidance_for(Signal::ComplaintRate).topic, "complaints");

  auto allowed = complained();
  allowed.listing = listed(ListingAction::Allow, "partner").listing;
  report = judge(&allowed);
  EXPECT_EQ(report.status, IpReport::Status::NotListed);
  EXPECT_TRUE(report.allow_listed);
  EXPECT_TRUE(report.reasons.empty());
}

TEST(PortalJudge, AThrottleDeferralInEffectDefers) {
  const DeferralShown deferral{Signal::RateLimited, "limit ip-connections", kNow - 10, kNow + 50};
  auto report = judge(nullptr, nullptr, deferral);
  EXPECT_EQ(report.status, IpReport::Status::Deferred);
  EXPECT_EQ(report.since, kNow - 10);
  EXPECT_EQ(report.until, kNow + 50);
  EXPECT_EQ(report.reasons.at(0).signal, Signal::RateLimited);
  const DeferralShown over{Signal::RateLimited, "limit", kNow - 100, kNow - 1};
  EXPECT_EQ(judge(nullptr, nullptr, over).status, IpReport::Status::NotListed);
}

TEST(PortalRender, OutsideTextIsEscapedInHtmlAndJson) {
  const std::string hostile = "<script>alert('x')</script>&\"\n";
  const auto ip = listed(ListingAction::Block, hostile);
  auto report = judge(&ip);
  report.checks.ran = true;
  report.checks.ptr = "<b>ptr</b>";
  const auto html = render_report_html(report);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"),
            std::string::npos);
  const auto json = render_report_json(report);
  EXPECT_EQ(json.find('<'), std::string::npos);
  EXPECT_NE(json.find("\\u003cscript\\u003ealert('x')\\u003c/script\\u003e\\u0026\\\"\\u000a"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"status\":\"blocked\""), std::string::npos);
  EXPECT_NE(json.find("\"ptr\":\"\\u003cb\\u003eptr\\u003c/b\\u003e\""), std::string::npos);
  EXPECT_EQ(render_lookup_html(hostile).find("<script>"), std::string::npos);
}

TEST(PortalRender, ChecksPassOnlyWhenConfirmedAndNotGeneric) {
  LiveChecks checks;
  checks.ran = true;
  checks.ptr = checks.confirmed_name = "mail.example.test";
  EXPECT_TRUE(checks.pass());
  checks.generic = "it contains the address";
  EXPECT_FALSE(checks.pass());
  checks.generic.reset();
  checks.confirmed_name.clear();
  EXPECT_FALSE(checks.pass());
}

TEST(PortalRender, EveryReasonLinksToASectionOfTheBestPracticesPage) {
  const auto page = render_best_practices_html();
  for (const auto signal : reputation::all_signals()) {
    const auto topic = guidance_for(signal).topic;
    EXPECT_NE(page.find("<section id=\"" + std::string(topic) + "\">"), std::string::npos)
        << reputation::signal_name(signal);
  }
}

LiveChecks passing() {
  LiveChecks checks;
  checks.ran = true;
  checks.ptr = checks.confirmed_name = "mail.example.test";
  return checks;
}

LiveChecks failing() {
  LiveChecks checks;
  checks.ran = true;
  checks.ptr = "liar.example.test";
  return checks;
}

// An automatic listing of the IP ("auto-traps"), with checks and history as given.
IpReport auto_listed(LiveChecks checks) {
  auto record = listed(ListingAction::Block, "spam trap hits", kNow + 3 * 86400);
  record.listing.source = "auto-traps";
  auto report = judge(&record);
  report.checks = std::move(checks);
  return report;
}

using Outcome = DelistDecision::Outcome;

TEST(DelistDecide, WhatARequestWouldLeadTo) {
  struct Case {
    std::string name;
    IpReport report;
    Outcome outcome;
    std::vector<std::string_view> because;
  };
  auto manual = listed(ListingAction::Block, "by hand");
  manual.listing.source = "admin-api";
  auto network = listed(ListingAction::Block, "snowshoe range");
  network.listing.source = "auto-snowshoe";
  auto scored = complained();
  std::vector<Case> cases;
  cases.push_back({"not listed", judge(nullptr), Outcome::NotListed, {}});
  cases.push_back({"automatic, checks pass", auto_listed(passing()), Outcome::Immediate, {}});
  cases.push_back({"score, checks pass", judge(&scored), Outcome::Immediate, {}});
  cases.back().report.checks = passing();
  cases.push_back(
      {"automatic, reverse DNS fails", auto_listed(failing()), Outcome::Review, {"reverse-dns"}});
  cases.push_back({"automatic, no checks ran", auto_listed({}), Outcome::Review, {"reverse-dns"}});
  cases.push_back({"manual", judge(&manual), Outcome::Review, {"manual-listing"}});
  cases.back().report.checks = passing();
  cases.push_back({"manual and reverse DNS fails",
                   judge(&manual),
                   Outcome::Review,
                   {"manual-listing", "reverse-dns"}});
  cases.back().report.checks = failing();
  cases.push_back({"network", judge(nullptr, &network), Outcome::Review, {"network-listing"}});
  cases.back().report.checks = passing();
  cases.push_back(
      {"relisted within 30 days", auto_listed(passing()), Outcome::Review, {"relisted"}});
  cases.back().report.last_delisted = kNow - 29 * 86400;
  cases.push_back({"relisted after 30 days", auto_listed(passing()), Outcome::Immediate, {}});
  cases.back().report.last_delisted = kNow - 31 * 86400;
  cases.push_back({"a request is open", auto_listed(passing()), Outcome::RequestOpen, {}});
  cases.back().report.request = DelistRequest{"192.0.2.7", "a@example.test", "fixed it", kNow};
  cases.push_back(
      {"a denied request does not stop a new one", auto_listed(passing()), Outcome::Immediate, {}});
  cases.back().report.request = DelistRequest{
      "192.0.2.7", "a@example.test", "fixed it", kNow - 9, DelistRequest::State::Denied, kNow - 5};
  const DeferralShown deferral{Signal::RateLimited, "limit ip-connections", kNow - 10, kNow + 50};
  cases.push_back({"throttle deferral", judge(nullptr, nullptr, deferral), Outcome::WaitsOut, {}});
  cases.push_back({"outside blocklist", judge(nullptr), Outcome::AskBlocklist, {}});
  cases.back().report.status = IpReport::Status::Blocked;
  cases.back().report.cause = IpReport::Cause::Blocklist;
  for (const auto& c : cases) {
    const auto d = decide_delist(c.report);
    EXPECT_EQ(outcome_name(d.outcome), outcome_name(c.outcome)) << c.name;
    EXPECT_EQ(review_reason_names(d), c.because) << c.name;
    // The page offers the form exactly when a request is taken, and says what happens first.
    const auto html = render_report_html(c.report);
    EXPECT_EQ(has(html, "id=\"delist\""), d.form()) << c.name;
    if (d.outcome == Outcome::Immediate) {
      EXPECT_LT(html.find("approved at once"), html.find("id=\"delist\"")) << c.name;
      EXPECT_TRUE(has(html, ">Delist now</button>")) << c.name;
    }
    if (d.outcome == Outcome::Review) {
      EXPECT_LT(html.find("goes to <strong>an operator</strong>"), html.find("id=\"delist\""))
          << c.name;
      EXPECT_TRUE(has(html, ">Send to an operator</button>")) << c.name;
    }
    const auto json = render_report_json(c.report);
    EXPECT_TRUE(has(json, "\"delisting\":{\"outcome\":\"" + std::string(outcome_name(d.outcome))))
        << json;
  }
}

TEST(PortalRender, FailingReverseDnsIsSaidBeforeTheFormWithWhatFixingItChanges) {
  auto html = render_report_html(auto_listed(failing()));
  const auto fix = html.find("Reverse DNS of this address fails");
  ASSERT_NE(fix, std::string::npos) << html;
  EXPECT_LT(fix, html.find("id=\"delist\""));
  EXPECT_TRUE(has(html, "Fix this first and your request can be approved at once."));
  EXPECT_TRUE(has(html, "If you ask now, an operator reviews your request"));
  // When an operator must look anyway, fixing reverse DNS is no promise of "at once".
  auto manual = listed(ListingAction::Block, "by hand");
  auto report = judge(&manual);
  report.checks = failing();
  html = render_report_html(report);
  EXPECT_FALSE(has(html, "approved at once"));
  EXPECT_TRUE(has(html, "Fix it before you ask"));
  EXPECT_TRUE(has(html, "our operators (or a feed they use) made the listing"));
}

TEST(PortalRender, TheRampAllowanceIsALimitShownOnlyToAnAddressThatMaySend) {
  auto clean = judge(nullptr);
  clean.ramp_allowance = 100;
  auto html = render_report_html(clean);
  EXPECT_TRUE(
      has(html, "While this address is new to us, mail beyond 100 messages a day is deferred"))
      << html;
  EXPECT_TRUE(has(render_report_json(clean), "\"ramp_allowance_per_day\":100"));
  auto blocked = auto_listed(passing());
  blocked.ramp_allowance = 100;
  EXPECT_FALSE(has(render_report_html(blocked), "100 messages"));
  EXPECT_FALSE(has(render_report_json(blocked), "ramp_allowance"));
  const DeferralShown deferral{Signal::RateLimited, "limit ip-connections", kNow - 10, kNow + 50};
  auto deferred = judge(nullptr, nullptr, deferral);
  deferred.ramp_allowance = 100;
  EXPECT_FALSE(has(render_report_html(deferred), "100 messages"));
  EXPECT_FALSE(has(html, "may send up to"));
}

TEST(PortalRender, TheLookupPagePointsToItsOwnFormNotToTheLookupPage) {
  const auto html = render_report_html(auto_listed(passing()));
  EXPECT_FALSE(has(html, "on the lookup page")) << html;
  EXPECT_TRUE(has(html, "ask for delisting. See <a href=\"#delisting\">Delisting</a> below."));
  EXPECT_TRUE(has(html, "<h2 id=\"delisting\">Delisting</h2>"));
}

TEST(HumanTime, DatesInUtcAndRelativeTimes) {
  EXPECT_EQ(human_date(1796597880), "6 December 2026, 22:58 UTC");
  EXPECT_EQ(human_date(0), "1 January 1970, 00:00 UTC");
  struct Case {
    std::int64_t delta;
    std::string_view text;
  };
  for (const auto& c : std::vector<Case>{{0, "just now"},
                                         {-59, "just now"},
                                         {90, "in 2 minutes"},
                                         {-60, "1 minute ago"},
                                         {-2 * 3600, "2 hours ago"},
                                         {-(2 * 3600 + 50 * 60), "3 hours ago"},
                                         {3 * 86400 - 60, "in 3 days"},
                                         {86400, "in 1 day"},
                                         {23 * 3600, "in 23 hours"},
                                         {3599, "in 1 hour"},
                                         {-(23 * 3600 + 50 * 60), "1 day ago"},
                                         {-40 * 86400, "40 days ago"}}) {
    EXPECT_EQ(relative_time(kNow + c.delta, kNow), c.text) << c.delta;
  }
}

TEST(PortalRender, HtmlShowsHumanTimesAndJsonRfc3339) {
  auto record = listed(ListingAction::Block, "spam trap hits", 1796597880);
  record.listing.created = 1796597880 - 2 * 3600;
  reputation::Thresholds thresholds;
  auto report = judge_ip("192.0.2.7", &record, {}, {}, thresholds, std::nullopt, 1796597880 - 3600);
  const auto html = render_report_html(report);
  EXPECT_TRUE(has(html,
                  "Listed since <time datetime=\"2026-12-06T20:58:00Z\">6 December 2026, "
                  "20:58 UTC</time> (1 hour ago)."))
      << html;
  EXPECT_TRUE(has(html,
                  "The listing ends <time datetime=\"2026-12-06T22:58:00Z\">6 December "
                  "2026, 22:58 UTC</time> (in 1 hour)."));
  EXPECT_FALSE(has(html, ">2026-12-06T"));
  const auto json = render_report_json(report);
  EXPECT_TRUE(has(json, "\"since\":\"2026-12-06T20:58:00Z\",\"until\":\"2026-12-06T22:58:00Z\""))
      << json;
}

TEST(PortalRender, ANetworkListingSaysTheNetworkIsWhatIsListed) {
  auto network = listed(ListingAction::Block, "snowshoe range", kNow + 86400);
  network.listing.source = "spamhaus-drop";
  reputation::Thresholds thresholds;
  auto report = judge_ip("198.51.100.9", nullptr, {{"198.51.100.0/24", &network}}, {}, thresholds,
                         std::nullopt, kNow);
  EXPECT_EQ(report.listed_network, "198.51.100.0/24");
  EXPECT_EQ(report.since, kNow - 3600);
  EXPECT_TRUE(report.manual);
  const auto html = render_report_html(report);
  EXPECT_TRUE(has(html,
                  "The network <strong>198.51.100.0/24</strong>, which contains "
                  "198.51.100.9, is blocked"))
      << html;
  EXPECT_TRUE(has(html, "Our operators listed the network 198.51.100.0/24."));
  EXPECT_TRUE(has(html, "<q class=\"detail\">snowshoe range</q>"));
  EXPECT_TRUE(has(html, "the listing covers the whole network 198.51.100.0/24"));
  const auto json = render_report_json(report);
  EXPECT_TRUE(has(json, "\"cause\":\"listing\",\"listed_network\":\"198.51.100.0/24\"")) << json;
  EXPECT_TRUE(has(json, "\"detail\":\"snowshoe range\""));
  // The address's own listing wins, and then the network is not named.
  auto own = listed(ListingAction::Block, "own");
  report = judge_ip("198.51.100.9", &own, {{"198.51.100.0/24", &network}}, {}, thresholds,
                    std::nullopt, kNow);
  EXPECT_EQ(report.listed_network, "");
  EXPECT_EQ(report.reasons.at(0).detail, "own");
}

TEST(PortalRender, JsonFieldsSayWhatTheyMean) {
  auto allowed = complained();
  allowed.listing = listed(ListingAction::Allow, "partner").listing;
  auto report = judge(&allowed);
  report.checks = passing();
  report.checks.dnsbls = {"zone.example"};
  const auto json = render_report_json(report);
  EXPECT_TRUE(has(json,
                  "\"status\":\"not listed\",\"cause\":null,\"listed_network\":null,"
                  "\"allow_listed\":true"))
      << json;
  EXPECT_FALSE(has(json, "\"allowed\""));
  EXPECT_TRUE(has(json, "\"reverse_dns_pass\":true,\"dnsbls\":[\"zone.example\"]"));
  EXPECT_FALSE(has(json, "\"pass\""));
  EXPECT_TRUE(has(render_report_html(report), "It is on our allow list."));
}

TEST(PortalRender, StatusInOneWordAndOneSentenceSignalNamesOnlyForSupport) {
  auto html = render_report_html(auto_listed(passing()));
  EXPECT_TRUE(has(html, "Status: <strong>blocked</strong>"));
  EXPECT_TRUE(has(html,
                  "192.0.2.7 is blocked: we refuse mail from it, and your server returns that mail "
                  "to its senders as "
                  "undeliverable."));
  EXPECT_TRUE(has(html, "Our systems listed this address automatically"));
  const auto plain = html.find("Our systems listed");
  const auto code = html.find("For support: <code>manual_block</code>");
  ASSERT_NE(code, std::string::npos);
  EXPECT_LT(plain, code);
  const DeferralShown deferral{Signal::RateLimited, "limit ip-connections", kNow - 10, kNow + 50};
  html = render_report_html(judge(nullptr, nullptr, deferral));
  EXPECT_TRUE(has(html, "Status: <strong>deferred</strong>"));
  EXPECT_TRUE(has(html, "192.0.2.7 is deferred: we refuse its mail for now"));
  EXPECT_TRUE(has(html, "<code>rate_limited limit ip-connections</code>")) << html;
  EXPECT_FALSE(has(html, "<q class=\"detail\">limit"));
  EXPECT_TRUE(has(html, "No request is needed: this deferral ends by itself"));
  html = render_report_html(judge(nullptr));
  EXPECT_TRUE(has(html, "Status: <strong>not listed</strong>"));
  EXPECT_TRUE(has(html, "192.0.2.7 is not listed: we accept mail from it."));
  EXPECT_FALSE(has(html, "Delisting"));
}

TEST(DelistAnswerPage, SaysWhatHappensNextForEachOutcome) {
  const auto approved_report = auto_listed(passing());
  auto html = render_delist_html({kApproved, {}, &approved_report});
  EXPECT_TRUE(has(html, "<h1 id=\"notice\">Delisted</h1>"));
  EXPECT_TRUE(has(html, "This takes effect at once")) << html;
  EXPECT_TRUE(has(html,
                  "Keep your mail clean: if this address is listed again within 30 days, it "
                  "is not delisted automatically"));
  EXPECT_TRUE(has(html,
                  "Check the status at any time on the lookup page (/postmaster/?ip="
                  "192.0.2.7)"));

  const auto review_report = auto_listed(failing());
  html = render_delist_html({kQueued, {}, &review_report});
  EXPECT_TRUE(has(html, "waiting for an operator")) << html;
  EXPECT_TRUE(has(html, "Until then 192.0.2.7 stays blocked"));
  EXPECT_TRUE(has(html, "reverse DNS of this address fails."));
  EXPECT_TRUE(has(html, "If the operator approves, the delisting takes effect at once."));
  EXPECT_TRUE(has(html, "within 30 days"));
  EXPECT_TRUE(has(html, "its delisting request with the request&#39;s state"));
  const auto json = render_delist_json({kQueued, {}, &review_report});
  EXPECT_TRUE(has(json, "\"result\":\"queued\"")) << json;
  EXPECT_TRUE(has(json, "\"review_because\":[\"reverse-dns\"]"));
  EXPECT_TRUE(has(json, "\"status_url\":\"/postmaster/?ip=192.0.2.7\""));
  EXPECT_TRUE(has(json, "\"next_steps\":[\"Until then"));

  auto open_report = auto_listed(passing());
  open_report.request = DelistRequest{"192.0.2.7", "a@example.test", "fixed it", kNow - 7200};
  html = render_delist_html({kAlreadyOpen, {}, &open_report});
  EXPECT_TRUE(has(html,
                  "made 15 January 2027, 06:00 UTC (2 hours ago), is already waiting for an "
                  "operator"))
      << html;
  EXPECT_TRUE(has(html, "you need not ask again"));
  EXPECT_TRUE(has(html, "within 30 days"));
  EXPECT_TRUE(has(html, "on the lookup page"));
  // And the lookup page shows the open request instead of a second form.
  html = render_report_html(open_report);
  EXPECT_TRUE(has(html, "Request state: <strong>waiting for an operator</strong>")) << html;
  EXPECT_FALSE(has(html, "id=\"delist\""));
  EXPECT_FALSE(has(html, "a@example.test"));  // the contact is never shown
}

TEST(PortalRender, AnInconclusiveReverseDnsCheckIsNeitherPassNorFail) {
  LiveChecks checks;
  checks.ran = true;
  checks.lookup_failed = true;
  auto report = auto_listed(checks);
  const auto html = render_report_html(report);
  EXPECT_TRUE(has(html, "<strong id=\"rdns\" class=\"unknown\">not known yet</strong>")) << html;
  EXPECT_FALSE(has(html, "has no reverse DNS"));
  EXPECT_TRUE(has(html, "could not be checked just now"));
  EXPECT_TRUE(has(html, "reverse DNS of this address could not be checked."));
  EXPECT_EQ(decide_delist(report).outcome, Outcome::Review);
}

// Issue 17: a message refused for a listed linked domain leaves its client IP a note, and the
// IP's page says which domain, who listed it, when, and what to do; the address itself is not
// listed for it, and its own delisting form cannot lift the domain's listing.
TEST(PortalLinkedDomain, TheNoteNamesTheDomainTheListerTheTimeAndTheGuidance) {
  auto report = judge(nullptr);
  report.linked_domain =
      storage::LinkedDomainNote{"evil.example", "uri:evil.example", "malware <host>", kNow - 7200};
  const auto html = render_report_html(report);
  EXPECT_TRUE(has(html, "<section id=\"linked-domain\""));
  EXPECT_TRUE(has(html,
                  "because it links to <strong class=\"domain\">evil.example</strong>, "
                  "which we list as compromised or malicious."))
      << html;
  EXPECT_TRUE(has(html, "Reason given: <q class=\"detail\">malware &lt;host&gt;</q>"));
  EXPECT_TRUE(has(html, "2 hours ago"));
  EXPECT_TRUE(has(html, "An infected website or domain: emails linked to it will be blocked."));
  EXPECT_TRUE(has(html, "Find and remove the infection"));
  EXPECT_TRUE(has(html, "the delisting form of this page cannot lift it"));
  EXPECT_TRUE(has(html, "an operator reviews the site and lifts the listing"));
  EXPECT_TRUE(has(html, "href=\"/postmaster/best-practices#linked-domains\""));
  EXPECT_TRUE(has(html, "<code>uri_listed uri:evil.example</code>"));
  EXPECT_TRUE(has(html, "Status: <strong>not listed</strong>")) << "the note is not a listing";
  EXPECT_FALSE(has(html, "id=\"delist\"")) << "no delisting form for an address not listed";

  const auto json = render_report_json(report);
  EXPECT_TRUE(has(json,
                  ",\"linked_domain\":{\"domain\":\"evil.example\",\"listed_by\":"
                  "\"uri:evil.example\",\"listed_by_us\":true,\"reason\":\"malware "
                  "\\u003chost\\u003e\",\"refused_at\":\"" +
                      format_time(kNow - 7200) + "\",\"guidance\":\"An infected website"))
      << json;
  EXPECT_TRUE(has(json, "\"link\":\"/postmaster/best-practices#linked-domains\"}"));
}

TEST(PortalLinkedDomain, AUriBlocklistListingSendsTheOwnerToThatList) {
  auto report = judge(nullptr);
  report.linked_domain = storage::LinkedDomainNote{"bad.example", "dbl.example.net", "", kNow};
  const auto html = render_report_html(report);
  EXPECT_TRUE(has(html, "which the URI blocklist <code>dbl.example.net</code> lists."));
  EXPECT_FALSE(has(html, "Reason given"));
  EXPECT_TRUE(has(html, "asks that list&#39;s operators to remove it"));
  EXPECT_TRUE(has(html, "<code>uri_dnsbl_listed dbl.example.net</code>"));
  EXPECT_TRUE(has(render_report_json(report), "\"listed_by_us\":false"));
}

TEST(PortalLinkedDomain, WithoutANoteNothingIsSaid) {
  const auto report = judge(nullptr);
  EXPECT_FALSE(has(render_report_html(report), "linked-domain"));
  EXPECT_TRUE(has(render_report_json(report), ",\"linked_domain\":null"));
}

// Every content signal explains what to fix, on its own best-practices section.
TEST(PortalLinkedDomain, ContentSignalsHaveTheirOwnGuidance) {
  using reputation::Signal;
  for (int i = static_cast<int>(Signal::DateMissing); i <= static_cast<int>(Signal::MimeOverLimit);
       ++i) {
    const auto guidance = guidance_for(static_cast<Signal>(i));
    EXPECT_EQ(guidance.topic, "format") << i;
    EXPECT_TRUE(has(std::string(guidance.advice), "RFC") ||
                has(std::string(guidance.advice), "exactly one") ||
                has(std::string(guidance.advice), "simple") ||
                has(std::string(guidance.advice), "boundary"))
        << guidance.advice;
  }
  EXPECT_EQ(guidance_for(Signal::UriListed).topic, "linked-domains");
  EXPECT_EQ(guidance_for(Signal::UriDnsblListed).topic, "linked-domains");
  const auto one_click = guidance_for(Signal::BulkNoOneClick);
  EXPECT_EQ(one_click.topic, "one-click");
  EXPECT_TRUE(has(std::string(one_click.advice), "RFC 8058"));
  EXPECT_TRUE(
      has(std::string(one_click.advice), "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
  EXPECT_TRUE(has(std::string(one_click.advice), "https"));
  EXPECT_TRUE(has(std::string(one_click.advice), "DKIM"));
  const auto page = render_best_practices_html();
  EXPECT_TRUE(has(page, "<section id=\"one-click\"><h2>One-click unsubscribe for bulk mail"));
  EXPECT_TRUE(has(page, "emails linked to it will be blocked"));
}

// A content filter's verdicts point at their own section: what the filter found, or that the
// deferral is ours and a retry is enough.
TEST(PortalLinkedDomain, ContentFilterSignalsHaveTheirGuidance) {
  using reputation::Signal;
  const auto reject = guidance_for(Signal::MilterReject);
  EXPECT_EQ(reject.topic, "content-filter");
  EXPECT_TRUE(has(std::string(reject.advice), "refused the message"));
  const auto tempfail = guidance_for(Signal::MilterTempfail);
  EXPECT_EQ(tempfail.topic, "content-filter");
  EXPECT_TRUE(has(std::string(tempfail.advice), "retry"));
  EXPECT_TRUE(has(render_best_practices_html(), "<section id=\"content-filter\"><h2>Content filters"));
}

}  // namespace
}  // namespace mxgate::postmaster
