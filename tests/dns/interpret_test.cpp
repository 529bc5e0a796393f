// What a reply means for one question: RCODEs, CNAME chains (bounded, no loops), negative
// TTLs from the SOA (RFC 2308 §5), referrals and mismatched replies; and the typed views
// (TXT joined per RFC 7208 §3.3, MX order, null MX per RFC 7505, reverse names).
#include <gtest/gtest.h>

#include "dns/message.hpp"
#include "dns/resolver.hpp"
#include "tests/dns/wire.hpp"

namespace mxgate::dns {
namespace {

using namespace testing;

constexpr std::uint16_t kA = 1, kCname = 5, kSoa = 6, kNs = 2, kMx = 15, kTxt = 16;

Reply reply_for(std::string name, std::uint16_t type, std::uint8_t rcode = 0) {
  Reply reply;
  reply.qname = std::move(name);
  reply.qtype = type;
  reply.rcode = rcode;
  return reply;
}

Response interpret(const Reply& reply, std::string_view qname, RecordType type,
                   std::size_t max_chain = kDefaultMaxCnameChain) {
  return interpret_reply(encode(reply), qname, type, max_chain);
}

TEST(InterpretReply, AnswerWithTheSmallestTtl) {
  Reply reply = reply_for("a.test", kA);
  reply.answers = {{"a.test", kA, 300, a_rdata(192, 0, 2, 1)},
                   {"a.test", kA, 120, a_rdata(192, 0, 2, 2)},
                   {"other.test", kA, 5, a_rdata(192, 0, 2, 3)}};
  const Response r = interpret(reply, "A.Test.", RecordType::A);
  EXPECT_EQ(r.outcome, Outcome::Answer);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.ttl, 120u);
  EXPECT_TRUE(r.cname_chain.empty());
}

TEST(InterpretReply, FollowsTheCnameChainOfTheAnswerSection) {
  Reply reply = reply_for("www.test", kA);
  reply.answers = {{"www.test", kCname, 600, name_rdata("Edge.CDN.test")},
                   {"edge.cdn.test", kCname, 60, name_rdata("node7.cdn.test")},
                   {"node7.cdn.test", kA, 300, a_rdata(198, 51, 100, 7)}};
  const Response r = interpret(reply, "www.test", RecordType::A);
  EXPECT_EQ(r.outcome, Outcome::Answer);
  EXPECT_EQ(r.cname_chain, (std::vector<std::string>{"edge.cdn.test", "node7.cdn.test"}));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].name, "node7.cdn.test");
  EXPECT_EQ(r.ttl, 60u);  // the chain's shortest link
}

TEST(InterpretReply, CnameChainLongerThanTheBoundIsAnError) {
  Reply reply = reply_for("c0.test", kA);
  for (int i = 0; i < 3; ++i) {
    reply.answers.push_back({"c" + std::to_string(i) + ".test", kCname, 60,
                             name_rdata("c" + std::to_string(i + 1) + ".test")});
  }
  reply.answers.push_back({"c3.test", kA, 60, a_rdata(192, 0, 2, 1)});
  EXPECT_EQ(interpret(reply, "c0.test", RecordType::A, 3).outcome, Outcome::Answer);
  EXPECT_EQ(interpret(reply, "c0.test", RecordType::A, 2).outcome, Outcome::Error);
}

TEST(InterpretReply, CnameLoopIsAnError) {
  Reply reply = reply_for("a.test", kA);
  reply.answers = {{"a.test", kCname, 60, name_rdata("b.test")},
                   {"b.test", kCname, 60, name_rdata("a.test")}};
  EXPECT_EQ(interpret(reply, "a.test", RecordType::A).outcome, Outcome::Error);
}

TEST(InterpretReply, AskingForTheCnameItselfDoesNotFollowIt) {
  Reply reply = reply_for("alias.test", kCname);
  reply.answers = {{"alias.test", kCname, 60, name_rdata("real.test")}};
  const Response r = interpret(reply, "alias.test", RecordType::CNAME);
  EXPECT_EQ(r.outcome, Outcome::Answer);
  EXPECT_TRUE(r.cname_chain.empty());
}

TEST(InterpretReply, NxDomainLivesTheSoaMinimumOrItsTtl) {
  Reply reply = reply_for("nx.test", kA, 3);
  reply.authority = {{"test", kSoa, 900, soa_rdata(300)}};
  Response r = interpret(reply, "nx.test", RecordType::A);
  EXPECT_EQ(r.outcome, Outcome::NxDomain);
  EXPECT_EQ(r.ttl, 300u);  // min(900, 300)
  reply.authority = {{"test", kSoa, 30, soa_rdata(300)}};
  EXPECT_EQ(interpret(reply, "nx.test", RecordType::A).ttl, 30u);
}

TEST(InterpretReply, NxDomainAtTheEndOfACnameChain) {  // RFC 6604
  Reply reply = reply_for("alias.test", kA, 3);
  reply.answers = {{"alias.test", kCname, 60, name_rdata("gone.test")}};
  reply.authority = {{"test", kSoa, 900, soa_rdata(300)}};
  const Response r = interpret(reply, "alias.test", RecordType::A);
  EXPECT_EQ(r.outcome, Outcome::NxDomain);
  EXPECT_EQ(r.cname_chain, std::vector<std::string>{"gone.test"});
  EXPECT_EQ(r.ttl, 60u);
}

TEST(InterpretReply, NoDataWithAndWithoutSoa) {
  Reply reply = reply_for("host.test", kMx);
  reply.authority = {{"test", kSoa, 3600, soa_rdata(600)}};
  Response r = interpret(reply, "host.test", RecordType::MX);
  EXPECT_EQ(r.outcome, Outcome::NoData);
  EXPECT_EQ(r.ttl, 600u);
  reply.authority.clear();  // RFC 2308 §5: not cacheable
  r = interpret(reply, "host.test", RecordType::MX);
  EXPECT_EQ(r.outcome, Outcome::NoData);
  EXPECT_EQ(r.ttl, 0u);
}

TEST(InterpretReply, RecordsOfAnotherTypeOrOwnerAreNoData) {
  Reply reply = reply_for("host.test", kMx);
  reply.answers = {{"host.test", kTxt, 60, txt_rdata({"x"})},
                   {"elsewhere.test", kMx, 60, mx_rdata(10, "mx.test")}};
  EXPECT_EQ(interpret(reply, "host.test", RecordType::MX).outcome, Outcome::NoData);
}

TEST(InterpretReply, ErrorRcodes) {
  struct Case {
    std::uint8_t rcode;
    Outcome outcome;
  };
  for (const Case c : {Case{2, Outcome::ServFail}, Case{5, Outcome::Refused},
                       Case{1, Outcome::Error}, Case{4, Outcome::Error}, Case{9, Outcome::Error}}) {
    const Response r = interpret(reply_for("a.test", kA, c.rcode), "a.test", RecordType::A);
    EXPECT_EQ(r.outcome, c.outcome) << int(c.rcode);
    EXPECT_EQ(r.ttl, 0u);
  }
}

TEST(InterpretReply, RepliesThatDoNotAnswerTheQuestionAreErrors) {
  Reply ok = reply_for("a.test", kA);
  ok.answers = {{"a.test", kA, 60, a_rdata(192, 0, 2, 1)}};
  EXPECT_EQ(interpret(ok, "a.test", RecordType::A).outcome, Outcome::Answer);
  EXPECT_EQ(interpret(ok, "b.test", RecordType::A).outcome, Outcome::Error);
  EXPECT_EQ(interpret(ok, "a.test", RecordType::AAAA).outcome, Outcome::Error);
  Reply query = ok;
  query.qr = false;
  EXPECT_EQ(interpret(query, "a.test", RecordType::A).outcome, Outcome::Error);
  Reply truncated = ok;
  truncated.tc = true;
  EXPECT_EQ(interpret(truncated, "a.test", RecordType::A).outcome, Outcome::Error);
  EXPECT_EQ(interpret(ok, "bad name", RecordType::A).outcome, Outcome::Error);
  Bytes malformed = encode(ok);
  malformed.pop_back();
  EXPECT_EQ(interpret_reply(malformed, "a.test", RecordType::A).outcome, Outcome::Error);
}

TEST(InterpretReply, ReferralFromANonRecursiveServerIsAnError) {
  Reply reply = reply_for("a.elsewhere", kA);
  reply.authority = {{"elsewhere", kNs, 172800, name_rdata("ns1.elsewhere")}};
  EXPECT_EQ(interpret(reply, "a.elsewhere", RecordType::A).outcome, Outcome::Error);
}

TEST(InterpretReply, RecordsOfAnotherClassAreIgnored) {
  Reply reply = reply_for("a.test", kA);
  reply.answers = {{"a.test", kA, 60, a_rdata(192, 0, 2, 1), 3}};  // CHAOS
  EXPECT_EQ(interpret(reply, "a.test", RecordType::A).outcome, Outcome::NoData);
}

Response answer(RecordType type, std::vector<RData> data) {
  Response r = make_response(Outcome::Answer);
  r.ttl = 60;
  for (RData& d : data) r.records.push_back(Record{"x.test", type, 60, std::move(d)});
  return r;
}

TEST(TypedLookups, TxtStringsOfOneRecordAreJoinedWithoutSpaces) {  // RFC 7208 §3.3
  const auto txt = texts_of(
      answer(RecordType::TXT, {TxtData{{"v=spf1 ip4:192.0.2.0/24", " -all"}}, TxtData{{"other"}}}));
  ASSERT_TRUE(txt.ok());
  ASSERT_EQ(txt.records.size(), 2u);
  EXPECT_EQ(txt.records[0].text, "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(txt.records[1].text, "other");
}

TEST(TypedLookups, MxSortedByPreferenceAndNullMx) {
  const auto mx = exchanges_of(
      answer(RecordType::MX, {MxData{20, "b.test"}, MxData{10, "a.test"}, MxData{20, "c.test"}}));
  ASSERT_EQ(mx.records.size(), 3u);
  EXPECT_EQ(mx.records[0].exchange, "a.test");
  EXPECT_EQ(mx.records[1].exchange, "b.test");
  EXPECT_EQ(mx.records[2].exchange, "c.test");
  EXPECT_FALSE(is_null_mx(mx));
  EXPECT_TRUE(is_null_mx(exchanges_of(answer(RecordType::MX, {MxData{0, "."}}))));
  EXPECT_FALSE(is_null_mx(exchanges_of(make_response(Outcome::NoData))));
}

TEST(TypedLookups, FailuresKeepTheirOutcomeAndWrongDataIsAnError) {
  const auto timeout = addresses_of(make_response(Outcome::Timeout));
  EXPECT_EQ(timeout.outcome, Outcome::Timeout);
  EXPECT_FALSE(timeout.ok());
  EXPECT_TRUE(timeout.records.empty());
  // An Answer whose records are not addresses (possible only from a hand-made Response).
  EXPECT_EQ(addresses_of(answer(RecordType::A, {NameData{"x"}})).outcome, Outcome::Error);
}

TEST(ReverseName, Ipv4AndIpv6) {
  EXPECT_EQ(reverse_name(*common::parse_ip("192.0.2.7")), "7.2.0.192.in-addr.arpa");
  // RFC 3596 §2.5's example.
  EXPECT_EQ(reverse_name(*common::parse_ip("4321:0:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  EXPECT_EQ(reversed_labels(*common::parse_ip("127.0.0.2")), "2.0.0.127");
  EXPECT_EQ(reverse_name(common::IpBytes{}), "");
}

TEST(Outcomes, FailuresAreTheOnesThatSayNothingAboutTheName) {
  EXPECT_FALSE(is_failure(Outcome::Answer));
  EXPECT_FALSE(is_failure(Outcome::NxDomain));
  EXPECT_FALSE(is_failure(Outcome::NoData));
  EXPECT_TRUE(is_failure(Outcome::ServFail));
  EXPECT_TRUE(is_failure(Outcome::Refused));
  EXPECT_TRUE(is_failure(Outcome::Timeout));
  EXPECT_TRUE(is_failure(Outcome::Error));
  EXPECT_EQ(to_string(Outcome::NxDomain), "nxdomain");
  EXPECT_EQ(to_string(RecordType::AAAA), "AAAA");
  EXPECT_EQ(to_string(static_cast<RecordType>(99)), "TYPE99");
}

}  // namespace
}  // namespace mxgate::dns
