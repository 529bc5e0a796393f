// The DNS message parser byte by byte: well-formed replies, every truncation, compression
// pointers (backwards only, no loops), label types, name and RDATA lengths, section bounds,
// and a deterministic mutation run that must never crash (run it under ASan+UBSan).
#include "dns/message.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/dns/wire.hpp"

namespace mxgate::dns {
namespace {

using namespace testing;

ParseResult parse(const Bytes& wire) { return parse_message(wire); }

// A reply with one answer whose owner is a pointer to the question name (offset 12), the way
// every server compresses.
Bytes compressed_a_reply() {
  Writer w;
  w.raw({0xAB, 0xCD, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0});
  w.name("Mail.Example.TEST");
  w.u16(1);
  w.u16(1);
  w.pointer(12);
  w.u16(1);
  w.u16(1);
  w.u32(3600);
  w.u16(4);
  w.raw({192, 0, 2, 25});
  return w.bytes;
}

TEST(MessageParser, ReadsHeaderQuestionAndCompressedAnswer) {
  const ParseResult r = parse(compressed_a_reply());
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  const Message& m = r.message;
  EXPECT_EQ(m.header.id, 0xABCD);
  EXPECT_TRUE(m.header.qr);
  EXPECT_TRUE(m.header.rd);
  EXPECT_TRUE(m.header.ra);
  EXPECT_EQ(m.header.rcode, 0);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "mail.example.test");  // lower-cased
  EXPECT_EQ(m.questions[0].type, RecordType::A);
  ASSERT_EQ(m.answers.size(), 1u);
  const Record& a = m.answers[0].record;
  EXPECT_EQ(a.name, "mail.example.test");
  EXPECT_EQ(a.ttl, 3600u);
  const auto& ip = std::get<common::IpBytes>(a.data);
  EXPECT_EQ(ip.family, 4);
  EXPECT_EQ(ip.bytes[0], 192);
  EXPECT_EQ(ip.bytes[3], 25);
}

TEST(MessageParser, EveryTruncationIsAnErrorAndNeverReadsPastTheEnd) {
  const Bytes full = compressed_a_reply();
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const ParseResult r = parse(prefix);
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " octets";
    EXPECT_EQ(r.error, ParseError::Truncated) << "prefix of " << n << " octets";
  }
  EXPECT_TRUE(parse(full).ok());
}

TEST(MessageParser, DecodesEachKnownType) {
  Reply reply;
  reply.qname = "x.test";
  reply.qtype = 255;
  reply.answers = {
      {"x.test", 28, 60, aaaa_rdata({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})},
      {"x.test", 5, 60, name_rdata("Target.Test")},
      {"x.test", 15, 60, mx_rdata(10, "mx.test")},
      {"x.test", 16, 60, txt_rdata({"v=spf1 ", "-all", ""})},
      {"x.test", 12, 60, name_rdata("host.test")},
      {"x.test", 99, 60, {1, 2, 3}},
  };
  reply.authority = {{"test", 6, 900, soa_rdata(300)}};
  const ParseResult r = parse(encode(reply));
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  const auto& answers = r.message.answers;
  ASSERT_EQ(answers.size(), 6u);
  EXPECT_EQ(std::get<common::IpBytes>(answers[0].record.data).family, 6);
  EXPECT_EQ(std::get<NameData>(answers[1].record.data).name, "target.test");
  EXPECT_EQ(std::get<MxData>(answers[2].record.data).preference, 10);
  EXPECT_EQ(std::get<MxData>(answers[2].record.data).exchange, "mx.test");
  EXPECT_EQ(std::get<TxtData>(answers[3].record.data).strings,
            (std::vector<std::string>{"v=spf1 ", "-all", ""}));
  EXPECT_EQ(std::get<NameData>(answers[4].record.data).name, "host.test");
  EXPECT_EQ(std::get<RawData>(answers[5].record.data).octets, std::string("\1\2\3", 3));
  ASSERT_EQ(r.message.authority.size(), 1u);
  const auto& soa = std::get<SoaData>(r.message.authority[0].record.data);
  EXPECT_EQ(soa.mname, "ns.test");
  EXPECT_EQ(soa.rname, "hostmaster.test");
  EXPECT_EQ(soa.minimum, 300u);
}

TEST(MessageParser, NullMxExchangeIsTheRoot) {
  Reply reply;
  reply.qname = "nomail.test";
  reply.qtype = 15;
  reply.answers = {{"nomail.test", 15, 60, mx_rdata(0, ".")}};
  const ParseResult r = parse(encode(reply));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<MxData>(r.message.answers[0].record.data).exchange, ".");
}

TEST(MessageParser, TtlWithTheTopBitSetReadsAsZero) {  // RFC 2181 §8
  Reply reply;
  reply.qname = "a.test";
  reply.answers = {{"a.test", 1, 0x80000001u, a_rdata(192, 0, 2, 1)}};
  const ParseResult r = parse(encode(reply));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message.answers[0].record.ttl, 0u);
}

TEST(MessageParser, EscapesOddOctetsInLabels) {  // RFC 1035 §5.1 presentation form
  Writer w;
  w.raw({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0});
  w.raw({4, 'a', '.', 'B', 0x00, 3, '\\', ' ', 0xFF, 0});
  w.u16(1);
  w.u16(1);
  const ParseResult r = parse(w.bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message.questions[0].name, "a\\.b\\000.\\\\\\032\\255");
}

Bytes header_with_one_question() { return {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}; }

TEST(MessageParser, PointerToItselfIsRefused) {
  Writer w;
  w.raw(header_with_one_question());
  w.pointer(12);
  w.u16(1);
  w.u16(1);
  EXPECT_EQ(parse(w.bytes).error, ParseError::BadPointer);
}

TEST(MessageParser, ForwardPointerIsRefused) {
  Writer w;
  w.raw(header_with_one_question());
  w.pointer(20);
  w.u16(1);
  w.u16(1);
  w.raw({1, 'a', 0});
  EXPECT_EQ(parse(w.bytes).error, ParseError::BadPointer);
}

TEST(MessageParser, PointerLoopThroughTwoNamesIsRefused) {
  // Question name at 12: "a" then a pointer to 17; at 17: "b" then a pointer back to 12.
  Writer w;
  w.raw(header_with_one_question());
  w.raw({1, 'a'});
  w.pointer(17);
  w.raw({0xFF});  // filler so that 17 is the next label
  w.raw({1, 'b'});
  w.pointer(12);
  EXPECT_EQ(parse(w.bytes).error, ParseError::BadPointer);
}

TEST(MessageParser, PointerIntoTheMiddleOfALabelLoopIsRefused) {
  // The answer owner points at the second label of its own name.
  Writer w;
  w.raw({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0});
  w.raw({1, 'a', 1, 'b'});
  w.pointer(14);
  EXPECT_EQ(parse(w.bytes).error, ParseError::BadPointer);
}

TEST(MessageParser, PointerOffTheEndIsTruncated) {
  Writer w;
  w.raw(header_with_one_question());
  w.raw({0xC0});
  EXPECT_EQ(parse(w.bytes).error, ParseError::Truncated);
}

TEST(MessageParser, ExtendedLabelTypesAreRefused) {
  for (std::uint8_t type : {0x40, 0x80}) {
    Writer w;
    w.raw(header_with_one_question());
    w.raw({static_cast<std::uint8_t>(type | 1), 'a', 0});
    w.u16(1);
    w.u16(1);
    EXPECT_EQ(parse(w.bytes).error, ParseError::BadLabel) << int(type);
  }
}

std::string labels_of(std::size_t octets, std::size_t count) {
  std::string name;
  for (std::size_t i = 0; i < count; ++i) {
    if (!name.empty()) name += '.';
    name += std::string(octets, 'a' + static_cast<char>(i % 26));
  }
  return name;
}

TEST(MessageParser, NamesUpTo255OctetsOnTheWire) {
  // 4 x (1+62) + 1 (root) = 253; plus a 1-octet label = 255 exactly.
  const std::string fits = labels_of(62, 4) + ".b";
  Writer ok;
  ok.raw(header_with_one_question());
  ok.name(fits);
  ok.u16(1);
  ok.u16(1);
  const ParseResult r = parse(ok.bytes);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.message.questions[0].name, fits);

  Writer long_name;
  long_name.raw(header_with_one_question());
  long_name.name(fits + "c");  // 256
  long_name.u16(1);
  long_name.u16(1);
  EXPECT_EQ(parse(long_name.bytes).error, ParseError::NameTooLong);
}

TEST(MessageParser, NameTooLongThroughPointers) {
  // Question: 3 x 63-octet labels (3 x 64 + 1 = 193 octets). Answer owner: a 63-octet label
  // and a pointer to the question: 64 + 193 = 257.
  Writer w;
  w.raw({0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0});
  w.name(labels_of(63, 3));
  w.u16(1);
  w.u16(1);
  w.raw({63});
  w.bytes.insert(w.bytes.end(), 63, 'z');
  w.pointer(12);
  w.u16(1);
  w.u16(1);
  w.u32(1);
  w.u16(4);
  w.raw({1, 2, 3, 4});
  EXPECT_EQ(parse(w.bytes).error, ParseError::NameTooLong);
}

Bytes reply_with_rdata(std::uint16_t type, const Bytes& rdata, std::uint16_t rdlength) {
  Writer w;
  w.raw({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0});
  w.name("x.test");
  w.u16(type);
  w.u16(1);
  w.u32(60);
  w.u16(rdlength);
  w.raw(rdata);
  return w.bytes;
}

TEST(MessageParser, BadRdataLengths) {
  struct Case {
    const char* what;
    std::uint16_t type;
    Bytes rdata;
    std::uint16_t rdlength;
    ParseError expected;
  };
  const Case cases[] = {
      {"A of 3 octets", 1, {1, 2, 3}, 3, ParseError::BadRdata},
      {"A of 5 octets", 1, {1, 2, 3, 4, 5}, 5, ParseError::BadRdata},
      {"AAAA of 4 octets", 28, {1, 2, 3, 4}, 4, ParseError::BadRdata},
      {"RDLENGTH past the end", 1, {1, 2, 3, 4}, 9, ParseError::Truncated},
      {"MX without a name", 15, {0, 10}, 2, ParseError::BadRdata},
      {"MX name past RDATA", 15, {0, 10, 2, 'm', 'x', 0}, 4, ParseError::BadRdata},
      {"MX with trailing octets", 15, {0, 10, 0, 7}, 4, ParseError::BadRdata},
      {"CNAME with trailing octets", 5, {0, 1}, 2, ParseError::BadRdata},
      {"CNAME empty", 5, {}, 0, ParseError::BadRdata},
      {"TXT string past RDATA", 16, {5, 'a', 'b'}, 3, ParseError::BadRdata},
      {"SOA too short", 6, {0, 0, 0, 0, 0, 1}, 6, ParseError::BadRdata},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse(reply_with_rdata(c.type, c.rdata, c.rdlength)).error, c.expected) << c.what;
  }
}

TEST(MessageParser, EmptyTxtRdataIsNoStrings) {
  const ParseResult r = parse(reply_with_rdata(16, {}, 0));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::get<TxtData>(r.message.answers[0].record.data).strings.empty());
}

TEST(MessageParser, AbsurdSectionCountsAreRefused) {
  Bytes wire = {0, 1, 0x81, 0x80, 0, 1, 0x07, 0xD0, 0, 0, 0, 0};  // 2000 answers
  EXPECT_EQ(parse(wire).error, ParseError::TooManyRecords);
  wire = {0, 1, 0x81, 0x80, 0, 5, 0, 0, 0, 0, 0, 0};  // 5 questions
  EXPECT_EQ(parse(wire).error, ParseError::TooManyRecords);
  wire = {0, 1, 0x81, 0x80, 0, 0, 0, 3, 0, 0, 0, 0};  // 3 answers announced, none there
  EXPECT_EQ(parse(wire).error, ParseError::Truncated);
}

TEST(MessageParser, AdditionalSectionIsNotRead) {
  Reply reply;
  reply.qname = "a.test";
  reply.answers = {{"a.test", 1, 60, a_rdata(192, 0, 2, 1)}};
  Bytes wire = encode(reply);
  wire[11] = 7;  // 7 additional records that are not there: not our business
  EXPECT_TRUE(parse(wire).ok());
}

TEST(MessageParser, SurvivesMutatedReplies) {
  Reply reply;
  reply.qname = "mutant.test";
  reply.qtype = 15;
  reply.answers = {{"mutant.test", 5, 60, name_rdata("c.test")},
                   {"c.test", 15, 60, mx_rdata(10, "mx.test")},
                   {"c.test", 16, 60, txt_rdata({"abc", "def"})}};
  reply.authority = {{"test", 6, 60, soa_rdata(60)}};
  const std::vector<Bytes> seeds = {encode(reply), compressed_a_reply()};
  std::mt19937 random(20261128);
  std::size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes wire = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      wire[random() % wire.size()] = static_cast<std::uint8_t>(random());
    }
    if (random() % 4 == 0) wire.resize(random() % wire.size());
    const ParseResult r = parse(wire);
    parsed += r.ok() ? 1 : 0;
    (void)interpret_reply(wire, "mutant.test", RecordType::MX);
  }
  EXPECT_GT(parsed, 0u);  // the mutations are not all fatal; the point is no crash
}

TEST(NormalizeName, AcceptsHostnamesAndRefusesWhatCannotBeQueried) {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  };
  const Case cases[] = {
      {"Mail.Example.COM", "mail.example.com"},
      {"example.com.", "example.com"},
      {".", "."},
      {"_dmarc.example.com", "_dmarc.example.com"},
      {"0/25.2.0.192.in-addr.arpa", "0/25.2.0.192.in-addr.arpa"},
      {"", std::nullopt},
      {"..", std::nullopt},
      {"a..b", std::nullopt},
      {".a", std::nullopt},
      {"a b", std::nullopt},
      {"a\\.b", std::nullopt},
      {std::string("a\0b", 3), std::nullopt},
      {"caf\xc3\xa9.example", std::nullopt},
      {std::string(64, 'a') + ".example", std::nullopt},
      {std::string(63, 'a') + ".example", std::string(63, 'a') + ".example"},
  };
  for (const Case& c : cases) EXPECT_EQ(normalize_name(c.in), c.out) << c.in;
  EXPECT_TRUE(normalize_name(labels_of(63, 3) + "." + std::string(61, 'x')));   // 253
  EXPECT_FALSE(normalize_name(labels_of(63, 3) + "." + std::string(62, 'x')));  // 254
}

}  // namespace
}  // namespace mxgate::dns
