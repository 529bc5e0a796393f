#include "smtp/client_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "split.hpp"

namespace mxgate::smtp {
namespace {

using testing::all_splits;
using testing::show;

struct Parsed {
  ReplyParser::Status status = ReplyParser::Status::NeedMore;
  std::vector<std::string> replies;  // wire form of each complete reply
  std::string rest;
  bool operator==(const Parsed&) const = default;
};

// Feeds pieces as a relay client does; stops at the first Malformed.
Parsed parse(const std::vector<std::string_view>& pieces) {
  ReplyParser parser;
  Parsed p;
  std::string buffer;
  for (const std::string_view piece : pieces) {
    buffer.append(piece);
    while (true) {
      const ReplyParser::Result r = parser.parse(buffer);
      p.status = r.status;
      if (r.status == ReplyParser::Status::Malformed) return p;
      buffer.erase(0, r.consumed);
      if (r.status == ReplyParser::Status::NeedMore) break;
      p.replies.push_back(parser.reply().wire());
    }
  }
  p.rest = buffer;
  return p;
}

Parsed parse_every_split(std::string_view input) {
  const Parsed whole = parse({input});
  for (const auto& pieces : all_splits(input)) {
    EXPECT_EQ(parse(pieces), whole) << show(input) << " pieces=" << pieces.size();
  }
  return whole;
}

TEST(ReplyParser, ParsesSingleAndMultiLineReplies) {
  const Parsed p = parse_every_split(
      "220 mx.example ESMTP\r\n"
      "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
      "250 2.1.0 Ok\r\n"
      "354\r\n"
      "550-5.7.1 Refused\r\n550-5.7.1 see https://x\r\n550 5.7.1 bye\r\n"
      "421 4.");
  EXPECT_EQ(p.status, ReplyParser::Status::NeedMore);
  EXPECT_EQ(p.replies, (std::vector<std::string>{
                           "220 mx.example ESMTP\r\n",
                           "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                           "250 2.1.0 Ok\r\n",
                           "354 \r\n",  // Reply::wire() always writes the space
                           "550-5.7.1 Refused\r\n550-5.7.1 see https://x\r\n550 5.7.1 bye\r\n",
                       }));
  EXPECT_EQ(p.rest, "421 4.");
}

TEST(ReplyParser, SplitsEnhancedCodesOnlyWhenTheyMatchTheClass) {
  struct Case {
    std::string line;
    std::string enhanced;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"250 2.1.0 Ok\r\n", "2.1.0", "Ok"},
      {"550 5.7.1\r\n", "5.7.1", ""},
      {"452 4.5.3 Too many\r\n", "4.5.3", "Too many"},
      {"250 2.100.999 x\r\n", "2.100.999", "x"},
      {"250 5.1.0 wrong class\r\n", "", "5.1.0 wrong class"},
      {"250 2.1000.0 too long\r\n", "", "2.1000.0 too long"},
      {"250 2.1.0x Ok\r\n", "", "2.1.0x Ok"},
      {"250 2.1 Ok\r\n", "", "2.1 Ok"},
      {"220 mx ESMTP\r\n", "", "mx ESMTP"},
      {"250\r\n", "", ""},
  };
  for (const Case& c : cases) {
    ReplyParser parser;
    ASSERT_EQ(parser.parse(c.line).status, ReplyParser::Status::Complete) << c.line;
    EXPECT_EQ(parser.reply().enhanced, c.enhanced) << c.line;
    ASSERT_EQ(parser.reply().lines.size(), 1U);
    EXPECT_EQ(parser.reply().lines[0], c.text) << c.line;
  }
  ReplyParser parser;
  ASSERT_EQ(parser.parse("550-5.7.1 a\r\n550 5.7.1 b\r\n").status, ReplyParser::Status::Complete);
  EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parser.reply().code, 550);
}

TEST(ReplyParser, RefusesWhatIsNotSmtp) {
  const std::vector<std::string> bad = {
      "HTTP/1.1 400 Bad Request\r\n",
      "199 x\r\n",
      "600 x\r\n",
      "25 x\r\n",
      "250x\r\n",
      "2500 x\r\n",
      "250-a\r\n251 b\r\n",
      std::string(5000, '2'),
      "250-" + std::string(ReplyParser::kMaxLine, 'x') + "\r\n250 ok\r\n",
  };
  for (const std::string& input : bad) {
    EXPECT_EQ(parse({input}).status, ReplyParser::Status::Malformed) << show(input.substr(0, 40));
  }
  std::string many;
  for (std::size_t i = 0; i < ReplyParser::kMaxLines; ++i) many += "250-x\r\n";
  EXPECT_EQ(parse({many + "250 x\r\n"}).status, ReplyParser::Status::Malformed);
  EXPECT_EQ(parse({many}).status, ReplyParser::Status::NeedMore);
}

TEST(ReplyParser, ToleratesBareLf) {
  ReplyParser parser;
  const ReplyParser::Result r = parser.parse("250-a\n250 b\n");
  EXPECT_EQ(r.status, ReplyParser::Status::Complete);
  EXPECT_EQ(r.consumed, 12U);
}

TEST(ParseEhlo, ReadsTheCapabilitiesWeUse) {
  ReplyParser parser;
  ASSERT_EQ(parser
                .parse("250-mx.example Hello PIPELINING\r\n250-pipelining\r\n250-SIZE 52428800\r\n"
                       "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
                       "250-SMTPUTF8\r\n250-AUTH PLAIN\r\n250 CHUNKING\r\n")
                .status,
            ReplyParser::Status::Complete);
  const EhloCapabilities caps = parse_ehlo(parser.reply());
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.eightbitmime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.chunking);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_EQ(caps.size, 52428800U);
}

TEST(ParseEhlo, SkipsTheGreetingLineAndBadSizes) {
  const EhloCapabilities greeting_only =
      parse_ehlo(Reply{250, "", {"STARTTLS PIPELINING", "SIZE", "SIZE x1"}});
  EXPECT_FALSE(greeting_only.starttls);
  EXPECT_FALSE(greeting_only.pipelining);
  EXPECT_EQ(greeting_only.size, 0U);
  EXPECT_EQ(parse_ehlo(Reply{250, "", {"mx", "SIZE 0"}}).size, 0U);
}

TEST(ParseEhlo, ReadsTheAttributesOfXclientAndXforward) {
  const auto caps = parse_ehlo(Reply{
      250, "", {"mx", "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN", "xforward name addr"}});
  EXPECT_EQ(caps.xclient, (std::vector<std::string>{"NAME", "ADDR", "PROTO", "HELO",
                                                    "REVERSE_NAME", "PORT", "LOGIN"}));
  EXPECT_EQ(caps.xforward, (std::vector<std::string>{"NAME", "ADDR"}));
  EXPECT_TRUE(parse_ehlo(Reply{250, "", {"mx", "PIPELINING"}}).xclient.empty());
}

TEST(ForwardClient, XclientNamesTheOfferedAttributesInXtext) {
  const std::vector<std::string> all{"NAME", "ADDR", "PROTO", "HELO", "PORT"};
  ClientIdentity client{"192.0.2.7", "mail.example.org", "mail.example.org", true};
  EXPECT_EQ(xclient_command(client, all),
            "XCLIENT NAME=mail.example.org ADDR=192.0.2.7 PROTO=ESMTP HELO=mail.example.org");
  // No verified name, no HELO, IPv6, plain SMTP; a HELO with odd octets goes as xtext.
  client = {"2001:db8::1", "", "", false};
  EXPECT_EQ(xclient_command(client, all),
            "XCLIENT NAME=[UNAVAILABLE] ADDR=IPV6:2001:db8::1 PROTO=SMTP HELO=[UNAVAILABLE]");
  client.helo = "a+b=c d\x01";
  EXPECT_EQ(xclient_command(client, {"HELO"}), "XCLIENT HELO=a+2Bb+3Dc+20d+01");
  EXPECT_EQ(xclient_command(client, {"LOGIN"}), "") << "nothing we know offered";
}

TEST(ForwardClient, AValueCannotAddAnAttributeOfItsOwn) {
  // The HELO comes from the client and may start with "[" like the special value; found by
  // tests/fuzz/smtp_reply_fuzz (a raw "[...]" value could add ADDR= for Postfix to believe).
  ClientIdentity client{"192.0.2.7", "", "[192.0.2.1] ADDR=127.0.0.1", true};
  EXPECT_EQ(xclient_command(client, {"ADDR", "HELO"}),
            "XCLIENT ADDR=192.0.2.7 HELO=[192.0.2.1]+20ADDR+3D127.0.0.1");
  EXPECT_EQ(xforward_command(client, {"HELO"}), "XFORWARD HELO=[192.0.2.1]+20ADDR+3D127.0.0.1");
  client.helo = "[192.0.2.1]";  // an address literal is plain xtext
  EXPECT_EQ(xclient_command(client, {"HELO"}), "XCLIENT HELO=[192.0.2.1]");
}

TEST(ForwardClient, XforwardAddsItsSource) {
  const ClientIdentity client{"192.0.2.7", "mx.example.org", "mx.example.org", true};
  EXPECT_EQ(xforward_command(client, {"NAME", "ADDR", "PROTO", "HELO", "SOURCE", "IDENT"}),
            "XFORWARD NAME=mx.example.org ADDR=192.0.2.7 PROTO=ESMTP HELO=mx.example.org "
            "SOURCE=REMOTE");
  EXPECT_EQ(xforward_command(client, {}), "");
}

}  // namespace
}  // namespace mxgate::smtp
