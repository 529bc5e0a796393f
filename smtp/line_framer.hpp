// Command-line framing for the SMTP server (RFC 5321 §2.3.8, §4.1.1, §4.5.3.1.4-5).
// A command line ends with <CRLF> only. A bare <LF> or bare <CR> is either refused
// (LineEndings::Reject: the line up to the next <CRLF> is discarded and reported) or taken as
// the end of the line (LineEndings::Normalize). A line longer than the limit (which counts the
// <CRLF>) is discarded up to its line ending (<CRLF>; with Normalize also a bare <LF> or <CR>)
// and reported once, when that ending arrives.
// Pure: no I/O; the caller owns the buffer. Stateful only across calls for a discarded line.
#pragma once

#include <cstddef>
#include <string_view>

namespace mxgate::smtp {

enum class LineEndings { Reject, Normalize };

enum class FrameEvent {
  NeedMore,  // no complete line at the front of the input; consumed may still be > 0
  Line,      // `line` holds one command line without its line ending
  TooLong,   // a line over the limit was discarded (consumed through its <CRLF>)
  BareLf,    // Reject policy: a line holding a bare <LF> was discarded
  BareCr,    // Reject policy: a line holding a bare <CR> was discarded
};

struct FrameResult {
  FrameEvent event = FrameEvent::NeedMore;
  std::size_t consumed = 0;  // octets of the input that the caller must drop from its buffer
  std::string_view line;     // valid for Line until the caller drops the consumed octets
};

class LineFramer {
 public:
  static constexpr std::size_t kMaxCommandLine = 512;  // RFC 5321 §4.5.3.1.4, with <CRLF>

  explicit LineFramer(LineEndings policy, std::size_t max_line = kMaxCommandLine);

  // Looks at the front of `input` (all buffered, unconsumed octets). Returns at most one event;
  // call again with the rest while it returns something other than NeedMore. While a refused or
  // over-long line is being discarded, NeedMore comes with consumed > 0 (everything but a
  // trailing <CR>), so the caller's buffer never holds more than one line.
  FrameResult next(std::string_view input);

 private:
  FrameResult start_discard(std::string_view input, FrameEvent event);
  FrameResult discard(std::string_view input);

  LineEndings policy_;
  std::size_t max_line_;
  bool discarding_ = false;  // inside an over-long or refused line
  FrameEvent discard_event_ = FrameEvent::TooLong;
};

}  // namespace mxgate::smtp
