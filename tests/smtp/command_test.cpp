#include "smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/path.hpp"

namespace mxgate::smtp {
namespace {

struct SyntaxCase {
  std::string line;
  int code;                // 0: parses
  std::string enhanced{};  // expected enhanced code when refused
};

// Valid and invalid lines with the reply the client would get (RFC 5321 §4.1, §4.5.3.1).
std::vector<SyntaxCase> syntax_cases() {
  const std::string local64(64, 'l');
  const std::string label63(63, 'd');
  return {
      // verbs, any case
      {"HELO mx.example", 0},
      {"helo mx.example", 0},
      {"EhLo mx.example", 0},
      {"HELO", 501, "5.5.4"},
      {"EHLO", 501, "5.5.4"},
      {"EHLO   ", 501, "5.5.4"},
      {"DATA", 0},
      {"data", 0},
      {"DATA x", 501, "5.5.4"},
      {"DATA ", 0},
      {"RSET", 0},
      {"RSET now", 501, "5.5.4"},
      {"QUIT", 0},
      {"QUIT bye", 501, "5.5.4"},
      {"STARTTLS", 0},
      {"STARTTLS x", 501, "5.5.4"},
      {"NOOP", 0},
      {"NOOP anything", 0},
      {"HELP", 0},
      {"HELP MAIL", 0},
      {"VRFY user", 0},
      {"VRFY", 501, "5.5.4"},
      {"EXPN list", 0},
      {"", 500, "5.5.2"},
      {"FOO", 500, "5.5.2"},
      {"MAILFROM:<a@b>", 500, "5.5.2"},
      {"XEXPS", 500, "5.5.2"},
      {"\x80\x81", 500, "5.5.2"},
      // MAIL FROM
      {"MAIL FROM:<a@example.com>", 0},
      {"mail from:<a@example.com>", 0},
      {"MAIL FROM: <a@example.com>", 0},
      {"MAIL FROM:<>", 0},
      {"MAIL FROM: <>", 0},
      {"MAIL FROM:a@example.com", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com", 501, "5.5.4"},
      {"MAIL FROM <a@example.com>", 501, "5.5.4"},
      {"MAIL TO:<a@example.com>", 501, "5.5.4"},
      {"MAIL", 501, "5.5.4"},
      {"MAIL FROM:", 501, "5.5.4"},
      {"MAIL FROM:<Postmaster>", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com>x", 501, "5.5.4"},
      // local parts
      {"MAIL FROM:<first.last+tag@example.com>", 0},
      {"MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", 0},
      {"MAIL FROM:<\"john doe\"@example.com>", 0},
      {"MAIL FROM:<\"a\\\"b\\\\c\"@example.com>", 0},
      {"MAIL FROM:<\"a>b\"@example.com>", 0},
      {"MAIL FROM:<\"\"@example.com>", 0},
      {"MAIL FROM:<\"unterminated@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<\"a\"b@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a..b@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<.a@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a.@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a b@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a(b)@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a@b@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a>", 501, "5.5.4"},
      {"MAIL FROM:<" + local64 + "@example.com>", 0},
      {"MAIL FROM:<" + local64 + "l@example.com>", 501, "5.5.4"},
      // domains and address literals
      {"MAIL FROM:<a@localhost>", 0},
      {"MAIL FROM:<a@x-1.example>", 0},
      {"MAIL FROM:<a@-x.example>", 501, "5.5.4"},
      {"MAIL FROM:<a@x-.example>", 501, "5.5.4"},
      {"MAIL FROM:<a@x..example>", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com.>", 501, "5.5.4"},
      {"MAIL FROM:<a@ex_ample.com>", 501, "5.5.4"},
      {"MAIL FROM:<a@>", 501, "5.5.4"},
      {"MAIL FROM:<a@" + label63 + ".example>", 0},
      {"MAIL FROM:<a@" + label63 + "d.example>", 501, "5.5.4"},
      {"MAIL FROM:<a@[192.0.2.1]>", 0},
      {"MAIL FROM:<a@[IPv6:2001:db8::1]>", 0},
      {"MAIL FROM:<a@[ipv6:::ffff:192.0.2.1]>", 0},
      {"MAIL FROM:<a@[192.0.2.256]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[192.0.2]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[192.0.2.1.5]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[IPv6:2001:db8::g]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[x-tag:stuff]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[]>", 501, "5.5.4"},
      {"MAIL FROM:<a@[192.0.2.1]x>", 501, "5.5.4"},
      // source routes (RFC 5321 §4.1.2, accepted and dropped)
      {"RCPT TO:<@a.example,@b.example:user@c.example>", 0},
      {"RCPT TO:<@a.example:user@c.example>", 0},
      {"RCPT TO:<@a.example,b.example:user@c.example>", 501, "5.5.4"},
      {"RCPT TO:<@:user@c.example>", 501, "5.5.4"},
      {"RCPT TO:<@a.example user@c.example>", 501, "5.5.4"},
      // UTF-8 (RFC 6531)
      {"MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
       "cher.example> SMTPUTF8",
       0},
      {"MAIL FROM:<j\xc3@example.com>", 501, "5.5.4"},
      {"MAIL FROM:<a@ex\xc0\xafmple.com>", 501, "5.5.4"},
      // path length (RFC 5321 §4.5.3.1.3): 256 with the brackets
      {"RCPT TO:<" + local64 + "@" + label63 + "." + label63 + "." + std::string(61, 'e') + ">", 0},
      {"RCPT TO:<" + local64 + "@" + label63 + "." + label63 + "." + std::string(62, 'e') + ">",
       501, "5.5.4"},
      // MAIL parameters
      {"MAIL FROM:<a@example.com> SIZE=1000", 0},
      {"MAIL FROM:<a@example.com> size=1000 body=8bitmime smtputf8", 0},
      {"MAIL FROM:<a@example.com>  SIZE=1000   BODY=7BIT", 0},
      {"MAIL FROM:<a@example.com> BODY=BINARYMIME", 0},
      {"MAIL FROM:<a@example.com> SIZE=", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> SIZE", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> SIZE=12x", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> BODY=9BIT", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> BODY=7BIT BODY=7BIT", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> SMTPUTF8=yes", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> SMTPUTF8 SMTPUTF8", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> =x", 501, "5.5.4"},
      {"MAIL FROM:<a@example.com> AUTH=<>", 555, "5.5.4"},
      {"MAIL FROM:<a@example.com> RET=HDRS", 555, "5.5.4"},
      {"MAIL FROM:<a@example.com> X-FOO", 555, "5.5.4"},
      // RCPT TO
      {"RCPT TO:<b@example.com>", 0},
      {"rcpt to: <b@example.com>", 0},
      {"RCPT TO:<Postmaster>", 0},
      {"RCPT TO:<postMASTER>", 0},
      {"RCPT TO:<Postmaster@example.com>", 0},
      {"RCPT TO:<>", 501, "5.5.4"},
      {"RCPT TO:<user>", 501, "5.5.4"},
      {"RCPT TO:b@example.com", 501, "5.5.4"},
      {"RCPT FROM:<b@example.com>", 501, "5.5.4"},
      {"RCPT TO:<b@example.com> NOTIFY=NEVER", 555, "5.5.4"},
      {"RCPT TO:<b@example.com> SIZE=10", 555, "5.5.4"},
      // BDAT (RFC 3030 §2)
      {"BDAT 1000", 0},
      {"BDAT 0 LAST", 0},
      {"bdat 10 last", 0},
      {"BDAT", 501, "5.5.4"},
      {"BDAT x", 501, "5.5.4"},
      {"BDAT -1", 501, "5.5.4"},
      {"BDAT 10 FIRST", 501, "5.5.4"},
      {"BDAT 10 LAST x", 501, "5.5.4"},
      {"BDAT 99999999999999999999", 501, "5.5.4"},
  };
}

TEST(ParseCommand, AnswersEachLineWithTheExpectedReply) {
  for (const SyntaxCase& c : syntax_cases()) {
    const ParseResult r = parse_command(c.line);
    if (c.code == 0) {
      EXPECT_TRUE(r.command.has_value()) << c.line << " -> " << r.error.wire();
    } else {
      EXPECT_FALSE(r.command.has_value()) << c.line;
      EXPECT_EQ(r.error.code, c.code) << c.line << " -> " << r.error.wire();
      EXPECT_EQ(r.error.enhanced, c.enhanced) << c.line;
      EXPECT_FALSE(r.error.lines.empty() || r.error.lines[0].empty()) << c.line;
    }
  }
}

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; what a reply quotes of the command
// is cut and shown as text (the smtp_session fuzz target found a 535-octet 501).
TEST(ParseCommand, QuotedParametersAreShortAndText) {
  const std::string long_param(1000, 's');
  const ParseResult bad = parse_command("MAIL FROM:<> " + long_param + "\x1c\xff=x=y");
  ASSERT_FALSE(bad.command);
  EXPECT_EQ(bad.error.wire(), "501 5.5.4 Syntax error in parameter " + std::string(64, 's') +
                                  "...\r\n");
  const ParseResult control = parse_command("MAIL FROM:<> A\x1c\xff=1");
  EXPECT_EQ(control.error.wire(), "501 5.5.4 Syntax error in parameter A??" "=1\r\n");
  const ParseResult unknown = parse_command("MAIL FROM:<> X-" + long_param);
  EXPECT_EQ(unknown.error.wire(),
            "555 5.5.4 Unsupported parameter X-" + std::string(62, 's') + "...\r\n");
}

TEST(ParseCommand, RecognisesEveryVerb) {
  const std::vector<std::pair<std::string, Verb>> verbs = {
      {"HELO x", Verb::Helo},        {"EHLO x", Verb::Ehlo}, {"MAIL FROM:<>", Verb::Mail},
      {"RCPT TO:<a@b>", Verb::Rcpt}, {"DATA", Verb::Data},   {"BDAT 1", Verb::Bdat},
      {"RSET", Verb::Rset},          {"VRFY x", Verb::Vrfy}, {"EXPN x", Verb::Expn},
      {"HELP", Verb::Help},          {"NOOP", Verb::Noop},   {"QUIT", Verb::Quit},
      {"starttls", Verb::StartTls}};
  for (const auto& [line, verb] : verbs) {
    const ParseResult r = parse_command(line);
    ASSERT_TRUE(r.command) << line;
    EXPECT_EQ(r.command->verb, verb) << line;
    const std::string canonical =
        std::string(verb_name(verb)) + line.substr(verb_name(verb).size());
    EXPECT_EQ(parse_command(canonical).command->verb, verb) << canonical;
  }
}

TEST(PathGrammar, DomainsUpTo255OctetsWithLabelsUpTo63) {
  const std::string l63(63, 'd');
  const std::string d255 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'e') + ".x";
  EXPECT_EQ(d255.size(), 255U);
  EXPECT_TRUE(detail::valid_domain(d255));
  EXPECT_FALSE(detail::valid_domain("y" + d255));
  EXPECT_TRUE(
      detail::valid_domain("b\xc3\xbc"
                           "cher.example"));
  EXPECT_FALSE(detail::valid_domain(""));
  EXPECT_TRUE(detail::valid_address_literal("[IPv6:::1]"));
  EXPECT_FALSE(detail::valid_address_literal("[IPv6:]"));
  EXPECT_FALSE(detail::valid_address_literal("[1.2.3.04444]"));
}

TEST(PathGrammar, Utf8MustBeWellFormed) {
  EXPECT_TRUE(detail::valid_utf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(detail::valid_utf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(detail::valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(detail::valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(detail::valid_utf8("\xe2\x82"));          // truncated
}

TEST(ParseCommand, UnknownVerbTextIsThePostfixOne) {
  EXPECT_EQ(parse_command("FOO bar").error.wire(), "500 5.5.2 Error: command not recognized\r\n");
}

TEST(ParseCommand, SyntaxErrorSaysWhatIsExpected) {
  EXPECT_EQ(parse_command("MAIL FROM a@b").error.lines[0].rfind("Syntax: MAIL FROM:<address>", 0),
            0U);
  EXPECT_EQ(parse_command("RCPT TO:x").error.lines[0].rfind("Syntax: RCPT TO:<address>", 0), 0U);
  EXPECT_NE(parse_command("MAIL FROM:<a..b@c>").error.lines[0].find("local part"),
            std::string::npos);
}

TEST(ParseCommand, ExtractsMailFields) {
  const ParseResult r =
      parse_command("MAIL FROM: <\"john doe\"@example.com> SIZE=12345 BODY=8BITMIME SMTPUTF8");
  ASSERT_TRUE(r.command);
  const Command& c = *r.command;
  EXPECT_EQ(c.verb, Verb::Mail);
  EXPECT_EQ(c.path.local_part, "\"john doe\"");
  EXPECT_EQ(c.path.domain, "example.com");
  EXPECT_EQ(c.path.address(), "\"john doe\"@example.com");
  EXPECT_EQ(c.size, 12345U);
  EXPECT_EQ(c.body, Body::EightBitMime);
  EXPECT_TRUE(c.smtputf8);
}

TEST(ParseCommand, HugeSizeSaturatesInsteadOfFailing) {
  const ParseResult r = parse_command("MAIL FROM:<a@b> SIZE=99999999999999999999");
  ASSERT_TRUE(r.command);
  EXPECT_EQ(r.command->size, UINT64_MAX);
}

TEST(ParseCommand, NullPathAndPostmaster) {
  const ParseResult null_path = parse_command("MAIL FROM:<>");
  ASSERT_TRUE(null_path.command);
  EXPECT_TRUE(null_path.command->path.null());
  EXPECT_EQ(null_path.command->path.address(), "");
  const ParseResult pm = parse_command("RCPT TO:<postmaster>");
  ASSERT_TRUE(pm.command);
  EXPECT_TRUE(pm.command->path.postmaster());
  EXPECT_FALSE(pm.command->path.null());
  EXPECT_EQ(pm.command->path.address(), "postmaster");
  EXPECT_FALSE(parse_command("RCPT TO:<postmaster@x.example>").command->path.postmaster());
}

TEST(ParseCommand, DropsSourceRoutes) {
  const ParseResult r = parse_command("RCPT TO:<@a.example,@b.example:user@c.example>");
  ASSERT_TRUE(r.command);
  EXPECT_EQ(r.command->path.address(), "user@c.example");
}

TEST(ParseCommand, KeepsAddressLiterals) {
  EXPECT_EQ(parse_command("RCPT TO:<u@[IPv6:2001:db8::1]>").command->path.domain,
            "[IPv6:2001:db8::1]");
  EXPECT_EQ(parse_command("RCPT TO:<u@[192.0.2.1]>").command->path.domain, "[192.0.2.1]");
}

TEST(ParseCommand, ReportsNonAsciiPaths) {
  EXPECT_FALSE(parse_command("RCPT TO:<j\xc3\xb6rg@example.com>").command->path.ascii());
  EXPECT_TRUE(parse_command("RCPT TO:<jorg@example.com>").command->path.ascii());
}

TEST(ParseCommand, ExtractsArgumentsAndChunks) {
  EXPECT_EQ(parse_command("EHLO  mx.example.org ").command->argument, "mx.example.org");
  const ParseResult bdat = parse_command("BDAT 4096 LAST");
  ASSERT_TRUE(bdat.command);
  EXPECT_EQ(bdat.command->chunk_size, 4096U);
  EXPECT_TRUE(bdat.command->last_chunk);
  EXPECT_FALSE(parse_command("BDAT 1").command->last_chunk);
}

}  // namespace
}  // namespace mxgate::smtp
