// The milter address grammar of Postfix and Sendmail: inet:HOST:PORT, inet:PORT@HOST,
// inet6:[ADDRESS]:PORT, unix:/path, and what is refused.
#include "common/socket_endpoint.hpp"

#include <gtest/gtest.h>

namespace mxgate::common {
namespace {

TEST(SocketEndpoint, ParsesPostfixAndSendmailForms) {
  std::string why;
  auto a = parse_socket_endpoint("inet:127.0.0.1:11332", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 11332);
  EXPECT_EQ(a->text(), "inet:127.0.0.1:11332");
  auto b = parse_socket_endpoint("inet:8894@127.0.0.1", why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(b->port, 8894);
  auto c = parse_socket_endpoint("inet6:[::1]:9000", why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->text(), "inet:[::1]:9000");
  auto d = parse_socket_endpoint("unix:/run/rspamd/milter.sock", why);
  ASSERT_TRUE(d) << why;
  EXPECT_TRUE(d->unix_socket);
  EXPECT_EQ(d->text(), "unix:/run/rspamd/milter.sock");
  for (const char* bad :
       {"tcp:127.0.0.1:1", "inet:localhost:25", "inet:127.0.0.1:0", "inet:127.0.0.1:70000",
        "inet:127.0.0.1", "unix:relative.sock", "", "inet:[::1:9000"}) {
    EXPECT_FALSE(parse_socket_endpoint(bad, why)) << bad;
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace mxgate::common
