// The complaint report parser (RFC 5965): the fields of the message/feedback-report part, with
// folded lines, quoted boundaries and CRLF or LF; what is not a report says why.
#include "postmaster/arf.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mxgate::postmaster {
namespace {

std::string report(std::string_view fields, std::string_view boundary = "frontier",
                   bool quoted = true) {
  return fmt::format(
      "From: <abuse@provider.example>\r\n"
      "Subject: FW: Earn money\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=feedback-report;\r\n"
      "  boundary={1}{0}{1}\r\n"
      "\r\n"
      "--{0}\r\n"
      "Content-Type: text/plain; charset=\"US-ASCII\"\r\n\r\n"
      "This is an email abuse report.\r\n\r\n"
      "--{0}\r\n"
      "Content-Type: message/feedback-report\r\n\r\n"
      "{2}"
      "\r\n--{0}\r\n"
      "Content-Type: message/rfc822\r\n\r\n"
      "From: <somespammer@example.net>\r\nSubject: Earn money\r\n\r\nSpam\r\n"
      "--{0}--\r\n",
      boundary, quoted ? "\"" : "", fields);
}

TEST(Arf, ReadsTheFeedbackReportFields) {
  std::string error;
  const auto parsed = parse_arf(report("Feedback-Type: abuse\r\n"
                                       "User-Agent: SomeGenerator/1.0\r\n"
                                       "Version: 1\r\n"
                                       "Original-Mail-From: <somespammer@Example.NET>\r\n"
                                       "Source-IP: 192.0.2.1\r\n"
                                       "Reported-Domain: example.net\r\n"
                                       "Reported-Domain:\r\n  other.example.\r\n"),
                                error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->feedback_type, "abuse");
  EXPECT_EQ(parsed->source_ip, "192.0.2.1");
  EXPECT_EQ(parsed->original_mail_from, "somespammer@Example.NET");
  EXPECT_EQ(parsed->domains, (std::vector<std::string>{"example.net", "other.example"}));
}

TEST(Arf, AnUnquotedBoundaryAndBareLineFeedsWork) {
  std::string text = report("Feedback-Type: fraud\r\nSource-IP: 2001:db8::7\r\n", "b1", false);
  std::string lf;
  for (char c : text) {
    if (c != '\r') lf.push_back(c);
  }
  std::string error;
  const auto parsed = parse_arf(lf, error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->feedback_type, "fraud");
  EXPECT_EQ(parsed->source_ip, "2001:db8::7");
  EXPECT_TRUE(parsed->domains.empty());
}

TEST(Arf, WhatIsNotAReportSaysWhy) {
  std::string error;
  EXPECT_FALSE(parse_arf("Subject: hi\r\n\r\nhello\r\n", error));
  EXPECT_NE(error.find("multipart/report"), std::string::npos);
  EXPECT_FALSE(parse_arf(report("User-Agent: x\r\n"), error));
  EXPECT_NE(error.find("Feedback-Type"), std::string::npos);
  std::string no_part = report("Feedback-Type: abuse\r\n");
  no_part.replace(no_part.find("message/feedback-report"), 23, "text/plain");
  EXPECT_FALSE(parse_arf(no_part, error));
  EXPECT_NE(error.find("no message/feedback-report part"), std::string::npos);
  EXPECT_FALSE(parse_arf(std::string(kMaxArfBytes + 1, 'x'), error));
  for (std::size_t cut = 0; cut < 400; cut += 7) {
    (void)parse_arf(report("Feedback-Type: abuse\r\n").substr(0, cut), error);  // no crash
  }
}

}  // namespace
}  // namespace mxgate::postmaster
