#include "smtp/line_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "split.hpp"

namespace mxgate::smtp {
namespace {

using testing::all_splits;
using testing::show;

// Frames `pieces` as a session would: append each read to a buffer, take events until
// NeedMore, drop what was consumed. Returns the events as text ("L:<line>", "TooLong", ...).
std::vector<std::string> frame(LineFramer& framer, const std::vector<std::string_view>& pieces,
                               std::size_t* buffered = nullptr) {
  std::vector<std::string> events;
  std::string buffer;
  for (const std::string_view piece : pieces) {
    buffer.append(piece);
    while (true) {
      const FrameResult r = framer.next(buffer);
      EXPECT_LE(r.consumed, buffer.size());
      switch (r.event) {
        case FrameEvent::Line:
          events.push_back("L:" + std::string(r.line));
          break;
        case FrameEvent::TooLong:
          events.push_back("TooLong");
          break;
        case FrameEvent::BareLf:
          events.push_back("BareLf");
          break;
        case FrameEvent::BareCr:
          events.push_back("BareCr");
          break;
        case FrameEvent::NeedMore:
          break;
      }
      buffer.erase(0, r.consumed);
      if (r.event == FrameEvent::NeedMore) break;
    }
  }
  if (buffered != nullptr) *buffered = buffer.size();
  return events;
}

struct FrameCase {
  const char* name;
  LineEndings policy;
  std::string input;
  std::vector<std::string> events;
  std::size_t left = 0;  // octets still buffered at the end
};

std::vector<FrameCase> frame_cases() {
  const std::string max_line(510, 'a');  // 510 + CRLF = 512: the longest allowed
  const std::string too_long(511, 'b');
  const auto R = LineEndings::Reject;
  const auto N = LineEndings::Normalize;
  return {
      {"plain lines", R, "EHLO a\r\nNOOP\r\n", {"L:EHLO a", "L:NOOP"}},
      {"empty line", R, "\r\n", {"L:"}},
      {"partial line waits", R, "NOOP", {}, 4},
      {"trailing CR waits", R, "NOOP\r", {}, 5},
      {"trailing CR waits (normalize)", N, "NOOP\r", {}, 5},
      {"bare LF refused through CRLF",
       R,
       "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nNOOP\r\n",
       {"BareLf", "L:NOOP"}},
      {"bare CR refused through CRLF", R, "NO\rOP\r\nQUIT\r\n", {"BareCr", "L:QUIT"}},
      {"bare CR before CRLF", R, "NOOP\r\r\nQUIT\r\n", {"BareCr", "L:QUIT"}},
      {"bare LF then discard waits", R, "NOOP\nxyz", {}, 0},
      {"discard keeps a trailing CR", R, "NOOP\nxyz\r", {}, 1},
      {"bare LF ends line (normalize)", N, "NOOP\nQUIT\r\n", {"L:NOOP", "L:QUIT"}},
      {"bare CR ends line (normalize)", N, "NOOP\rQUIT\r\n", {"L:NOOP", "L:QUIT"}},
      {"CR CR LF (normalize)", N, "NOOP\r\r\n", {"L:NOOP", "L:"}},
      {"512 octets with CRLF fit", R, max_line + "\r\nNOOP\r\n", {"L:" + max_line, "L:NOOP"}},
      {"513 octets are too long", R, too_long + "\r\nNOOP\r\n", {"TooLong", "L:NOOP"}},
      {"too long reported once",
       R,
       too_long + too_long + too_long + "\r\nQUIT\r\n",
       {"TooLong", "L:QUIT"}},
      {"too long line still unterminated", R, too_long + "xyz", {}, 0},
      {"too long bare LF inside", R, too_long + "\nx\r\nQUIT\r\n", {"TooLong", "L:QUIT"}},
      {"too long (normalize, bare LF end)", N, too_long + "\nQUIT\r\n", {"TooLong", "L:QUIT"}},
      {"too long (normalize, bare CR end)", N, too_long + "\rQUIT\r\n", {"TooLong", "L:QUIT"}},
      {"510 then bare LF fits (normalize)",
       N,
       max_line + "\nQUIT\r\n",
       {"L:" + max_line, "L:QUIT"}},
  };
}

TEST(LineFramer, FramesEveryCaseTheSameForEverySplit) {
  for (const FrameCase& c : frame_cases()) {
    for (const auto& pieces : all_splits(c.input)) {
      LineFramer framer(c.policy);
      std::size_t left = 0;
      EXPECT_EQ(frame(framer, pieces, &left), c.events)
          << c.name << " input=" << show(c.input) << " pieces=" << pieces.size();
      if (pieces.size() == 1) {
        EXPECT_EQ(left, c.left) << c.name;
      }
    }
  }
}

TEST(LineFramer, DiscardingConsumesWithNeedMore) {
  LineFramer framer(LineEndings::Reject);
  const std::string junk(600, 'x');
  FrameResult r = framer.next(junk);
  EXPECT_EQ(r.event, FrameEvent::NeedMore);
  EXPECT_EQ(r.consumed, junk.size());  // the buffer never holds an over-long line
  r = framer.next("yy\r");
  EXPECT_EQ(r.event, FrameEvent::NeedMore);
  EXPECT_EQ(r.consumed, 2U);  // the <CR> stays: its <LF> may come next
  r = framer.next("\r\nNOOP\r\n");
  EXPECT_EQ(r.event, FrameEvent::TooLong);
  EXPECT_EQ(r.consumed, 2U);
  r = framer.next("NOOP\r\n");
  EXPECT_EQ(r.event, FrameEvent::Line);
  EXPECT_EQ(r.line, "NOOP");
}

TEST(LineFramer, HonoursACustomLimit) {
  LineFramer framer(LineEndings::Reject, 8);
  EXPECT_EQ(frame(framer, {"123456\r\n1234567\r\nok\r\n"}),
            (std::vector<std::string>{"L:123456", "TooLong", "L:ok"}));
}

}  // namespace
}  // namespace mxgate::smtp
