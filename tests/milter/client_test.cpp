// milter::Client against a scripted filter on a unix socket in a temporary directory (no ports):
// the negotiation, a step's answer, steps the filter does not answer, the end of the body with
// its changes, and every way a filter can fail (no answer in time, a broken response, a
// negotiation asking for too much, nobody listening). Timeouts run on a manual clock.
#include "milter/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <functional>
#include <random>

#include "io/manual_time.hpp"
#include "tests/milter/fake_filter.hpp"

namespace mxgate::milter {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::FakeFilter;
using testing::packet;
using testing::words;

// Negotiates version 6 with `actions` and `protocol`, then continues every step.
FakeFilter::Script plain(std::uint32_t actions_wanted = actions::kAddHeaders,
                         std::uint32_t protocol_wanted = 0) {
  return [=](const Packet& p) -> std::string {
    if (p.code == 'O') return packet('O', words(6, actions_wanted, protocol_wanted));
    if (p.code == 'D' || p.code == 'A' || p.code == 'Q') return "";
    return packet('c');
  };
}

class MilterClientTest : public testing::FilterLoop {
 protected:
  MilterClientTest() : FilterLoop("mxgate-milter-") {
    settings_.endpoint.unix_socket = true;
    settings_.endpoint.path = (dir_ / "filter.sock").string();
    settings_.command_timeout = 1s;
    settings_.connect_timeout = 1s;
  }

  ClientSettings settings_;
};

TEST_F(MilterClientTest, NegotiatesThenAStepGetsItsAnswer) {
  FakeFilter filter(io_, settings_.endpoint.path, plain());
  Client client(io_.get_executor(), settings_);
  ASSERT_FALSE(run(client.open()));
  EXPECT_EQ(client.agreement().actions, actions::kAddHeaders);
  std::string out;
  encode_helo(out, "client.example.org");
  const auto answer = run(client.step(Step::Helo, out, 1s));
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->kind, Answer::Kind::Continue);
  ASSERT_EQ(filter.received.size(), 2u);
  EXPECT_EQ(filter.received[0], (Packet{'O', words(6, Offer{}.actions, Offer{}.protocol)}));
  EXPECT_EQ(filter.received[1], (Packet{'H', "client.example.org\0"s}));
}

TEST_F(MilterClientTest, AStepTheFilterDoesNotAnswerIsNotWaitedFor) {
  FakeFilter filter(io_, settings_.endpoint.path, [](const Packet& p) -> std::string {
    if (p.code == 'O') {
      return packet('O', words(6, 0, protocol::kNoReplyHeader));
    }
    return p.code == 'L' ? "" : packet('c');
  });
  Client client(io_.get_executor(), settings_);
  ASSERT_FALSE(run(client.open()));
  std::string header;
  encode_header(header, "Subject", "hi");
  const auto answer = run(client.step(Step::Header, header, 1s));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, Answer::Kind::Continue);
  std::string eoh;
  encode_bare(eoh, Command::EndOfHeader);
  EXPECT_TRUE(run(client.step(Step::EndOfHeader, eoh, 1s)));
  EXPECT_EQ(filter.received.back().code, 'N');
}

TEST_F(MilterClientTest, TheEndOfTheBodyBringsTheChanges) {
  FakeFilter filter(io_, settings_.endpoint.path, [](const Packet& p) -> std::string {
    if (p.code == 'O') {
      return packet('O', words(6, actions::kAddHeaders | actions::kChangeBody, 0));
    }
    if (p.code != 'E') return packet('c');
    return packet('p') + packet('h', "X-Scanned\0yes\0"s) + packet('b', "new body\r\n") +
           packet('y', "550 5.7.1 Spam\0"s);
  });
  Client client(io_.get_executor(), settings_);
  ASSERT_FALSE(run(client.open()));
  std::string eob;
  encode_bare(eob, Command::EndOfBody);
  const auto answer = run(client.step(Step::EndOfBody, eob, 1s));
  ASSERT_TRUE(answer) << client.failure();
  EXPECT_EQ(answer->kind, Answer::Kind::Reject);
  EXPECT_EQ(answer->reply, (ReplyCode{550, {"5.7.1 Spam"}}));
  ASSERT_EQ(answer->header_changes.size(), 1u);
  EXPECT_EQ(answer->new_body, "new body\r\n");
}

TEST_F(MilterClientTest, NoAnswerInTimeIsATimeoutAndTheConnectionIsGivenUp) {
  FakeFilter filter(io_, settings_.endpoint.path, [](const Packet& p) -> std::string {
    return p.code == 'O' ? packet('O', words(6, 0, 0)) : "";
  });
  Client client(io_.get_executor(), settings_);
  ASSERT_FALSE(run(client.open()));
  std::optional<boost::system::result<Answer>> got;
  std::string mail;
  encode_mail(mail, "<a@example.org>");
  asio::co_spawn(io_, client.step(Step::Mail, mail, 2s),
                 [&](std::exception_ptr, boost::system::result<Answer> r) { got = std::move(r); });
  for (int i = 0; i < 200 && filter.received.size() < 2; ++i) turn();
  ASSERT_EQ(filter.received.size(), 2u);
  io::advance(io_, clock_, 1900ms);
  EXPECT_FALSE(got);
  io::advance(io_, clock_, 200ms);
  for (int i = 0; i < 200 && !got; ++i) turn();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error(), make_error_code(Error::timeout));
  EXPECT_FALSE(client.usable());
  EXPECT_NE(client.failure().find("2000 ms"), std::string::npos) << client.failure();
}

TEST_F(MilterClientTest, ABrokenResponseIsAProtocolError) {
  FakeFilter filter(io_, settings_.endpoint.path, [](const Packet& p) -> std::string {
    return p.code == 'O' ? packet('O', words(6, 0, 0)) : packet('y', "250 2.0.0 fine\0"s);
  });
  Client client(io_.get_executor(), settings_);
  ASSERT_FALSE(run(client.open()));
  std::string rcpt;
  encode_rcpt(rcpt, "<b@example.com>");
  const auto answer = run(client.step(Step::Rcpt, rcpt, 1s));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error(), make_error_code(Error::protocol));
  EXPECT_NE(client.failure().find("'y' at rcpt"), std::string::npos) << client.failure();
  EXPECT_FALSE(client.usable());
}

TEST_F(MilterClientTest, ANegotiationAskingForMoreIsRefused) {
  settings_.offer.protocol = protocol::kAll & ~protocol::kSkip;
  FakeFilter filter(io_, settings_.endpoint.path, plain(0, protocol::kSkip));
  Client client(io_.get_executor(), settings_);
  EXPECT_EQ(run(client.open()), make_error_code(Error::negotiation));
  EXPECT_FALSE(client.usable());
}

TEST_F(MilterClientTest, NobodyListeningIsAConnectError) {
  Client client(io_.get_executor(), settings_);
  EXPECT_EQ(run(client.open()), make_error_code(Error::connect));
  EXPECT_NE(client.failure().find("unix:"), std::string::npos);
}

}  // namespace
}  // namespace mxgate::milter
