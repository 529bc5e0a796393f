// The Message-ID of a message (RFC 5322 §3.6.4), for the log lines: the first Message-ID field
// of the top-level header section, unfolded (§2.2.3) and trimmed, read from the content as it
// streams in (any split of it gives the same answer). Reading stops at the end of the header
// section (the empty line, or a line that is no field, as the parser takes it). The value is
// client data, at most kMaxMessageId bytes kept: log it through common::escape.
// Pure; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxgate::content {

// RFC 5322 §2.1.1: a line is at most 998 characters; a longer id is cut there.
inline constexpr std::size_t kMaxMessageId = 998;

class MessageIdReader {
 public:
  // Decoded content (no transparency dots), in pieces.
  void feed(std::string_view content);
  // The field's value ("<id@host>"), empty when the header section had none (so far).
  const std::string& id() const { return id_; }
  void reset() { *this = MessageIdReader{}; }

 private:
  void line(std::string_view text);

  std::string line_;    // the line being read, at most kMaxMessageId bytes kept
  bool in_id_ = false;  // the field being read is the first Message-ID
  bool found_ = false;  // the first Message-ID field was seen
  bool done_ = false;
  std::string value_;
  std::string id_;
};

}  // namespace mxgate::content
