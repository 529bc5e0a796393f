// Delivery status notifications (RFC 3464 / RFC 6522): the report names each failed
// recipient with its status and the downstream's reply, and carries the original header.
#include "relay/dsn.hpp"

#include <gtest/gtest.h>

namespace mxgate::relay {
namespace {

TEST(Dsn, ReportsFailedRecipientsWithTheirStatusAndTheOriginalHeader) {
  storage::Envelope e;
  e.id = "00000000000000AB";
  e.mail_from = "alice@example.org";
  e.created_ms = 1'795'000'000'000;
  e.recipients = {
      {"ok@example.com", storage::SpoolRecipient::State::Delivered, "250 2.0.0 Ok"},
      {"gone@example.com", storage::SpoolRecipient::State::Failed, "550 5.1.1 No such user"},
      {"late@example.com", storage::SpoolRecipient::State::Failed, ""}};
  const std::string body = "Subject: hello\r\nFrom: alice@example.org\r\n\r\nsecret body\r\n";
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'100));
  const std::string dsn = make_dsn(e, body, "mx.example.net", "00000000000000CD", now);

  EXPECT_EQ(dsn.find("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"), 0u);
  EXPECT_NE(dsn.find("To: <alice@example.org>\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Content-Type: multipart/report; report-type=delivery-status;\r\n"
                     "\tboundary=\"00000000000000CD/mx.example.net\"\r\n"),
            std::string::npos);
  EXPECT_NE(dsn.find("Reporting-MTA: dns; mx.example.net\r\nX-Mxgate-Queue-ID: 00000000000000AB"),
            std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\n"
                     "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user\r\n"),
            std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; late@example.com\r\nAction: failed\r\n"
                     "Status: 4.4.7\r\n"),
            std::string::npos);
  EXPECT_EQ(dsn.find("ok@example.com"), std::string::npos) << "delivered ones are not reported";
  EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n"
                     "From: alice@example.org\r\n"),
            std::string::npos);
  EXPECT_EQ(dsn.find("secret body"), std::string::npos) << "headers only, not the content";
  EXPECT_TRUE(dsn.ends_with("\r\n--00000000000000CD/mx.example.net--\r\n"));
}

}  // namespace
}  // namespace mxgate::relay
