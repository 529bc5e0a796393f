// libFuzzer target of a whole SMTP server session without sockets (tests/smtp/session_harness.hpp):
// client bytes go through the line framer, the command parser, the state machine and the
// DATA/BDAT decoder (RFC 5321 §4.1, §4.5.2; RFC 3030) as the session coroutine drives them.
// Byte 0 chooses the options (line-ending policy, small limits, STARTTLS, HELO decisions),
// bytes 1-3 the sizes of the reads the rest arrives in. The transcript and the accepted
// messages must be the same as for the stream read whole; every reply line is well formed and
// at most 512 octets (RFC 5321 §4.5.3.1.5); an accepted message ends with <CRLF>, stays within
// the size limit and, under the Reject policy, holds no bare <CR> or <LF>.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_util.hpp"
#include "tests/smtp/session_harness.hpp"

namespace {

namespace smtp = mxgate::smtp;
using mxgate::fuzz::check;

constexpr std::size_t kOptionBytes = 4;
constexpr std::uint64_t kSmallMessage = 300;
constexpr std::uint32_t kFewRecipients = 3;
constexpr std::uint32_t kFewErrors = 5;
constexpr std::size_t kMaxReplyLine = 512;  // RFC 5321 §4.5.3.1.5, with <CRLF>

smtp::ServerOptions options_from(std::uint8_t bits) {
  smtp::ServerOptions options;
  options.hostname = "mx.example.net";
  if ((bits & 0x02) != 0) options.max_message_size = kSmallMessage;
  options.decide_helo = (bits & 0x04) != 0;
  options.starttls_available = (bits & 0x08) != 0;
  options.tls_required = (bits & 0x10) != 0;
  if ((bits & 0x20) != 0) options.max_recipients = kFewRecipients;
  if ((bits & 0x40) != 0) options.max_errors = kFewErrors;
  return options;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

void check_transcript(std::string_view transcript) {
  while (!transcript.empty()) {
    const std::size_t end = transcript.find("\r\n");
    check(end != std::string_view::npos && end + 2 <= kMaxReplyLine && end >= 4);
    const std::string_view line = transcript.substr(0, end);
    check(digit(line[0]) && digit(line[1]) && digit(line[2]) && line[0] >= '2' && line[0] <= '5');
    check(line[3] == ' ' || line[3] == '-');
    check(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    transcript.remove_prefix(end + 2);
  }
}

void check_message(const std::string& message, const smtp::ServerOptions& options,
                   smtp::LineEndings policy) {
  check(message.size() <= options.max_message_size + 2);  // BDAT's finish() may add <CRLF>
  if (!message.empty()) check(message.ends_with("\r\n"));
  if (policy != smtp::LineEndings::Reject) return;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r') check(i + 1 < message.size() && message[i + 1] == '\n');
    if (message[i] == '\n') check(i > 0 && message[i - 1] == '\r');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kOptionBytes) return 0;
  const auto options = options_from(data[0]);
  const auto policy =
      (data[0] & 0x01) != 0 ? smtp::LineEndings::Normalize : smtp::LineEndings::Reject;
  const auto sizes = mxgate::fuzz::piece_sizes(data + 1, kOptionBytes - 1);
  const std::string_view stream = mxgate::fuzz::text(data + kOptionBytes, size - kOptionBytes);

  smtp::testing::SessionHarness whole(options, policy);
  whole.feed(stream);
  smtp::testing::SessionHarness split(options, policy);
  for (const auto piece : mxgate::fuzz::pieces(stream, sizes)) split.feed(piece);

  check(whole.transcript() == split.transcript());
  check(whole.messages() == split.messages());
  check(whole.closed() == split.closed());
  check_transcript(whole.transcript());
  for (const auto& message : whole.messages()) check_message(message, options, policy);
  check(whole.protocol().recipients() <= options.max_recipients);
  return 0;
}
