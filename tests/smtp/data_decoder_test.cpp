#include "smtp/data_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "split.hpp"

namespace mxgate::smtp {
namespace {

using testing::all_splits;
using testing::show;
using Mode = DataDecoder::Mode;

constexpr auto kReject = LineEndings::Reject;
constexpr auto kNormalize = LineEndings::Normalize;

struct Decoded {
  std::string out;
  bool done = false;
  DataError error = DataError::None;
  std::uint64_t size = 0;
  std::string rest;  // input left after the terminator
  bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << "{out=" << show(d.out) << " done=" << d.done
            << " error=" << static_cast<int>(d.error) << " size=" << d.size
            << " rest=" << show(d.rest) << "}";
}

// Feeds `pieces` as a session does (buffer, feed, drop consumed); finish() in Chunked mode.
Decoded decode(const std::vector<std::string_view>& pieces, LineEndings policy,
               Mode mode = Mode::Dot, std::uint64_t max_size = 1 << 20,
               std::size_t max_line = DataDecoder::kMaxTextLine) {
  DataDecoder decoder(mode, max_size, policy, max_line);
  Decoded d;
  std::string buffer;
  for (const std::string_view piece : pieces) {
    buffer.append(piece);
    if (d.done) continue;
    const DataDecoder::Result r = decoder.feed(buffer, d.out);
    if (!r.done) {
      EXPECT_EQ(r.consumed, buffer.size()) << "must consume all unless done";
    }
    buffer.erase(0, r.consumed);
    d.done = r.done;
  }
  if (mode == Mode::Chunked) decoder.finish(d.out);
  d.error = decoder.error();
  d.size = decoder.size();
  d.rest = buffer;
  return d;
}

Decoded decode(std::string_view input, LineEndings policy, Mode mode = Mode::Dot,
               std::uint64_t max_size = 1 << 20, std::size_t max_line = DataDecoder::kMaxTextLine) {
  return decode(std::vector<std::string_view>{input}, policy, mode, max_size, max_line);
}

// Checks that every split of `input` decodes like the whole, and returns that result.
Decoded decode_every_split(std::string_view input, LineEndings policy, Mode mode = Mode::Dot,
                           std::uint64_t max_size = 1 << 20,
                           std::size_t max_line = DataDecoder::kMaxTextLine) {
  const Decoded whole = decode(input, policy, mode, max_size, max_line);
  for (const auto& pieces : all_splits(input)) {
    EXPECT_EQ(decode(pieces, policy, mode, max_size, max_line), whole)
        << "input=" << show(input) << " pieces=" << pieces.size()
        << " first=" << pieces.front().size();
  }
  return whole;
}

// ---------------------------------------------------------------------------------------------
// SMTP smuggling: a fake end of data followed by a second transaction, then the real end.

constexpr std::string_view kInjected =
    "MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nForged\r\n";

struct SmuggleCase {
  std::string fake_end;       // between "Hi" and kInjected
  std::string reject_out;     // the content before the first bare ending
  std::string normalize_out;  // content with the bare endings turned into <CRLF>
};

std::vector<SmuggleCase> smuggle_cases() {
  const std::string tail(kInjected);
  return {
      {"\n.\n", "Hi", "Hi\r\n.\r\n" + tail},
      {"\n.\r\n", "Hi", "Hi\r\n.\r\n" + tail},
      {"\r\n.\n", "Hi\r\n.", "Hi\r\n.\r\n" + tail},
      {"\r.\r", "Hi", "Hi\r\n.\r\n" + tail},
      {"\r.\r\n", "Hi", "Hi\r\n.\r\n" + tail},
      {"\r\n.\r", "Hi\r\n.", "Hi\r\n.\r\n" + tail},
      {"\n.\r", "Hi", "Hi\r\n.\r\n" + tail},
      {"\r.\n", "Hi", "Hi\r\n.\r\n" + tail},
      {"\n..\n", "Hi", "Hi\r\n.\r\n" + tail},
      {"\r\n.\r\r\n", "Hi\r\n.", "Hi\r\n.\r\n\r\n" + tail},
      {"\n\n.\n\n", "Hi", "Hi\r\n\r\n.\r\n\r\n" + tail},
      {"\r\n\n.\r\n", "Hi\r\n", "Hi\r\n\r\n.\r\n" + tail},
  };
}

TEST(DataDecoder, NoSmugglingVariantEndsTheMessageEarly) {
  for (const SmuggleCase& c : smuggle_cases()) {
    const std::string input = "Hi" + c.fake_end + std::string(kInjected) + ".\r\nQUIT\r\n";
    const Decoded rejected = decode_every_split(input, kReject);
    EXPECT_TRUE(rejected.done) << show(c.fake_end);
    EXPECT_EQ(rejected.rest, "QUIT\r\n") << "terminator taken early: " << show(c.fake_end);
    EXPECT_EQ(rejected.error, DataError::BareLineEnding) << show(c.fake_end);
    EXPECT_EQ(rejected.out, c.reject_out) << show(c.fake_end);

    const Decoded normalized = decode_every_split(input, kNormalize);
    EXPECT_TRUE(normalized.done) << show(c.fake_end);
    EXPECT_EQ(normalized.rest, "QUIT\r\n") << "terminator taken early: " << show(c.fake_end);
    EXPECT_EQ(normalized.error, DataError::None) << show(c.fake_end);
    EXPECT_EQ(normalized.out, c.normalize_out) << show(c.fake_end);
  }
}

TEST(DataDecoder, BareEndingRightAfterDataIsNotAnEnd) {
  for (const std::string_view fake : {".\n", ".\r", ".\rX\r\n", "\n.\r\n"}) {
    const std::string input = std::string(fake) + "x\r\n.\r\nQUIT\r\n";
    EXPECT_EQ(decode_every_split(input, kReject).rest, "QUIT\r\n") << show(fake);
    EXPECT_EQ(decode_every_split(input, kNormalize).rest, "QUIT\r\n") << show(fake);
  }
}

// ---------------------------------------------------------------------------------------------
// Ordinary decoding.

struct DecodeCase {
  std::string input;
  std::string out;
  std::string rest;
};

TEST(DataDecoder, DecodesAndUnstuffsUpToTheTerminator) {
  const std::vector<DecodeCase> cases = {
      {".\r\n", "", ""},  // an empty message: the content start counts as a line start
      {".\r\nNEXT", "", "NEXT"},
      {"Hello\r\n.\r\n", "Hello\r\n", ""},
      {"a\r\nb\r\n\r\n.\r\nQUIT\r\n", "a\r\nb\r\n\r\n", "QUIT\r\n"},
      {"..\r\n.\r\n", ".\r\n", ""},
      {"...\r\n.\r\n", "..\r\n", ""},
      {"..hidden\r\n.\r\n", ".hidden\r\n", ""},
      {"a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", ""},
      {"x\r\n..\r\n.\r\n.\r\n", "x\r\n.\r\n", ".\r\n"},
      {"x\r\n.\r\n\r\n.\r\n", "x\r\n", "\r\n.\r\n"},
      {"no end yet\r\n.", "no end yet\r\n", ""},
      {"\r\n.\r\n", "\r\n", ""},
  };
  for (const DecodeCase& c : cases) {
    for (const LineEndings policy : {kReject, kNormalize}) {
      const Decoded d = decode_every_split(c.input, policy);
      EXPECT_EQ(d.out, c.out) << show(c.input);
      EXPECT_EQ(d.rest, c.rest) << show(c.input);
      EXPECT_EQ(d.error, DataError::None) << show(c.input);
      EXPECT_EQ(d.size, c.out.size()) << show(c.input);
    }
  }
}

TEST(DataDecoder, NormalizeTurnsBareEndingsIntoCrlf) {
  const Decoded d = decode_every_split("a\nb\rc\r\r\n..d\n.\r\n.\r\n", kNormalize);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.out, "a\r\nb\r\nc\r\n\r\n.d\r\n.\r\n");
  EXPECT_EQ(d.error, DataError::None);
}

TEST(DataDecoder, RejectKeepsConsumingToTheRealEnd) {
  const Decoded d = decode_every_split("ok\r\nbad\nline\r\n.more\r\n.\r\nQUIT\r\n", kReject);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.error, DataError::BareLineEnding);
  EXPECT_EQ(d.out, "ok\r\nbad");
  EXPECT_EQ(d.rest, "QUIT\r\n");
  EXPECT_EQ(d.size, std::string("ok\r\nbad\r\nline\r\nmore\r\n").size() - 2);
}

TEST(DataDecoder, DoesNothingOnceDone) {
  DataDecoder decoder(Mode::Dot, 100, kReject);
  std::string out;
  EXPECT_TRUE(decoder.feed(".\r\n", out).done);
  const DataDecoder::Result r = decoder.feed("more\r\n", out);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, 0U);
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(out, "");
}

// ---------------------------------------------------------------------------------------------
// Limits.

TEST(DataDecoder, StopsOutputPastTheSizeLimitButReadsToTheEnd) {
  const std::string input = "0123456789\r\nabc\r\n.\r\nQUIT\r\n";
  const Decoded fits = decode_every_split(input, kReject, Mode::Dot, 17);
  EXPECT_EQ(fits.error, DataError::None);
  EXPECT_EQ(fits.out, "0123456789\r\nabc\r\n");
  const Decoded over = decode_every_split(input, kReject, Mode::Dot, 16);
  EXPECT_EQ(over.error, DataError::TooBig);
  EXPECT_EQ(over.out, "0123456789\r\nabc\r");
  EXPECT_TRUE(over.done);
  EXPECT_EQ(over.rest, "QUIT\r\n");
  EXPECT_EQ(over.size, 17U);
}

TEST(DataDecoder, RefusesLinesOver1000Octets) {
  const std::string ok(998, 'a');
  const std::string long_line(999, 'b');
  const Decoded fits = decode(ok + "\r\n.\r\n", kReject);
  EXPECT_EQ(fits.error, DataError::None);
  EXPECT_EQ(fits.out, ok + "\r\n");
  const Decoded over = decode(ok + "\r\n" + long_line + "\r\n.\r\nQUIT\r\n", kReject);
  EXPECT_EQ(over.error, DataError::LineTooLong);
  EXPECT_EQ(over.out, ok + "\r\n" + std::string(998, 'b'));
  EXPECT_EQ(over.rest, "QUIT\r\n");
  // The transparency dot was on the wire and counts.
  const Decoded stuffed = decode("." + ok + "\r\n.\r\n", kNormalize);
  EXPECT_EQ(stuffed.error, DataError::LineTooLong);
  EXPECT_EQ(stuffed.out, std::string(997, 'a'));
}

TEST(DataDecoder, LimitsGiveTheSameResultForEverySplit) {
  // Small limits so that every split position is cheap to try.
  const std::string input = "abcdef\r\n.ghijkl\r\nmn\nop\r\n.\r\nQUIT\r\n";
  for (const LineEndings policy : {kReject, kNormalize}) {
    for (std::uint64_t max_size = 0; max_size < 30; ++max_size) {
      const Decoded d = decode_every_split(input, policy, Mode::Dot, max_size, 8);
      EXPECT_EQ(d.rest, "QUIT\r\n");
    }
  }
  // ".ghijkl" is 7 octets on the wire, 9 with its <CRLF>.
  EXPECT_EQ(decode(input, kNormalize, Mode::Dot, 100, 9).error, DataError::None);
  EXPECT_EQ(decode(input, kNormalize, Mode::Dot, 100, 8).error, DataError::LineTooLong);
}

// ---------------------------------------------------------------------------------------------
// BDAT chunks (RFC 3030): no dots, no terminator.

TEST(DataDecoder, ChunkedModeKeepsDotsAndClosesTheLastLine) {
  EXPECT_EQ(decode_every_split("..x\r\n.\r\nend", kReject, Mode::Chunked).out,
            "..x\r\n.\r\nend\r\n");
  EXPECT_EQ(decode_every_split("a\r\n", kReject, Mode::Chunked).out, "a\r\n");
  EXPECT_EQ(decode_every_split("", kReject, Mode::Chunked).out, "");
  const Decoded bare = decode_every_split("a\nb\r\n", kReject, Mode::Chunked);
  EXPECT_EQ(bare.error, DataError::BareLineEnding);
  EXPECT_EQ(bare.out, "a");
  EXPECT_EQ(decode_every_split("a\nb\rc\r", kNormalize, Mode::Chunked).out, "a\r\nb\r\nc\r\n");
  EXPECT_EQ(decode_every_split("ends in CR\r", kReject, Mode::Chunked).error,
            DataError::BareLineEnding);
}

TEST(DataDecoder, ChunkedModeJoinsCrlfAcrossChunks) {
  DataDecoder decoder(Mode::Chunked, 100, kReject);
  std::string out;
  EXPECT_EQ(decoder.feed("abc\r", out).consumed, 4U);
  EXPECT_EQ(decoder.feed("\ndef", out).consumed, 4U);
  decoder.finish(out);
  EXPECT_EQ(decoder.error(), DataError::None);
  EXPECT_EQ(out, "abc\r\ndef\r\n");
}

// ---------------------------------------------------------------------------------------------
// Against a plain reference: every input of up to 7 octets over {a . CR LF}, in every split.

Decoded reference(std::string_view input, LineEndings policy, Mode mode) {
  Decoded r;
  std::string_view content = input;
  if (mode == Mode::Dot) {
    const std::size_t k = ("\r\n" + std::string(input)).find("\r\n.\r\n");
    if (k != std::string::npos) {
      content = input.substr(0, k);
      r.rest = input.substr(k + 3);
      r.done = true;
    }
  }
  const auto unstuff = [&](std::string_view line) {
    return mode == Mode::Dot && line.size() > 1 && line[0] == '.' ? line.substr(1) : line;
  };
  std::size_t i = 0;
  while (i < content.size()) {
    std::size_t j = i;
    while (j < content.size() && content[j] != '\r' && content[j] != '\n') ++j;
    const std::string_view line = content.substr(i, j - i);
    const bool pending = j == content.size() || (content[j] == '\r' && j + 1 == content.size());
    if (pending && mode == Mode::Dot && !r.done) {
      if (line != ".") r.out += unstuff(line);  // a lone dot may still become the end
      break;
    }
    if (j == content.size()) {  // Chunked: finish() closes the line
      r.out += std::string(line) + "\r\n";
      break;
    }
    const bool crlf = content[j] == '\r' && j + 1 < content.size() && content[j + 1] == '\n';
    r.out += unstuff(line);
    if (!crlf && policy == kReject) {
      r.error = DataError::BareLineEnding;
      break;
    }
    r.out += "\r\n";
    i = j + (crlf ? 2 : 1);
  }
  if (mode == Mode::Chunked && r.error == DataError::None && !content.empty() &&
      content.back() == '\r' && policy == kReject) {
    r.error = DataError::BareLineEnding;
  }
  return r;
}

TEST(DataDecoder, MatchesAPlainReferenceOnEveryShortInput) {
  const std::string alphabet = "a.\r\n";
  std::vector<std::string> inputs = {""};
  for (std::size_t length = 1, start = 0; length <= 7; ++length) {
    const std::size_t end = inputs.size();
    for (std::size_t i = start; i < end; ++i) {
      for (const char c : alphabet) inputs.push_back(inputs[i] + c);
    }
    start = end;
  }
  for (const std::string& input : inputs) {
    for (const LineEndings policy : {kReject, kNormalize}) {
      for (const Mode mode : {Mode::Dot, Mode::Chunked}) {
        Decoded expected = reference(input, policy, mode);
        for (const auto& pieces : all_splits(input)) {
          Decoded got = decode(pieces, policy, mode);
          got.size = 0;
          ASSERT_EQ(got, expected)
              << "input=" << show(input) << " policy=" << static_cast<int>(policy)
              << " mode=" << static_cast<int>(mode) << " pieces=" << pieces.size();
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DotStuffer: what we send after DATA when relaying.

std::string stuff(const std::vector<std::string_view>& pieces) {
  DotStuffer stuffer;
  std::string out;
  for (const std::string_view piece : pieces) stuffer.feed(piece, out);
  stuffer.end(out);
  return out;
}

TEST(DotStuffer, DoublesLeadingDotsAndAppendsTheTerminator) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {"a", "a\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {"x\r\n.\r\n..y\r\n", "x\r\n..\r\n...y\r\n.\r\n"},
      {"a.b\r\n", "a.b\r\n.\r\n"},
      {".", "..\r\n.\r\n"},
      // Defensive: a lenient downstream must not see an end after a bare <LF> or <CR>.
      {"a\n.\r\n", "a\n..\r\n.\r\n"},
      {"a\r.\r\n", "a\r..\r\n.\r\n"},
      {"a\n", "a\n\r\n.\r\n"},
  };
  for (const auto& [content, wire] : cases) {
    for (const auto& pieces : all_splits(content)) {
      EXPECT_EQ(stuff(pieces), wire) << show(content) << " pieces=" << pieces.size();
    }
  }
}

TEST(DotStuffer, RoundTripsThroughTheDecoder) {
  const std::vector<std::string> lines = {"", ".", "..", ".a", "a", "a.b", "...."};
  for (const std::string& a : lines) {
    for (const std::string& b : lines) {
      for (const std::string& c : lines) {
        const std::string content = a + "\r\n" + b + "\r\n" + c;
        const std::string expected = c.empty() ? content : content + "\r\n";
        const std::string wire = stuff({content}) + "NEXT";
        const Decoded d = decode_every_split(wire, kReject);
        EXPECT_TRUE(d.done) << show(wire);
        EXPECT_EQ(d.out, expected) << show(wire);
        EXPECT_EQ(d.rest, "NEXT") << show(wire);
      }
    }
  }
}

TEST(DotStuffer, IsReadyForTheNextMessageAfterEnd) {
  DotStuffer stuffer;
  std::string out;
  stuffer.feed("a\r", out);
  stuffer.end(out);
  stuffer.feed(".b\r\n", out);
  stuffer.end(out);
  EXPECT_EQ(out, "a\r\r\n.\r\n..b\r\n.\r\n");
}

TEST(DataErrorReply, NamesEachRefusal) {
  EXPECT_EQ(data_error_reply(DataError::None).code, 0);
  EXPECT_EQ(data_error_reply(DataError::TooBig).wire(),
            "552 5.3.4 Error: message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(data_error_reply(DataError::BareLineEnding).code, 554);
  EXPECT_EQ(data_error_reply(DataError::LineTooLong).code, 554);
}

}  // namespace
}  // namespace mxgate::smtp
