// DATA and BDAT content decoding (RFC 5321 §4.1.4, §4.5.2, §2.3.8, §4.5.3.1.6; RFC 3030 §2).
// See data_decoder.hpp for the contract.
//
// The decoder is one state machine whose states are the positions where the meaning of the next
// octet depends on what came before: a line start (may hold a transparency dot or the
// terminator), the middle of a line (scanned with memchr to the next <CR> or <LF>), a <CR>
// whose <LF> is still to come, and a "." at a line start. A "hard" line start follows a real
// <CRLF> (or the start of the content); only there can "." <CRLF> end the message. A "soft"
// line start follows a bare <CR> or <LF> that Normalize turned into <CRLF>: a dot there is
// still unstuffed, but ".<CRLF>" is content. Octets copied unchanged are gathered in a span and
// appended at once; errors only stop the output, the machine keeps running to the terminator.
#include "smtp/data_decoder.hpp"

#include "smtp/eol_scanner.hpp"
#include "smtp/replies.hpp"

namespace mxgate::smtp {
namespace {

enum State : int {
  kLineStart = 0,  // after <CRLF> or at the start of the content
  kMidLine,
  kCr,             // a <CR> ended the previous input; it was not emitted yet
  kDot,            // "." at a hard line start, not emitted yet
  kDotCr,          // "." <CR> at a hard line start, neither emitted yet
  kSoftLineStart,  // Normalize: after a bare <CR> or <LF>
  kSoftDot,        // "." at a soft line start, not emitted yet
  kSoftDotCr,      // "." <CR> at a soft line start, neither emitted yet
  kDone,           // Dot: <CRLF>.<CRLF> seen
};

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kDotLine = ".\r\n";

}  // namespace

struct DataDecoder::Cursor {
  std::string_view in;
  std::string& out;
  detail::EolScanner scanner;
  std::size_t pos = 0;   // next octet to look at
  std::size_t span = 0;  // start of the octets in [span, pos) that go out unchanged
};

DataDecoder::DataDecoder(Mode mode, std::uint64_t max_size, LineEndings policy,
                         std::size_t max_line)
    : mode_(mode), max_size_(max_size), policy_(policy), max_line_(max_line < 3 ? 3 : max_line) {}

bool DataDecoder::done() const { return state_ == kDone; }

DataDecoder::Result DataDecoder::feed(std::string_view input, std::string& out) {
  if (state_ == kDone) return {0, true};
  Cursor cur{input, out, detail::EolScanner(input)};
  while (cur.pos < input.size() && state_ != kDone) {
    switch (state_) {
      case kLineStart:
        line_start(cur, true);
        break;
      case kSoftLineStart:
        line_start(cur, false);
        break;
      case kMidLine:
        mid_line(cur);
        break;
      case kCr:
        pending_cr(cur);
        break;
      case kDot:
        dot(cur, true);
        break;
      case kSoftDot:
        dot(cur, false);
        break;
      case kDotCr:
        dot_cr(cur, true);
        break;
      case kSoftDotCr:
        dot_cr(cur, false);
        break;
      case kDone:
        break;
    }
  }
  flush(cur, cur.pos);
  return {cur.pos, state_ == kDone};
}

void DataDecoder::finish(std::string& out) {
  if (state_ == kCr) {
    // The content ended with a <CR> whose <LF> never came: a bare <CR> (RFC 5321 §2.3.8).
    if (policy_ == LineEndings::Reject) set_error(DataError::BareLineEnding);
    emit(kCrlf, out);
  } else if (state_ == kMidLine) {
    emit(kCrlf, out);
  }
  state_ = kLineStart;
}

// RFC 5321 §4.5.2: a line starting with "." had a dot added by the sender; look at what follows.
void DataDecoder::line_start(Cursor& cur, bool hard) {
  line_length_ = 0;
  if (mode_ == Mode::Dot && cur.in[cur.pos] == '.') {
    flush(cur, cur.pos);
    cur.span = ++cur.pos;
    line_length_ = 1;  // the dot counts against the line limit: it was on the wire
    state_ = hard ? kDot : kSoftDot;
  } else {
    state_ = kMidLine;
  }
}

void DataDecoder::mid_line(Cursor& cur) {
  const std::size_t end = cur.scanner.next(cur.pos);
  check_line_length(cur, end);
  line_length_ += end - cur.pos;
  const std::size_t size = cur.in.size();
  if (end == size) {
    cur.pos = size;
  } else if (cur.in[end] == '\n') {
    bare_line_ending(cur, end, end + 1);
  } else if (end + 1 == size) {
    flush(cur, end);  // keep the <CR> until we know whether <LF> follows
    cur.pos = cur.span = size;
    state_ = kCr;
  } else if (cur.in[end + 1] == '\n') {
    cur.pos = end + 2;  // <CRLF> goes out with the span
    state_ = kLineStart;
  } else {
    bare_line_ending(cur, end, end + 1);
  }
}

void DataDecoder::pending_cr(Cursor& cur) {
  flush(cur, cur.pos);
  if (cur.in[cur.pos] == '\n') {
    emit(kCrlf, cur.out);
    cur.span = ++cur.pos;
    state_ = kLineStart;
  } else {
    bare_line_ending(cur, cur.pos, cur.pos);
  }
}

void DataDecoder::dot(Cursor& cur, bool hard) {
  const char c = cur.in[cur.pos];
  if (c == '\r') {
    cur.span = ++cur.pos;
    state_ = hard ? kDotCr : kSoftDotCr;
  } else if (c == '\n') {
    // "." then a bare <LF>: a line holding only a dot, never the terminator.
    emit(".", cur.out);
    bare_line_ending(cur, cur.pos, cur.pos + 1);
  } else {
    state_ = kMidLine;  // the dot is dropped; the rest of the line follows from here
  }
}

void DataDecoder::dot_cr(Cursor& cur, bool hard) {
  const char c = cur.in[cur.pos];
  if (c == '\n' && hard) {
    cur.span = ++cur.pos;  // <CRLF>.<CRLF>: the end of the data (RFC 5321 §4.1.1.4)
    state_ = kDone;
  } else if (c == '\n') {
    // After a bare line ending "." <CRLF> is an ordinary line holding a dot.
    emit(kDotLine, cur.out);
    cur.span = ++cur.pos;
    state_ = kLineStart;
  } else {
    // "." followed by a bare <CR>: a line holding only a dot.
    emit(".", cur.out);
    bare_line_ending(cur, cur.pos, cur.pos);
  }
}

// A bare <CR> or <LF> at `at`; scanning goes on at `resume` (RFC 5321 §2.3.8).
void DataDecoder::bare_line_ending(Cursor& cur, std::size_t at, std::size_t resume) {
  flush(cur, at);
  cur.pos = cur.span = resume;
  line_length_ = 0;
  if (policy_ == LineEndings::Reject) {
    set_error(DataError::BareLineEnding);
    state_ = kMidLine;  // not a line start: no terminator can follow a bare ending
  } else {
    emit(kCrlf, cur.out);
    state_ = kSoftLineStart;
  }
}

// RFC 5321 §4.5.3.1.6: at most 1000 octets per line with the <CRLF>.
void DataDecoder::check_line_length(Cursor& cur, std::size_t end) {
  const std::size_t limit = max_line_ - 2;
  if (error_ != DataError::None || line_length_ + (end - cur.pos) <= limit) return;
  const std::size_t room = limit > line_length_ ? limit - line_length_ : 0;
  flush(cur, cur.pos + room);
  set_error(DataError::LineTooLong);
}

void DataDecoder::flush(Cursor& cur, std::size_t to) {
  if (to > cur.span) emit(cur.in.substr(cur.span, to - cur.span), cur.out);
  cur.span = to;
}

void DataDecoder::emit(std::string_view octets, std::string& out) {
  const std::uint64_t before = size_;
  size_ += octets.size();
  if (error_ != DataError::None) return;
  if (size_ > max_size_) {
    out.append(octets.substr(0, static_cast<std::size_t>(max_size_ - before)));
    set_error(DataError::TooBig);
    return;
  }
  out.append(octets);
}

void DataDecoder::set_error(DataError error) {
  if (error_ == DataError::None) error_ = error;
}

Reply data_error_reply(DataError error) {
  switch (error) {
    case DataError::None:
      return {};
    case DataError::TooBig:
      return replies::message_too_big();
    case DataError::BareLineEnding:
      return replies::bare_line_ending_in_data();
    case DataError::LineTooLong:
      return replies::data_line_too_long();
  }
  return {};
}

}  // namespace mxgate::smtp
