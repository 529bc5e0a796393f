// Message content after DATA (RFC 5321 §4.1.4, §4.5.2) or in BDAT chunks (RFC 3030).
// DATA: only <CRLF>.<CRLF> ends the message; leading dots are removed (§4.5.2). A bare <CR> or
// bare <LF> never ends a message nor a line: with LineEndings::Reject the message is marked
// refused and everything up to the real <CRLF>.<CRLF> is consumed and discarded (so no SMTP
// smuggling variant can end it early or inject a second message); with Normalize it becomes
// <CRLF> in the output. A "." line ended by a bare <CR>/<LF>, or following one, is content:
// ".<LF>" comes out as ".<CRLF>" (the DotStuffer stuffs it again on relay). The size limit and
// the 1000-octet line limit (§4.5.3.1.6, counted on the wire, transparency dot included) are
// enforced while decoding; once an error is set, output stops but input is still consumed to
// the end, and the output is exactly the content before the offending octet.
// BDAT: the same checks without dot handling or terminator; finish() closes the content.
// Output is the message content with <CRLF> line endings and no transparency dots.
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/line_framer.hpp"
#include "smtp/reply.hpp"

namespace mxgate::smtp {

enum class DataError { None, TooBig, BareLineEnding, LineTooLong };

class DataDecoder {
 public:
  static constexpr std::size_t kMaxTextLine = 1000;  // RFC 5321 §4.5.3.1.6, with <CRLF>
  enum class Mode { Dot, Chunked };

  DataDecoder(Mode mode, std::uint64_t max_size, LineEndings policy,
              std::size_t max_line = kMaxTextLine);

  struct Result {
    std::size_t consumed = 0;  // octets of input used (Dot: stops right after <CRLF>.<CRLF>)
    bool done = false;         // Dot: the terminator was seen
  };
  // Decodes a prefix of `input`, appending content to `out` (nothing once error() is set).
  // Consumes all of `input` unless done: a line ending or "." split across calls is kept in
  // the decoder's state, so any split of the stream gives the same output. After done, feed()
  // consumes nothing. On an error the output is the content up to the offending octet.
  Result feed(std::string_view input, std::string& out);

  // Chunked mode, after the LAST chunk: appends <CRLF> when the content does not end with one.
  void finish(std::string& out);

  DataError error() const { return error_; }
  std::uint64_t size() const { return size_; }  // content octets produced (or that would be)
  bool done() const;                            // Dot: the terminator was seen

 private:
  struct Cursor;
  void line_start(Cursor& cur, bool hard);
  void mid_line(Cursor& cur);
  void pending_cr(Cursor& cur);
  void dot(Cursor& cur, bool hard);
  void dot_cr(Cursor& cur, bool hard);
  void bare_line_ending(Cursor& cur, std::size_t at, std::size_t resume);
  void check_line_length(Cursor& cur, std::size_t end);
  void flush(Cursor& cur, std::size_t to);
  void emit(std::string_view octets, std::string& out);
  void set_error(DataError error);

  Mode mode_;
  std::uint64_t max_size_;
  LineEndings policy_;
  std::size_t max_line_;
  DataError error_ = DataError::None;
  std::uint64_t size_ = 0;
  std::size_t line_length_ = 0;
  int state_ = 0;  // implementation-defined scanner state
};

// The reply for a message the decoder refused (RFC 5321 §4.5.3.1.10 552 for size, §2.3.8
// bare line endings, §4.5.3.1.6 line length). Empty Reply (code 0) for DataError::None.
Reply data_error_reply(DataError error);

// Dot-stuffs content for sending after DATA (RFC 5321 §4.5.2): a line that starts with '.'
// gets one more. Keeps state between calls; end() appends the terminator ".\r\n" (and a
// <CRLF> first when the content did not end with one) and makes the stuffer ready for the
// next message. Defensive: a line start is also assumed after a bare <LF> or bare <CR>, so even
// content that was not normalized cannot end the message early at a lenient downstream.
class DotStuffer {
 public:
  void feed(std::string_view content, std::string& out);
  void end(std::string& out);

 private:
  bool at_line_start_ = true;
  bool last_was_cr_ = false;
  bool empty_ = true;  // nothing fed since the last end()
  bool ends_with_crlf_ = false;
};

}  // namespace mxgate::smtp
