// libFuzzer target of the SMTP line framer (smtp/line_framer.hpp, RFC 5321 §2.3.8, §4.5.3.1.4)
// and the command parser (smtp/command.hpp, RFC 5321 §4.1, RFC 1870, RFC 3030, RFC 6531).
// Byte 0 chooses the line-ending policy and the line limit, bytes 1-3 the sizes of the reads.
// The framer must give the same events and lines for the reads as for the whole stream, never
// a line with <CR> or <LF> or over the limit, and leave less than one line in the caller's
// buffer. Each line is parsed: an error reply has one line without <CR>/<LF> and a 5xx code;
// a MAIL or RCPT command written back as "MAIL FROM:<address> params" parses to the same path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/command.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/path.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace smtp = mxgate::smtp;
using mxgate::fuzz::check;

constexpr std::size_t kOptionBytes = 4;
constexpr std::size_t kSmallLine = 40;  // a limit short lines reach

struct Event {
  smtp::FrameEvent event;
  std::string line;
  friend bool operator==(const Event&, const Event&) = default;
};

// Feeds `reads` through a framer the way the session does (a buffer, consumed octets dropped).
std::vector<Event> frame(const std::vector<std::string_view>& reads, smtp::LineEndings policy,
                         std::size_t max_line) {
  smtp::LineFramer framer(policy, max_line);
  std::vector<Event> events;
  std::string buffer;
  for (const auto read : reads) {
    buffer.append(read);
    for (;;) {
      const smtp::FrameResult r = framer.next(buffer);
      check(r.consumed <= buffer.size());
      if (r.event == smtp::FrameEvent::Line) {
        check(r.line.size() + 2 <= max_line);
        check(r.line.find_first_of("\r\n") == std::string_view::npos);
      }
      if (r.event != smtp::FrameEvent::NeedMore) events.push_back({r.event, std::string(r.line)});
      buffer.erase(0, r.consumed);
      if (r.event == smtp::FrameEvent::NeedMore) break;
    }
    check(buffer.size() < max_line);  // never more than one line's worth
  }
  return events;
}

std::string parameters(const smtp::Command& c) {
  std::string out;
  if (c.size) out += " SIZE=" + std::to_string(*c.size);
  if (c.body == smtp::Body::SevenBit) out += " BODY=7BIT";
  if (c.body == smtp::Body::EightBitMime) out += " BODY=8BITMIME";
  if (c.body == smtp::Body::BinaryMime) out += " BODY=BINARYMIME";
  if (c.smtputf8) out += " SMTPUTF8";
  return out;
}

void check_command(std::string_view line) {
  const smtp::ParseResult parsed = smtp::parse_command(line);
  if (!parsed.command) {
    const smtp::Reply& error = parsed.error;
    check(error.code >= 500 && error.code <= 599 && error.lines.size() == 1);
    check(error.lines[0].find_first_of("\r\n") == std::string::npos);
    return;
  }
  const smtp::Command& c = *parsed.command;
  check(c.verb != smtp::Verb::Unknown);
  if (c.verb != smtp::Verb::Mail && c.verb != smtp::Verb::Rcpt) return;
  check(c.path.local_part.size() <= smtp::detail::kMaxLocalPart);
  check(c.path.domain.size() <= smtp::detail::kMaxDomain);
  const bool mail = c.verb == smtp::Verb::Mail;
  const std::string again =
      std::string(mail ? "MAIL FROM:<" : "RCPT TO:<") + c.path.address() + ">" + parameters(c);
  const smtp::ParseResult reparsed = smtp::parse_command(again);
  check(reparsed.command.has_value());
  check(reparsed.command->path.local_part == c.path.local_part);
  check(reparsed.command->path.domain == c.path.domain);
  check(reparsed.command->size == c.size && reparsed.command->body == c.body);
  check(reparsed.command->smtputf8 == c.smtputf8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kOptionBytes) return 0;
  const auto policy =
      (data[0] & 0x01) != 0 ? smtp::LineEndings::Normalize : smtp::LineEndings::Reject;
  const std::size_t max_line =
      (data[0] & 0x02) != 0 ? kSmallLine : smtp::LineFramer::kMaxCommandLine;
  const auto sizes = mxgate::fuzz::piece_sizes(data + 1, kOptionBytes - 1);
  const std::string_view stream = mxgate::fuzz::text(data + kOptionBytes, size - kOptionBytes);

  const auto events = frame({stream}, policy, max_line);
  check(events == frame(mxgate::fuzz::pieces(stream, sizes), policy, max_line));
  for (const auto& e : events) {
    if (e.event == smtp::FrameEvent::Line) check_command(e.line);
  }
  // The parser also takes what a framer would never hand it (it must not trust the framer).
  (void)smtp::parse_command(stream.substr(0, smtp::LineFramer::kMaxCommandLine));
  return 0;
}
