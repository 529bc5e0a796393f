// The rules of a conversation: what the negotiation allows, which steps a filter hears and
// answers, and how the responses to a step become its answer.
#include "milter/conversation.hpp"

#include <gtest/gtest.h>

namespace mxgate::milter {
namespace {

Negotiation answer_with(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol) {
  Negotiation n;
  n.version = version;
  n.actions = actions;
  n.protocol = protocol;
  return n;
}

TEST(MilterAgree, GrantsWhatWasOfferedOnly) {
  const Offer offer;
  std::string why;
  const auto ok = agree(offer, answer_with(6, actions::kAddHeaders, protocol::kNoHelo), why);
  ASSERT_TRUE(ok) << why;
  EXPECT_EQ(ok->actions, actions::kAddHeaders);
  EXPECT_FALSE(ok->sends(Step::Helo));
  EXPECT_TRUE(ok->sends(Step::Mail));

  // More actions than offered: only the offered ones are granted.
  const auto masked = agree(offer, answer_with(6, 0x3f, 0), why);
  ASSERT_TRUE(masked) << why;
  EXPECT_EQ(masked->actions, 0x3fu & offer.actions);
  EXPECT_EQ(masked->actions & actions::kAddRcpt, 0u);
  EXPECT_FALSE(agree(offer, answer_with(1, 0, 0), why));
  EXPECT_NE(why.find("version 1"), std::string::npos);
  Offer no_skip;
  no_skip.protocol = protocol::kAll & ~protocol::kSkip;
  EXPECT_FALSE(agree(no_skip, answer_with(6, 0, protocol::kSkip), why));
}

TEST(MilterAgree, AnOlderVersionGetsOnlyItsSteps) {
  std::string why;
  const auto v2 = agree(Offer{}, answer_with(2, 0, 0), why);
  ASSERT_TRUE(v2);
  EXPECT_FALSE(v2->sends(Step::Data));  // DATA came with version 4
  EXPECT_TRUE(v2->sends(Step::Rcpt));
  EXPECT_FALSE(agree(Offer{}, answer_with(2, 0, protocol::kNoReplyHeader), why));
  const auto v4 = agree(Offer{}, answer_with(4, 0, protocol::kNoData), why);
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->sends(Step::Data));
}

TEST(MilterAgree, NoReplyFlagsPerStep) {
  std::string why;
  const auto a =
      agree(Offer{}, answer_with(6, 0, protocol::kNoReplyHeader | protocol::kNoReplyRcpt), why);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->replies(Step::Header));
  EXPECT_FALSE(a->replies(Step::Rcpt));
  EXPECT_TRUE(a->replies(Step::Mail));
  EXPECT_TRUE(a->replies(Step::EndOfBody));
}

Agreement all_actions() {
  Agreement a;
  a.actions = Offer{}.actions;
  a.protocol = protocol::kSkip;
  return a;
}

TEST(MilterAnswer, VerdictsEndTheStep) {
  const auto a = all_actions();
  const std::vector<std::pair<Response, Answer::Kind>> cases = {
      {Continue{}, Answer::Kind::Continue},      {Accept{}, Answer::Kind::Accept},
      {Reject{}, Answer::Kind::Reject},          {Tempfail{}, Answer::Kind::Tempfail},
      {Discard{}, Answer::Kind::Discard},        {ConnectionFail{}, Answer::Kind::ConnectionFail},
      {Shutdown{}, Answer::Kind::ConnectionFail}};
  for (const auto& [response, kind] : cases) {
    AnswerReader reader(Step::Rcpt, a, 1000);
    EXPECT_EQ(reader.take(response), AnswerReader::Status::Done);
    EXPECT_EQ(reader.answer().kind, kind) << kind_name(kind);
  }
}

TEST(MilterAnswer, AReplyCodeDecidesByItsClass) {
  const auto a = all_actions();
  AnswerReader reject(Step::Mail, a, 1000);
  EXPECT_EQ(reject.take(ReplyCode{554, {"5.7.1 go away"}}), AnswerReader::Status::Done);
  EXPECT_EQ(reject.answer().kind, Answer::Kind::Reject);
  EXPECT_EQ(reject.answer().reply->lines[0], "5.7.1 go away");
  AnswerReader tempfail(Step::EndOfBody, a, 1000);
  EXPECT_EQ(tempfail.take(ReplyCode{451, {"4.7.1 later"}}), AnswerReader::Status::Done);
  EXPECT_EQ(tempfail.answer().kind, Answer::Kind::Tempfail);
}

TEST(MilterAnswer, ProgressRestartsTheClock) {
  const auto a = all_actions();
  AnswerReader reader(Step::EndOfBody, a, 1000);
  EXPECT_EQ(reader.take(Progress{}), AnswerReader::Status::Progress);
  EXPECT_EQ(reader.take(Continue{}), AnswerReader::Status::Done);
}

TEST(MilterAnswer, ChangesAtTheEndOfTheBodyInOrder) {
  const auto a = all_actions();
  AnswerReader reader(Step::EndOfBody, a, 1000);
  EXPECT_EQ(reader.take(AddHeader{"X-Spam", "yes"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(ChangeHeader{1, "Subject", "[SPAM] hi"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(InsertHeader{0, "X-First", "1"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(ReplaceBody{"new "}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(ReplaceBody{"body\r\n"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(Quarantine{"held"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(Accept{}), AnswerReader::Status::Done);
  const auto& answer = reader.answer();
  ASSERT_EQ(answer.header_changes.size(), 3u);
  EXPECT_EQ(std::get<AddHeader>(answer.header_changes[0]).name, "X-Spam");
  EXPECT_EQ(std::get<ChangeHeader>(answer.header_changes[1]).value, "[SPAM] hi");
  EXPECT_EQ(std::get<InsertHeader>(answer.header_changes[2]).index, 0u);
  EXPECT_EQ(answer.new_body, "new body\r\n");
  EXPECT_EQ(answer.quarantine, "held");
  EXPECT_EQ(answer.kind, Answer::Kind::Accept);
}

TEST(MilterAnswer, ChangesElsewhereOrNotAgreedAreProtocolErrors) {
  auto a = all_actions();
  AnswerReader early(Step::Rcpt, a, 1000);
  EXPECT_EQ(early.take(AddHeader{"X", "y"}), AnswerReader::Status::Error);
  EXPECT_NE(early.error().find("rcpt"), std::string::npos);

  a.actions = actions::kAddHeaders;
  for (const Response& r :
       std::vector<Response>{ChangeHeader{1, "S", "v"}, ReplaceBody{"b"}, Quarantine{"q"},
                             AddRcpt{"<x@y>", ""}, DeleteRcpt{"<x@y>"}, ChangeFrom{"<x@y>", ""}}) {
    AnswerReader reader(Step::EndOfBody, a, 1000);
    EXPECT_EQ(reader.take(r), AnswerReader::Status::Error) << r.index();
  }
  AnswerReader skip(Step::Mail, a, 1000);
  EXPECT_EQ(skip.take(Skip{}), AnswerReader::Status::Error);
}

TEST(MilterAnswer, AReplacedBodyIsBounded) {
  const auto a = all_actions();
  AnswerReader reader(Step::EndOfBody, a, 10);
  EXPECT_EQ(reader.take(ReplaceBody{"123456"}), AnswerReader::Status::More);
  EXPECT_EQ(reader.take(ReplaceBody{"7890x"}), AnswerReader::Status::Error);
}

TEST(MilterAnswer, SkipOnlyForBodyChunksWhenOffered) {
  auto a = all_actions();
  AnswerReader body(Step::Body, a, 1000);
  EXPECT_EQ(body.take(Skip{}), AnswerReader::Status::Done);
  EXPECT_EQ(body.answer().kind, Answer::Kind::Skip);
  a.protocol = 0;
  AnswerReader not_offered(Step::Body, a, 1000);
  EXPECT_EQ(not_offered.take(Skip{}), AnswerReader::Status::Error);
}

}  // namespace
}  // namespace mxgate::milter
