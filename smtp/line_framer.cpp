// Command-line framing (RFC 5321 §2.3.8 line endings, §4.5.3.1.4 command line length).
// See line_framer.hpp for the contract. Scans with memchr; a discarded line is reported once,
// when its <CRLF> arrives, so that the reply to it stays in step with pipelined commands.
#include "smtp/line_framer.hpp"

#include <cstring>

namespace mxgate::smtp {
namespace {

std::size_t find_char(std::string_view input, std::size_t from, char c) {
  if (from >= input.size()) return std::string_view::npos;
  const void* p = std::memchr(input.data() + from, c, input.size() - from);
  return p == nullptr ? std::string_view::npos
                      : static_cast<std::size_t>(static_cast<const char*>(p) - input.data());
}

// First <CR> or <LF> in input[0, limit).
std::size_t find_line_end(std::string_view input, std::size_t limit) {
  const std::string_view window = input.substr(0, limit);
  const std::size_t cr = find_char(window, 0, '\r');
  const std::size_t lf = find_char(window.substr(0, cr), 0, '\n');
  return lf != std::string_view::npos ? lf : cr;
}

}  // namespace

LineFramer::LineFramer(LineEndings policy, std::size_t max_line)
    : policy_(policy), max_line_(max_line < 2 ? 2 : max_line) {}

FrameResult LineFramer::next(std::string_view input) {
  if (discarding_) return discard(input);
  // The line content may hold at most max_line_ - 2 octets: the limit counts <CRLF>.
  const std::size_t max_content = max_line_ - 2;
  const std::size_t end = find_line_end(input, max_content + 1);
  if (end == std::string_view::npos) {
    if (input.size() <= max_content) return {};
    return start_discard(input, FrameEvent::TooLong);
  }
  if (input[end] == '\r') {
    // A <CR> as the last buffered octet may be the first half of <CRLF>.
    if (end + 1 == input.size()) return {};
    if (input[end + 1] == '\n') return {FrameEvent::Line, end + 2, input.substr(0, end)};
    if (policy_ == LineEndings::Reject) return start_discard(input, FrameEvent::BareCr);
    return {FrameEvent::Line, end + 1, input.substr(0, end)};  // Postfix-like: bare CR ends it
  }
  if (policy_ == LineEndings::Reject) return start_discard(input, FrameEvent::BareLf);
  return {FrameEvent::Line, end + 1, input.substr(0, end)};
}

FrameResult LineFramer::start_discard(std::string_view input, FrameEvent event) {
  discarding_ = true;
  discard_event_ = event;
  return discard(input);
}

// Drops octets through the next line ending: <CRLF>, or with Normalize also a bare <LF> or <CR>.
// A trailing <CR> is left in the caller's buffer because its <LF> may be next; nothing else is
// kept, so a client cannot grow the buffer.
FrameResult LineFramer::discard(std::string_view input) {
  if (policy_ == LineEndings::Normalize) {
    const std::size_t end = find_line_end(input, input.size());
    if (end != std::string_view::npos && end + 1 < input.size()) {
      const bool crlf = input[end] == '\r' && input[end + 1] == '\n';
      discarding_ = false;
      return {discard_event_, end + (crlf ? 2 : 1), {}};
    }
    if (end != std::string_view::npos && input[end] == '\n') {
      discarding_ = false;
      return {discard_event_, end + 1, {}};
    }
  }
  std::size_t from = 0;
  for (;;) {
    const std::size_t lf = find_char(input, from, '\n');
    if (lf == std::string_view::npos) break;
    if (lf > 0 && input[lf - 1] == '\r') {
      discarding_ = false;
      return {discard_event_, lf + 1, {}};
    }
    from = lf + 1;
  }
  const bool keep_cr = !input.empty() && input.back() == '\r';
  return {FrameEvent::NeedMore, input.size() - (keep_cr ? 1 : 0), {}};
}

}  // namespace mxgate::smtp
