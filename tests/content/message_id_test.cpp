#include "content/message_id.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxgate::content {
namespace {

// The id read from `content` fed whole, and split at every byte in two.
std::string read_split(const std::string& content) {
  MessageIdReader whole;
  whole.feed(content);
  for (std::size_t cut = 0; cut <= content.size(); ++cut) {
    MessageIdReader split;
    split.feed(std::string_view(content).substr(0, cut));
    split.feed(std::string_view(content).substr(cut));
    EXPECT_EQ(split.id(), whole.id()) << "cut at " << cut;
  }
  return whole.id();
}

struct Case {
  const char* name;
  std::string content;
  std::string id;
};

class MessageIdCases : public testing::TestWithParam<Case> {};

TEST_P(MessageIdCases, ReadsTheFirstMessageIdOfTheHeader) {
  EXPECT_EQ(read_split(GetParam().content), GetParam().id);
}

INSTANTIATE_TEST_SUITE_P(
    MessageId, MessageIdCases,
    testing::Values(
        Case{"plain", "From: a@b\r\nMessage-ID: <1@b>\r\n\r\nbody\r\n", "<1@b>"},
        Case{"any case", "message-id:<2@b>\r\n\r\n", "<2@b>"},
        Case{"folded", "Message-Id:\r\n  <3@b>\r\nSubject: x\r\n\r\n", "<3@b>"},
        Case{"last field", "Subject: x\r\nMessage-ID: <4@b>\r\n\r\n", "<4@b>"},
        Case{"no empty line", "Message-ID: <5@b>", ""},
        Case{"ended by the content", "Message-ID: <5@b>\r\n", "<5@b>"},
        Case{"first one wins", "Message-ID: <6@b>\r\nMessage-ID: <7@b>\r\n\r\n", "<6@b>"},
        Case{"none", "Subject: x\r\n\r\nMessage-ID: <8@b>\r\n", ""},
        Case{"not in the body", "Subject: x\r\nno colon here\r\nMessage-ID: <9@b>\r\n\r\n", ""},
        Case{"space before colon", "Message-ID : <10@b>\r\n\r\n", "<10@b>"},
        Case{"bare LF", "Message-ID: <11@b>\n\n", "<11@b>"}),
    [](const auto& test) {
      std::string name = test.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(MessageId, KeepsAtMostTheBound) {
  MessageIdReader reader;
  reader.feed("Message-ID: <" + std::string(5000, 'x') + ">\r\n \t" + std::string(5000, 'y') +
              "\r\n\r\n");
  EXPECT_LE(reader.id().size(), kMaxMessageId);
  EXPECT_TRUE(reader.id().starts_with("<xxx"));
}

TEST(MessageId, ResetForgetsTheLastMessage) {
  MessageIdReader reader;
  reader.feed("Message-ID: <1@b>\r\n\r\n");
  reader.reset();
  reader.feed("Subject: x\r\n\r\n");
  EXPECT_EQ(reader.id(), "");
}

}  // namespace
}  // namespace mxgate::content
