// The portal's judgement and rendering: listings of the IP and of its network block, an allow
// wins over scores, a score at defer_at or reject_at defers or blocks with its signals as
// reasons, a throttle deferral in effect defers; every outside text is escaped in HTML and
// JSON; the checks render pass and fail.
#include "postmaster/portal_page.hpp"

#include <gtest/gtest.h>

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
  return judge_ip("192.0.2.7", ip, {network}, reputation::ModelSettings{}, thresholds, deferral,
                  kNow);
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
  EXPECT_TRUE(report.allowed);
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

}  // namespace
}  // namespace mxgate::postmaster
