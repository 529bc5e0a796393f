#include "reputation/replies.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxgate::reputation {
namespace {

constexpr std::string_view kUrl = "https://postmaster.example.net/postmaster/";

struct ReplyCase {
  Stage stage;
  Action action;
  Signal signal;
  std::string ip;
  std::string wire;  // what the client reads
};

TEST(ReplyFor, RefusalsPointToThePortalWithTheExactText) {
  const std::string see = "https://postmaster.example.net/postmaster/?ip=";
  const std::vector<ReplyCase> cases = {
      // connect: the exact forms from the product issue
      {Stage::Connect, Action::Reject, Signal::ManualBlock, "192.0.2.7",
       "554 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      {Stage::Connect, Action::Defer, Signal::ReputationPoor, "192.0.2.7",
       "421 4.7.0 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::Connect, Action::Reject, Signal::DnsblListed, "2001:db8::7",
       "554 5.7.1 Blocked - see " + see + "2001:db8::7\r\n"},
      {Stage::Connect, Action::Drop, Signal::Pregreet, "192.0.2.7",
       "421 4.7.0 Deferred - see " + see + "192.0.2.7\r\n"},
      // later stages
      {Stage::Helo, Action::Reject, Signal::HeloInvalid, "192.0.2.7",
       "550 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      {Stage::Helo, Action::Defer, Signal::ReputationPoor, "192.0.2.7",
       "450 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::Mail, Action::Reject, Signal::ManualBlock, "192.0.2.7",
       "550 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      {Stage::Mail, Action::Defer, Signal::RateLimited, "192.0.2.7",
       "450 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::Rcpt, Action::Reject, Signal::ReputationPoor, "2001:db8::7",
       "550 5.7.1 Blocked - see " + see + "2001:db8::7\r\n"},
      {Stage::Rcpt, Action::Defer, Signal::NewIpRamp, "192.0.2.7",
       "450 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::EndOfData, Action::Reject, Signal::DmarcFail, "192.0.2.7",
       "550 5.7.1 Rejected by the From domain's DMARC policy - see " + see + "192.0.2.7\r\n"},
      {Stage::EndOfData, Action::Reject, Signal::DkimFail, "192.0.2.7",
       "550 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      // a message linking to a listed domain (issue 17)
      {Stage::EndOfData, Action::Reject, Signal::UriListed, "192.0.2.7",
       "554 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      {Stage::EndOfData, Action::Reject, Signal::UriDnsblListed, "192.0.2.7",
       "554 5.7.1 Blocked - see " + see + "192.0.2.7\r\n"},
      {Stage::EndOfData, Action::Defer, Signal::UriDnsblListed, "192.0.2.7",
       "451 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::EndOfData, Action::Defer, Signal::Timeout, "192.0.2.7",
       "451 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::Rcpt, Action::Drop, Signal::Anomaly, "192.0.2.7",
       "421 4.7.0 Deferred - see " + see + "192.0.2.7\r\n"},
      // sender-domain refinements
      {Stage::Mail, Action::Reject, Signal::SenderDomainInvalid, "192.0.2.7",
       "550 5.1.8 Sender domain invalid - see " + see + "192.0.2.7\r\n"},
      {Stage::Mail, Action::Reject, Signal::SenderDomainNullMx, "192.0.2.7",
       "550 5.7.27 Sender domain does not accept mail - see " + see + "192.0.2.7\r\n"},
      {Stage::Mail, Action::Defer, Signal::SenderDomainInvalid, "192.0.2.7",
       "451 4.4.3 Sender domain lookup failed - see " + see + "192.0.2.7\r\n"},
      {Stage::Rcpt, Action::Reject, Signal::SenderDomainInvalid, "192.0.2.7",
       "550 5.1.8 Sender domain invalid - see " + see + "192.0.2.7\r\n"},
      // our own failure is never a 5xx (principle 4)
      {Stage::Rcpt, Action::Reject, Signal::CheckError, "192.0.2.7",
       "450 4.7.1 Deferred - see " + see + "192.0.2.7\r\n"},
      {Stage::Connect, Action::Reject, Signal::Timeout, "192.0.2.7",
       "421 4.7.0 Deferred - see " + see + "192.0.2.7\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(reply_for(c.stage, c.action, c.signal, c.ip, kUrl).wire(), c.wire)
        << stage_name(c.stage) << " " << action_name(c.action) << " " << signal_name(c.signal);
  }
}

TEST(ReplyFor, AScoreDecisionUsesTheGenericWords) {
  // The largest contributor of a score is no reason to quote its own words ("DMARC policy").
  EXPECT_EQ(reply_for(Stage::EndOfData, Action::Reject, Signal::DmarcFail, "192.0.2.7", kUrl,
                      /*scored=*/true)
                .wire(),
            "550 5.7.1 Blocked - see " + std::string(kUrl) + "?ip=192.0.2.7\r\n");
  EXPECT_EQ(reply_for(Stage::Mail, Action::Defer, Signal::SenderDomainInvalid, "192.0.2.7", kUrl,
                      /*scored=*/true)
                .code,
            450);
}

TEST(ReplyFor, AcceptingActionsLeaveTheReplyToTheProtocol) {
  for (const Action action : {Action::Continue, Action::Accept, Action::Quarantine}) {
    for (const Stage stage : {Stage::Connect, Stage::Rcpt, Stage::EndOfData}) {
      EXPECT_EQ(reply_for(stage, action, Signal::ManualAllow, "192.0.2.7", kUrl).code, 0);
    }
  }
}

TEST(ReplyFor, UrlWithAQueryGetsAnAmpersand) {
  EXPECT_EQ(reply_for(Stage::Connect, Action::Reject, Signal::ManualBlock, "192.0.2.7",
                      "https://pm.example/lookup?lang=en")
                .wire(),
            "554 5.7.1 Blocked - see https://pm.example/lookup?lang=en&ip=192.0.2.7\r\n");
}

TEST(ReplyFor, NoUrlMeansNoSeeClause) {
  EXPECT_EQ(reply_for(Stage::Connect, Action::Reject, Signal::ManualBlock, "192.0.2.7", "").wire(),
            "554 5.7.1 Blocked\r\n");
}

TEST(ReplyFor, CanonicalIpFromTheCallerEndsUpInTheLink) {
  const auto ip = canonical_ip_text("::FFFF:192.0.2.7");
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(reply_for(Stage::Connect, Action::Defer, Signal::RateLimited, *ip, kUrl).wire(),
            "421 4.7.0 Deferred - see https://postmaster.example.net/postmaster/?ip=192.0.2.7\r\n");
}

TEST(CanonicalIpText, WritesAddressesInCanonicalForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"192.0.2.7", "192.0.2.7"},
      {"2001:DB8:0:0::7", "2001:db8::7"},
      {"2001:0db8:0000:0000:0000:0000:0000:0007", "2001:db8::7"},
      {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},       // the longest run of zeros
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero field stays
      {"::ffff:192.0.2.7", "192.0.2.7"},                 // mapped IPv4 is unmapped
      {"::FFFF:c000:0207", "192.0.2.7"},
      {"::1", "::1"},
      {"fe80::A:b", "fe80::a:b"},
  };
  for (const auto& [in, out] : cases) {
    EXPECT_EQ(canonical_ip_text(in), out) << in;
  }
}

TEST(CanonicalIpText, RejectsWhatIsNotAnAddress) {
  const std::vector<std::string> cases = {"",           "192.0.2",           "192.0.2.256",
                                          "mx.example", "2001:db8::7::1",    "[2001:db8::7]",
                                          "192.0.2.7 ", std::string(80, '1')};
  for (const auto& in : cases) {
    EXPECT_FALSE(canonical_ip_text(in).has_value()) << in;
  }
}

// A content filter's verdicts (issue 18): its own reply when it chose one that fits, else ours.
TEST(FilterReply, TheFiltersOwnReplyWhenItFits) {
  const std::vector<std::string> one = {"5.7.1 Gtube pattern"};
  const auto reject = filter_reply(Action::Reject, 554, one);
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->code, 554);
  EXPECT_EQ(reject->enhanced, "5.7.1");
  EXPECT_EQ(reject->lines, std::vector<std::string>{"Gtube pattern"});

  const std::vector<std::string> two = {"4.7.1 busy", "4.7.1 try later"};
  const auto defer = filter_reply(Action::Defer, 451, two);
  ASSERT_TRUE(defer);
  EXPECT_EQ(defer->enhanced, "4.7.1");
  EXPECT_EQ(defer->lines, (std::vector<std::string>{"busy", "try later"}));

  // No enhanced code, or one of another class: the text as it is, without one.
  const std::vector<std::string> plain = {"go away"};
  EXPECT_EQ(filter_reply(Action::Reject, 550, plain)->enhanced, "");
  const std::vector<std::string> wrong_class = {"4.7.1 mixed up"};
  const auto mixed = filter_reply(Action::Reject, 550, wrong_class);
  EXPECT_EQ(mixed->enhanced, "");
  EXPECT_EQ(mixed->lines, wrong_class);

  // A reply of the other class does not fit its verdict.
  EXPECT_FALSE(filter_reply(Action::Reject, 451, one));
  EXPECT_FALSE(filter_reply(Action::Defer, 554, one));
  EXPECT_FALSE(filter_reply(Action::Accept, 554, one));
}

TEST(FilterReply, OurRepliesForAFiltersVerdict) {
  const std::string url = "https://postmaster.example.net/";
  const auto reject =
      reply_for(Stage::EndOfData, Action::Reject, Signal::MilterReject, "192.0.2.7", url);
  EXPECT_EQ(reject.code, 550);
  EXPECT_EQ(reject.enhanced, "5.7.1");
  EXPECT_EQ(reject.text(), "Rejected by a content filter - see " + url + "?ip=192.0.2.7");
  const auto defer =
      reply_for(Stage::Rcpt, Action::Defer, Signal::MilterTempfail, "192.0.2.7", url);
  EXPECT_EQ(defer.code, 451);
  EXPECT_EQ(defer.enhanced, "4.7.1");
}

}  // namespace
}  // namespace mxgate::reputation
