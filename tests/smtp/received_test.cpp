#include "smtp/received.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mxgate::smtp {
namespace {

ReceivedInfo sample() {
  ReceivedInfo info;
  info.helo = "client.example.org";
  info.client_ip = "192.0.2.7";
  info.hostname = "mx.example.net";
  info.esmtp = true;
  info.id = "ABCDEF0123456789";
  info.when = std::chrono::system_clock::from_time_t(1795882783);  // 2026-11-28 16:19:43 UTC
  return info;
}

TEST(ReceivedHeader, NamesHeloAddressHostProtocolAndId) {
  EXPECT_EQ(received_header(sample()),
            "Received: from client.example.org ([192.0.2.7])\r\n"
            "\tby mx.example.net (mxgate) with ESMTP id ABCDEF0123456789; "
            "Sat, 28 Nov 2026 16:19:43 +0000\r\n");
}

TEST(ReceivedHeader, ShowsTlsAndSingleRecipient) {
  auto info = sample();
  info.tls_version = "TLSv1.3";
  info.tls_cipher = "TLS_AES_256_GCM_SHA384";
  info.single_recipient = "user@example.com";
  EXPECT_EQ(received_header(info),
            "Received: from client.example.org ([192.0.2.7])\r\n"
            "\tby mx.example.net (mxgate) with ESMTPS id ABCDEF0123456789\r\n"
            "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)\r\n"
            "\tfor <user@example.com>; Sat, 28 Nov 2026 16:19:43 +0000\r\n");
}

TEST(ReceivedHeader, Utf8AndPlainSmtpKeywords) {
  auto info = sample();
  info.utf8 = true;
  EXPECT_NE(received_header(info).find("with UTF8SMTP id"), std::string::npos);
  info.utf8 = false;
  info.esmtp = false;
  EXPECT_NE(received_header(info).find("with SMTP id"), std::string::npos);
}

TEST(ReceivedHeader, ClientTextCannotBreakTheHeader) {
  auto info = sample();
  info.helo = "evil\r\nX-Injected: yes (x)";
  const auto header = received_header(info);
  EXPECT_EQ(header.find("\r\nX-Injected"), std::string::npos);
  EXPECT_NE(header.find("from evil??X-Injected:?yes??x?"), std::string::npos);
}

TEST(MakeId, IdsAreUniqueAndSixteenCharacters) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_id();
    EXPECT_EQ(id.size(), 16u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace mxgate::smtp
