// libFuzzer target of message content after DATA and in BDAT chunks (smtp/data_decoder.hpp:
// RFC 5321 §4.1.4, §4.5.2 dot-unstuffing, §2.3.8 bare line endings, §4.5.3.1.6 line length;
// RFC 3030 chunks) and of the dot-stuffer that relays it.
// Byte 0 chooses the mode (DATA or BDAT), the line-ending policy and small limits; bytes 1-3
// the sizes of the reads. Checked: the same output, error, size and end for the reads as for
// the whole stream; all input consumed unless the end was seen; under Reject no bare <CR>/<LF>
// comes out; what came out, dot-stuffed and decoded again, is the same content. The stuffer
// alone (bit 0x80): any bytes, stuffed in pieces, equal the whole stuffed at once, and decode
// to the bytes with a last <CRLF> added and every bare <CR>/<LF> made <CRLF>.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/data_decoder.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace smtp = mxgate::smtp;
using mxgate::fuzz::check;
using Decoder = smtp::DataDecoder;

constexpr std::size_t kOptionBytes = 4;
constexpr std::uint64_t kSmallSize = 200;
constexpr std::size_t kSmallLine = 30;
constexpr std::uint64_t kNoSizeLimit = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kNoLineLimit = std::numeric_limits<std::size_t>::max();

struct Decoded {
  std::string out;
  smtp::DataError error = smtp::DataError::None;
  std::uint64_t size = 0;
  std::size_t consumed = 0;
  bool done = false;
  friend bool operator==(const Decoded&, const Decoded&) = default;
};

Decoded decode(const std::vector<std::string_view>& reads, Decoder::Mode mode,
               std::uint64_t max_size, smtp::LineEndings policy, std::size_t max_line) {
  Decoder decoder(mode, max_size, policy, max_line);
  Decoded d;
  for (const auto read : reads) {
    const Decoder::Result r = decoder.feed(read, d.out);
    check(r.consumed <= read.size());
    check(r.done || r.consumed == read.size());
    d.consumed += r.consumed;
    d.done = r.done;
  }
  if (mode == Decoder::Mode::Chunked) decoder.finish(d.out);
  d.error = decoder.error();
  d.size = decoder.size();
  check(d.done == decoder.done());
  return d;
}

std::string stuff(const std::vector<std::string_view>& pieces) {
  smtp::DotStuffer stuffer;
  std::string out;
  for (const auto piece : pieces) stuffer.feed(piece, out);
  stuffer.end(out);
  return out;
}

// What a stuffed `content` reads back as: the stuffer's end() adds <CRLF> to non-empty content
// that does not end with one (after a bare <CR> too), then every bare <CR> or <LF> is <CRLF>.
std::string normalized(std::string_view bytes) {
  std::string content(bytes);
  if (!content.empty() && !content.ends_with("\r\n")) content += "\r\n";
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') {
      out += "\r\n";
      ++i;
    } else if (c == '\r' || c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

void check_stuffer(std::string_view content, const std::vector<std::size_t>& sizes) {
  const std::string wire = stuff({content});
  check(wire == stuff(mxgate::fuzz::pieces(content, sizes)));
  const Decoded back =
      decode({wire}, Decoder::Mode::Dot, kNoSizeLimit, smtp::LineEndings::Normalize, kNoLineLimit);
  check(back.done && back.consumed == wire.size() && back.error == smtp::DataError::None);
  check(back.out == normalized(content));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kOptionBytes) return 0;
  const std::uint8_t bits = data[0];
  const auto sizes = mxgate::fuzz::piece_sizes(data + 1, kOptionBytes - 1);
  const std::string_view input = mxgate::fuzz::text(data + kOptionBytes, size - kOptionBytes);
  if ((bits & 0x80) != 0) {
    check_stuffer(input, sizes);
    return 0;
  }
  const auto mode = (bits & 0x01) != 0 ? Decoder::Mode::Chunked : Decoder::Mode::Dot;
  const auto policy = (bits & 0x02) != 0 ? smtp::LineEndings::Normalize : smtp::LineEndings::Reject;
  const std::uint64_t max_size = (bits & 0x04) != 0 ? kSmallSize : kNoSizeLimit;
  const std::size_t max_line = (bits & 0x08) != 0 ? kSmallLine : Decoder::kMaxTextLine;

  const Decoded whole = decode({input}, mode, max_size, policy, max_line);
  check(whole == decode(mxgate::fuzz::pieces(input, sizes), mode, max_size, policy, max_line));
  if (mode == Decoder::Mode::Chunked) check(!whole.done);
  if (whole.error != smtp::DataError::None) return 0;
  check(whole.size <= max_size);
  const std::string& out = whole.out;
  check(out.empty() || out.ends_with("\r\n") || (mode == Decoder::Mode::Dot && !whole.done));
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r' && i + 1 < out.size()) check(out[i + 1] == '\n');
    if (out[i] == '\n') check(i > 0 && out[i - 1] == '\r');
  }
  if (mode == Decoder::Mode::Dot && !whole.done) return 0;
  // Relayed: stuffed, then read again by a downstream, it is the same content.
  const std::string wire = stuff({out});
  const Decoded again =
      decode({wire}, Decoder::Mode::Dot, kNoSizeLimit, smtp::LineEndings::Reject, kNoLineLimit);
  check(again.done && again.error == smtp::DataError::None && again.out == out);
  return 0;
}
