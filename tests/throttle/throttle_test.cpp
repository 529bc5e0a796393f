// Throttle with a manual clock: named limits, the new-IP ramp across days, the anomaly
// baseline, list hygiene, reloads and persistence.
#include "throttle/throttle.hpp"

#include <gtest/gtest.h>

namespace mxgate::throttle {
namespace {

using conf::LimitConfig;
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;
constexpr std::int64_t kDay = 24 * kHour;
// 2026-11-29 00:00 UTC, plus ten minutes.
constexpr std::int64_t kStart = 20'421 * kDay + 600 * kSecond;

conf::ThrottleConfig no_limits() {
  conf::ThrottleConfig config;
  config.limits.clear();
  return config;
}

Subject subject(std::string ip = "ip1", std::string network = "net1") {
  Subject s;
  s.ip = std::move(ip);
  s.network = std::move(network);
  s.sender_domain = "example.org";
  return s;
}

History established(std::uint32_t accepted_last_week = 0) {
  History h;
  h.first_seen = kStart / kSecond - 90 * 86400;
  h.accepted_last_week = accepted_last_week;
  return h;
}

TEST(Throttle, ALimitDefersWithItsNameAndAdmitsAgainNextWindow) {
  auto config = no_limits();
  config.limits = {{"ip-connections", LimitConfig::Key::Ip, LimitConfig::Count::Connections, 3,
                    std::chrono::minutes(1), 2}};  // three back to back, then one per 20 s
  Throttle throttle(config);
  const auto s = subject();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(throttle.connect(s, kStart)) << i;
  const auto refused = throttle.connect(s, kStart + 1);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "ip-connections");
  EXPECT_EQ(refused->signal, reputation::Signal::RateLimited);
  EXPECT_EQ(refused->reason, "limit ip-connections: more than 3 connections per 1m (burst 2)");
  EXPECT_GT(refused->retry_after_us, 0);
  EXPECT_FALSE(throttle.connect(subject("ip2"), kStart + 1)) << "another IP has its own";
  EXPECT_FALSE(throttle.connect(s, kStart + 1 + refused->retry_after_us));
  EXPECT_FALSE(throttle.mail(s, kStart + 2)) << "messages are not connections";
}

TEST(Throttle, AdmittedEventsAreToldAndOtherNodesEventsAreCharged) {
  // Fleet mode: the sink hears each admitted event's key; another node's events move the key
  // on as if admitted here.
  auto config = no_limits();
  config.limits = {{"ip-connections", LimitConfig::Key::Ip, LimitConfig::Count::Connections, 3,
                    std::chrono::minutes(1), 2}};
  Throttle throttle(config);
  std::vector<std::string> told;
  throttle.set_charge_sink([&](const std::string& key) { told.push_back(key); });
  const auto s = subject();
  EXPECT_FALSE(throttle.connect(s, kStart));
  ASSERT_EQ(told, (std::vector<std::string>{"L|ip-connections|ip1"}));
  throttle.charge_remote("L|ip-connections|ip1", 2, kStart);  // two elsewhere
  EXPECT_TRUE(throttle.connect(s, kStart + 1)) << "three in all: the burst is used up";
  EXPECT_EQ(told.size(), 1u) << "a refused event is not told";
  // Another IP, and limits this node does not have, are left alone.
  throttle.charge_remote("L|other-limit|ip2", 100, kStart);
  throttle.charge_remote("not a limit key", 100, kStart);
  EXPECT_FALSE(throttle.connect(subject("ip2"), kStart + 1));
  // Remote events beyond the tolerance still count: they happened.
  throttle.charge_remote("L|ip-connections|ip3", 10, kStart);
  const auto refused = throttle.connect(subject("ip3"), kStart);
  ASSERT_TRUE(refused);
  EXPECT_NEAR(static_cast<double>(refused->retry_after_us), 8 * 20.0 * kSecond, kSecond);
}

TEST(Throttle, TheRampCountsTheMessagesOtherNodesAccepted) {
  // Fleet mode: a ramping key's accepted messages are told, and the other nodes' count toward
  // today's allowance here.
  auto config = no_limits();
  config.ramp_floor = 10;
  Throttle throttle(config);
  std::vector<std::string> told;
  throttle.set_charge_sink([&](const std::string& key) { told.push_back(key); });
  const auto s = subject();  // new: ramping
  ASSERT_FALSE(throttle.mail(s, kStart));
  throttle.accepted(s, kStart);
  EXPECT_EQ(told, (std::vector<std::string>{"R|ip1", "R|net1"})) << "not A|: a new IP";
  throttle.charge_remote("R|ip1", 8, kStart + 1);
  EXPECT_EQ(throttle.ramp("ip1", s.ip_history, kStart + 1)->used, 9u);
  ASSERT_FALSE(throttle.mail(s, kStart + 2));
  throttle.accepted(s, kStart + 2);
  EXPECT_EQ(throttle.mail(s, kStart + 3)->limit, "ramp") << "10 in all, 9 of them elsewhere";
  // Yesterday's remote count does not carry into today.
  throttle.charge_remote("R|ip2", 50, kStart);
  EXPECT_EQ(throttle.ramp("ip2", s.ip_history, kStart + kDay)->used, 0u);
}

TEST(Throttle, TheAnomalyCountsTheMessagesOtherNodesAccepted) {
  auto config = no_limits();
  config.anomaly_factor = 10;
  config.anomaly_min_per_hour = 50;
  config.anomaly_half_life = std::chrono::hours(1);
  Throttle throttle(config);
  std::vector<std::string> told;
  throttle.set_charge_sink([&](const std::string& key) { told.push_back(key); });
  auto s = subject();
  s.ip_history = established(7 * 24 * 20);  // 20 an hour last week: threshold max(50, 200)
  s.network_history = s.ip_history;
  throttle.accepted(s, kStart);
  EXPECT_EQ(told, (std::vector<std::string>{"A|ip1"})) << "not R|: established";
  throttle.charge_remote("A|ip1", 198, kStart + 1);
  EXPECT_FALSE(throttle.mail(s, kStart + 2)) << "199 this hour";
  throttle.charge_remote("A|ip1", 1, kStart + 3);
  EXPECT_EQ(throttle.mail(s, kStart + 4)->limit, "anomaly") << "200: the fleet's hour";
  // An IP first counted for other nodes has no baseline here until its record is at hand: the
  // check takes it from the record, and so does this node's first accepted message.
  auto other = subject("ip2");
  other.ip_history = established(7 * 24 * 20);
  throttle.charge_remote("A|ip2", 199, kStart);
  EXPECT_LT(throttle.table().get("A|ip2", kStart)->c, 0);
  EXPECT_FALSE(throttle.mail(other, kStart + 1)) << "199 < 10 x 20";
  throttle.accepted(other, kStart + 1);
  EXPECT_NEAR(throttle.table().get("A|ip2", kStart + 1)->c, 20, 1e-9);
  EXPECT_EQ(throttle.mail(other, kStart + 2)->limit, "anomaly");
  // A remote count of an unknown baseline in a later hour starts the hour afresh.
  throttle.charge_remote("A|ip3", 5, kStart);
  throttle.charge_remote("A|ip3", 7, kStart + kHour);
  const auto later = throttle.table().get("A|ip3", kStart + kHour);
  EXPECT_EQ(later->b, 7);
  EXPECT_LT(later->c, 0);
}

TEST(Throttle, AnEventIsChargedOnlyWhenEveryLimitAdmitsIt) {
  auto config = no_limits();
  config.limits = {
      {"ip", LimitConfig::Key::Ip, LimitConfig::Count::Recipients, 5, std::chrono::hours(1), 4},
      {"pair", LimitConfig::Key::IpSenderDomain, LimitConfig::Count::Recipients, 2,
       std::chrono::hours(1), 1}};
  Throttle throttle(config);
  auto s = subject();
  EXPECT_FALSE(throttle.rcpt(s, kStart));
  EXPECT_FALSE(throttle.rcpt(s, kStart));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(throttle.rcpt(s, kStart)->limit, "pair");
  s.sender_domain = "other.example";
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(throttle.rcpt(s, kStart)) << i;
  EXPECT_EQ(throttle.rcpt(s, kStart)->limit, "pair");
  s.sender_domain = "third.example";
  EXPECT_FALSE(throttle.rcpt(s, kStart)) << "5th for the IP: the refused ones were not charged";
  EXPECT_EQ(throttle.rcpt(s, kStart)->limit, "ip");
}

TEST(Throttle, AuthDomainLimitsAtTheEndOfData) {
  auto config = no_limits();
  config.limits = {{"auth", LimitConfig::Key::AuthDomain, LimitConfig::Count::Messages, 1,
                    std::chrono::hours(1), 1}};
  Throttle throttle(config);
  EXPECT_FALSE(throttle.mail(subject(), kStart)) << "not known at MAIL";
  EXPECT_FALSE(throttle.message({"example.org"}, kStart));
  EXPECT_FALSE(throttle.message({"example.org"}, kStart));
  EXPECT_EQ(throttle.message({"example.net", "example.org"}, kStart)->limit, "auth");
  EXPECT_FALSE(throttle.message({"example.net"}, kStart));
  EXPECT_FALSE(throttle.message({}, kStart));
}

TEST(Throttle, ANewIpRampsUpByTheFactorEachDay) {
  auto config = no_limits();
  config.ramp_floor = 10;
  config.ramp_factor = 2;
  Throttle throttle(config);
  auto s = subject();  // never seen: first_seen 0
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(throttle.mail(s, kStart + i)) << i;
    throttle.accepted(s, kStart + i);
  }
  auto refused = throttle.mail(s, kStart + 20);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "ramp");
  EXPECT_EQ(refused->signal, reputation::Signal::NewIpRamp);
  EXPECT_EQ(refused->retry_after_us, kDay - 600 * kSecond - 20) << "until midnight UTC";
  EXPECT_EQ(throttle.ramp("ip1", s.ip_history, kStart)->used, 10u);

  // The next day: yesterday's 10 accepted allow 20.
  const std::int64_t tomorrow = kStart + kDay;
  s.ip_history.first_seen = kStart / kSecond;
  s.ip_history.accepted_previous_day = 10;
  s.network_history = s.ip_history;
  const auto ramp = throttle.ramp("ip1", s.ip_history, tomorrow);
  ASSERT_TRUE(ramp);
  EXPECT_EQ(ramp->allowance, 20u);
  EXPECT_EQ(ramp->used, 0u) << "a new day";
  for (int i = 0; i < 20; ++i) {
    ASSERT_FALSE(throttle.mail(s, tomorrow + i)) << i;
    throttle.accepted(s, tomorrow + i);
  }
  EXPECT_EQ(throttle.mail(s, tomorrow + 30)->limit, "ramp");
  // A neighbour in the same network: the network ramps too (its own count: 30 so far).
  auto neighbour = subject("ip2");
  neighbour.network_history = s.network_history;
  neighbour.network_history.accepted_previous_day = 10;
  EXPECT_EQ(throttle.mail(neighbour, tomorrow + 40)->limit, "network-ramp");
  // After ramp_days the IP is established.
  s.ip_history.first_seen = kStart / kSecond - 31 * 86400;
  s.network_history.first_seen = s.ip_history.first_seen;
  EXPECT_FALSE(throttle.ramp("ip1", s.ip_history, tomorrow));
  EXPECT_FALSE(throttle.mail(s, tomorrow + 50));
}

TEST(Throttle, AnomalyAgainstTheHourlyBaseline) {
  auto config = no_limits();
  config.anomaly_factor = 10;
  config.anomaly_min_per_hour = 50;
  config.anomaly_half_life = std::chrono::hours(1);  // a quick baseline for the test
  Throttle throttle(config);
  auto s = subject();
  s.ip_history = established(7 * 24 * 2);  // 2 an hour last week: threshold max(50, 20) = 50
  s.network_history = s.ip_history;
  for (int i = 0; i < 50; ++i) {
    ASSERT_FALSE(throttle.mail(s, kStart + i)) << i;
    throttle.accepted(s, kStart + i);
  }
  const auto refused = throttle.mail(s, kStart + 60);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "anomaly");
  EXPECT_EQ(refused->signal, reputation::Signal::Anomaly);
  // The next hour starts afresh, and the busy hour raised the baseline: 1 + 0.5 x (50 - 2).
  const std::int64_t next = kStart + kHour;
  EXPECT_FALSE(throttle.mail(s, next));
  throttle.accepted(s, next);
  const auto value = throttle.table().get("A|ip1", next);
  ASSERT_TRUE(value);
  EXPECT_NEAR(value->c, 26, 1e-9);
  EXPECT_EQ(value->b, 1);
  // Threshold now max(50, 10 x 26) = 260.
  for (int i = 1; i < 260; ++i) throttle.accepted(s, next + i);
  EXPECT_EQ(throttle.mail(s, next + 300)->limit, "anomaly");
  // A new IP is the ramp's business, not the anomaly's.
  EXPECT_FALSE(throttle.table().get("A|ip9", next));
}

TEST(Throttle, ListHygieneOfTheIpAndTheSenderDomain) {
  auto config = no_limits();
  Throttle throttle(config);
  auto s = subject();
  s.ip_history = established();
  s.network_history = s.ip_history;
  s.ip_history.recipients = 60;
  s.ip_history.invalid_recipients = 6;  // exactly 10%: not over
  EXPECT_FALSE(throttle.mail(s, kStart));
  s.ip_history.invalid_recipients = 7;
  auto refused = throttle.mail(s, kStart);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "hygiene");
  EXPECT_EQ(refused->reason, "hygiene: IP 7 of 60 recipients invalid in 1 days (12% > 10%)");
  s.ip_history.recipients = 40;  // under the minimum volume
  s.ip_history.invalid_recipients = 40;
  EXPECT_FALSE(throttle.mail(s, kStart));
  History domain;
  domain.recipients = 100;
  domain.invalid_recipients = 50;
  s.sender_domain_history = domain;
  EXPECT_EQ(throttle.mail(s, kStart)->reason,
            "hygiene: sender domain 50 of 100 recipients invalid in 1 days (50% > 10%)");
}

TEST(Throttle, AReloadKeepsTheStateOfLimitsThatKeepTheirName) {
  auto config = no_limits();
  config.limits = {{"m", LimitConfig::Key::Ip, LimitConfig::Count::Messages, 2,
                    std::chrono::hours(1), 1}};
  Throttle throttle(config);
  auto s = subject();
  s.ip_history = s.network_history = established();
  EXPECT_FALSE(throttle.mail(s, kStart));
  EXPECT_FALSE(throttle.mail(s, kStart));
  EXPECT_TRUE(throttle.mail(s, kStart));
  config.limits[0].burst = 2;
  throttle.configure(config);
  EXPECT_FALSE(throttle.mail(s, kStart)) << "the larger burst admits one more";
  EXPECT_TRUE(throttle.mail(s, kStart));
  config.enabled = false;
  throttle.configure(config);
  EXPECT_FALSE(throttle.mail(s, kStart));
}

TEST(Throttle, SavedStateComesBack) {
  auto config = no_limits();
  config.ramp_floor = 3;
  config.limits = {{"c", LimitConfig::Key::Ip, LimitConfig::Count::Connections, 1,
                    std::chrono::hours(1), 0}};
  Throttle throttle(config);
  auto s = subject();
  for (int i = 0; i < 3; ++i) throttle.accepted(s, kStart);
  EXPECT_FALSE(throttle.connect(s, kStart));
  const auto deferral = throttle.connect(s, kStart);
  ASSERT_TRUE(deferral);
  throttle.note_deferral("ip1", *deferral, kStart);
  const auto saved = throttle.save(kStart + 1);

  Throttle restarted(config);
  for (const auto& [key, value] : saved) EXPECT_TRUE(restarted.load(key, value, kStart + 2)) << key;
  EXPECT_FALSE(restarted.load("L|c|x", "garbage", kStart));
  EXPECT_EQ(restarted.mail(s, kStart + 3)->limit, "ramp") << "today's count survived";
  EXPECT_EQ(restarted.connect(s, kStart + 3)->limit, "c") << "the limit remembers";
  const auto record = restarted.last_deferral("ip1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->limit, "c");
  EXPECT_EQ(record->at_us, kStart);
  EXPECT_GT(record->until_us, kStart);
  // Nothing outlives its expiry: a day later the ramp count is gone.
  Throttle later(config);
  std::size_t kept = 0;
  for (const auto& [key, value] : saved) kept += later.load(key, value, kStart + 2 * kDay) ? 1 : 0;
  EXPECT_EQ(kept, 1u) << "only the deferral record (kept a week)";
}

}  // namespace
}  // namespace mxgate::throttle
