// The milter codec: the exact bytes of every command mxgate sends, the filter's packets cut
// from a stream split at every byte, and every response read or refused.
#include "milter/protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxgate::milter {
namespace {

using namespace std::string_literals;

std::string packet(char code, const std::string& data) {
  const auto length = static_cast<std::uint32_t>(data.size() + 1);
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(length >> shift));
  out.push_back(code);
  return out + data;
}

TEST(MilterEncode, NegotiationIsThreeBigEndianWords) {
  std::string out;
  encode_negotiation(out, 6, 0x1ff, 0x1fffff);
  EXPECT_EQ(out, "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"s);
}

TEST(MilterEncode, ConnectForEachFamily) {
  std::string out;
  encode_connect(out, "mail.example.org", Family::Inet, 25, "192.0.2.7");
  EXPECT_EQ(out, packet('C',
                        "mail.example.org\0"s
                        "4\0\x19"s
                        "192.0.2.7\0"s));
  out.clear();
  encode_connect(out, "[2001:db8::1]", Family::Inet6, 465, "2001:db8::1");
  EXPECT_EQ(out, packet('C',
                        "[2001:db8::1]\0"s
                        "6\x01\xd1"s
                        "2001:db8::1\0"s));
  out.clear();
  encode_connect(out, "localhost", Family::Unknown, 0, "ignored");
  EXPECT_EQ(out, packet('C', "localhost\0U"s));
}

TEST(MilterEncode, EnvelopeHeaderAndBody) {
  std::string out;
  encode_helo(out, "client.example.org");
  EXPECT_EQ(out, packet('H', "client.example.org\0"s));
  out.clear();
  const std::vector<std::string_view> parameters = {"SIZE=1000", "BODY=8BITMIME"};
  encode_mail(out, "<a@example.org>", parameters);
  EXPECT_EQ(out, packet('M', "<a@example.org>\0SIZE=1000\0BODY=8BITMIME\0"s));
  out.clear();
  encode_rcpt(out, "<b@example.com>");
  EXPECT_EQ(out, packet('R', "<b@example.com>\0"s));
  out.clear();
  encode_header(out, "Subject", "hello\n\tthere");
  EXPECT_EQ(out, packet('L', "Subject\0hello\n\tthere\0"s));
  out.clear();
  encode_body(out, "line\r\n");
  EXPECT_EQ(out, packet('B', "line\r\n"));
  out.clear();
  encode_unknown(out, "XFOO bar");
  EXPECT_EQ(out, packet('U', "XFOO bar\0"s));
}

TEST(MilterEncode, MacrosNameTheCommandTheyPrecede) {
  std::string out;
  const std::vector<Macro> macros = {{"j", "mx.example.net"}, {"{client_addr}", "192.0.2.7"}};
  encode_macros(out, Command::Connect, macros);
  EXPECT_EQ(out, packet('D',
                        "Cj\0mx.example.net\0{client_addr}\0"s
                        "192.0.2.7\0"s));
}

TEST(MilterEncode, BareCommandsHaveNoData) {
  for (const auto command : {Command::Abort, Command::Data, Command::EndOfHeader,
                             Command::EndOfBody, Command::Quit, Command::QuitNewConnection}) {
    std::string out;
    encode_bare(out, command);
    EXPECT_EQ(out, packet(static_cast<char>(command), ""));
  }
}

TEST(MilterPacketReader, SplitAtEveryByteGivesTheSamePackets) {
  const std::string stream = packet('h', "X-Spam\0yes\0"s) + packet('c', "") +
                             packet('b', std::string(70000, 'x')) + packet('y', "550 5.7.1 no\0"s);
  const std::vector<Packet> want = {
      {'h', "X-Spam\0yes\0"s}, {'c', ""}, {'b', std::string(70000, 'x')}, {'y', "550 5.7.1 no\0"s}};
  for (std::size_t cut = 0; cut <= stream.size(); cut += (cut < 64 ? 1 : 997)) {
    PacketReader reader;
    std::vector<Packet> got;
    for (const auto piece :
         {std::string_view(stream).substr(0, cut), std::string_view(stream).substr(cut)}) {
      reader.feed(piece);
      while (auto p = reader.next()) got.push_back(std::move(*p));
    }
    EXPECT_EQ(got, want) << "cut at " << cut;
    EXPECT_FALSE(reader.failed());
    EXPECT_EQ(reader.buffered(), 0u);
  }
  PacketReader one_by_one;
  std::vector<Packet> got;
  for (const char c : stream) {
    one_by_one.feed(std::string_view(&c, 1));
    while (auto p = one_by_one.next()) got.push_back(std::move(*p));
  }
  EXPECT_EQ(got, want);
}

TEST(MilterPacketReader, AZeroOrOversizedLengthBreaksTheStreamForGood) {
  PacketReader zero;
  zero.feed("\0\0\0\0c"s);
  EXPECT_FALSE(zero.next());
  EXPECT_TRUE(zero.failed());
  zero.feed(packet('c', ""));
  EXPECT_FALSE(zero.next());

  PacketReader small(16);
  small.feed(packet('b', std::string(16, 'x')));
  EXPECT_TRUE(small.next());
  small.feed("\0\0\0\x12"s);  // 17 octets of data
  EXPECT_FALSE(small.next());
  EXPECT_TRUE(small.failed());
}

TEST(MilterNegotiation, ReadsFlagsAndMacroLists) {
  const std::string base = "\0\0\0\x06\0\0\x01\x11\0\x10\0\x80"s;
  auto plain = parse_negotiation({'O', base});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->version, 6u);
  EXPECT_EQ(plain->actions,
            actions::kAddHeaders | actions::kChangeHeaders | actions::kSetSymbolList);
  EXPECT_EQ(plain->protocol, protocol::kHeaderLeadingSpace | protocol::kNoReplyHeader);
  for (const auto& list : plain->macros) EXPECT_EQ(list, "");

  auto lists = parse_negotiation({'O', base + "\0\0\0\x00{client_addr} j\0"s + "\0\0\0\x05{i}\0"s});
  ASSERT_TRUE(lists);
  EXPECT_EQ(lists->macros[static_cast<std::size_t>(MacroStage::Connect)], "{client_addr} j");
  EXPECT_EQ(lists->macros[static_cast<std::size_t>(MacroStage::EndOfMessage)], "{i}");
}

TEST(MilterNegotiation, RefusesWhatDoesNotFit) {
  const std::string base = "\0\0\0\x06\0\0\0\x01\0\0\0\0"s;
  EXPECT_FALSE(parse_negotiation({'O', base.substr(0, 11)}));
  EXPECT_FALSE(parse_negotiation({'c', base}));
  EXPECT_FALSE(parse_negotiation({'O', base + "\0\0\0\x07j\0"s}));  // no stage 7
  EXPECT_FALSE(parse_negotiation({'O', base + "\0\0\0\x01j"s}));    // no NUL
  EXPECT_FALSE(parse_negotiation({'O', base + "\0\0"s}));           // half a stage
}

TEST(MilterResponse, BareVerdicts) {
  EXPECT_TRUE(std::holds_alternative<Accept>(*parse_response({'a', ""})));
  EXPECT_TRUE(std::holds_alternative<Continue>(*parse_response({'c', ""})));
  EXPECT_TRUE(std::holds_alternative<Discard>(*parse_response({'d', ""})));
  EXPECT_TRUE(std::holds_alternative<Reject>(*parse_response({'r', ""})));
  EXPECT_TRUE(std::holds_alternative<Tempfail>(*parse_response({'t', ""})));
  EXPECT_TRUE(std::holds_alternative<Skip>(*parse_response({'s', ""})));
  EXPECT_TRUE(std::holds_alternative<Progress>(*parse_response({'p', ""})));
  EXPECT_TRUE(std::holds_alternative<ConnectionFail>(*parse_response({'f', ""})));
  EXPECT_TRUE(std::holds_alternative<Shutdown>(*parse_response({'4', ""})));
  EXPECT_FALSE(parse_response({'c', "x"}));  // a verdict carries no data
  EXPECT_FALSE(parse_response({'Z', ""}));   // not a response
  EXPECT_FALSE(parse_response({'O', ""}));
}

TEST(MilterResponse, ReplyCodesOneLineAndMany) {
  EXPECT_EQ(std::get<ReplyCode>(*parse_response({'y', "550 5.7.1 Spam message rejected\0"s})),
            (ReplyCode{550, {"5.7.1 Spam message rejected"}}));
  EXPECT_EQ(std::get<ReplyCode>(*parse_response({'y', "451\0"s})), (ReplyCode{451, {""}}));
  EXPECT_EQ(std::get<ReplyCode>(*parse_response({'y', "554-5.7.1 first\r\n554 5.7.1 second\0"s})),
            (ReplyCode{554, {"5.7.1 first", "5.7.1 second"}}));
  for (const std::string& bad :
       {"250 2.0.0 fine"s, "55 short"s, "5x0 nope"s, "550_5.7.1"s, "550-5.7.1 no last line"s,
        "550-a\r\n551 b"s, "550 a\r\n550 b"s, "550 a\nb"s, "550-"s}) {
    EXPECT_FALSE(parse_response({'y', bad + '\0'})) << bad;
  }
  EXPECT_FALSE(parse_response({'y', "550 5.7.1 no NUL"}));
  EXPECT_FALSE(parse_response({'y', "550 a\0extra"s}));
}

TEST(MilterResponse, HeaderChanges) {
  EXPECT_EQ(std::get<AddHeader>(*parse_response({'h', "X-Spam-Flag\0YES\0"s})),
            (AddHeader{"X-Spam-Flag", "YES"}));
  EXPECT_EQ(std::get<InsertHeader>(*parse_response({'i', "\0\0\0\x00X-First\0v\0"s})),
            (InsertHeader{0, "X-First", "v"}));
  EXPECT_EQ(std::get<ChangeHeader>(*parse_response({'m', "\0\0\0\x02Subject\0new\0"s})),
            (ChangeHeader{2, "Subject", "new"}));
  EXPECT_EQ(std::get<ChangeHeader>(*parse_response({'m', "\0\0\0\x01X-Old\0\0"s})),
            (ChangeHeader{1, "X-Old", ""}));  // delete
  EXPECT_FALSE(parse_response({'h', "Bad:Name\0v\0"s}));
  EXPECT_FALSE(parse_response({'h', "\0v\0"s}));
  EXPECT_FALSE(parse_response({'h', "Name\0v"s}));
  EXPECT_FALSE(parse_response({'m', "\0\0\x01"s}));  // not even the index
  EXPECT_FALSE(parse_response({'h', "Name\0v\0more"s}));
}

TEST(MilterResponse, BodyQuarantineAndEnvelopeChanges) {
  EXPECT_EQ(std::get<ReplaceBody>(*parse_response({'b', "new\r\nbody\r\n"})),
            (ReplaceBody{"new\r\nbody\r\n"}));
  EXPECT_EQ(std::get<ReplaceBody>(*parse_response({'b', ""})), (ReplaceBody{""}));
  EXPECT_EQ(std::get<Quarantine>(*parse_response({'q', "virus found\0"s})),
            (Quarantine{"virus found"}));
  EXPECT_EQ(std::get<AddRcpt>(*parse_response({'+', "<c@example.com>\0"s})),
            (AddRcpt{"<c@example.com>", ""}));
  EXPECT_EQ(std::get<AddRcpt>(*parse_response({'2', "<c@example.com>\0NOTIFY=NEVER\0"s})),
            (AddRcpt{"<c@example.com>", "NOTIFY=NEVER"}));
  EXPECT_EQ(std::get<AddRcpt>(*parse_response({'2', "<c@example.com>\0"s})),
            (AddRcpt{"<c@example.com>", ""}));
  EXPECT_EQ(std::get<DeleteRcpt>(*parse_response({'-', "<b@example.com>\0"s})),
            (DeleteRcpt{"<b@example.com>"}));
  EXPECT_EQ(std::get<ChangeFrom>(*parse_response({'e', "<new@example.org>\0"s})),
            (ChangeFrom{"<new@example.org>", ""}));
  EXPECT_FALSE(parse_response({'+', "<c@example.com>\0extra\0"s}));
  EXPECT_FALSE(parse_response({'-', "\0"s}));
  EXPECT_FALSE(parse_response({'q', "no NUL"}));
}

TEST(MilterResponse, WhatEndsAStep) {
  EXPECT_TRUE(ends_step(Continue{}));
  EXPECT_TRUE(ends_step(ReplyCode{550, {"x"}}));
  EXPECT_TRUE(ends_step(Skip{}));
  EXPECT_FALSE(ends_step(Progress{}));
  EXPECT_FALSE(ends_step(AddHeader{"X", "y"}));
  EXPECT_FALSE(ends_step(ReplaceBody{"b"}));
  EXPECT_FALSE(ends_step(Quarantine{"r"}));
}

}  // namespace
}  // namespace mxgate::milter
