// SMTP replies: a three-digit code, an enhanced status code (RFC 2034, RFC 3463) and one or
// more text lines, written as a multi-line reply when there are several (RFC 5321 §4.2.1).
// Pure value type: no I/O, no allocation beyond the strings it holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mxgate::smtp {

struct Reply {
  int code = 0;               // 200..599
  std::string enhanced;       // "2.0.0", or empty (greeting, EHLO lines, and RFC 2034 §3)
  std::vector<std::string> lines;

  static Reply make(int code, std::string_view enhanced, std::string_view text);

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  int klass() const { return code / 100; }

  // The text of all lines joined with "; " (for logs).
  std::string text() const;

  // Wire form: "250-a\r\n250 b\r\n"; each line carries the enhanced code when present.
  std::string wire() const;
  void append_wire(std::string& out) const;
};

}  // namespace mxgate::smtp
