// libFuzzer target of the client side of SMTP (smtp/client_protocol.hpp): what a downstream
// server sends back. The input is a stream of replies (RFC 5321 §4.2, multi-line §4.2.1,
// enhanced codes RFC 2034); each complete one is also read as an EHLO reply (RFC 1869), and its
// capabilities turn a client identity into XCLIENT and XFORWARD commands.
// Checked: a complete reply has a 2xx-5xx code and consumes what it parsed, and not one octet
// less (every shorter prefix is NeedMore); its wire form reads back to the same reply; the
// XCLIENT/XFORWARD commands we write from the server's words and the client's HELO hold no
// <CR>, <LF> or NUL, and only the attributes we meant, once each.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "smtp/client_protocol.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace smtp = mxgate::smtp;
using mxgate::fuzz::check;

constexpr std::size_t kMaxReplies = 64;  // bounded work per input

bool same(const smtp::Reply& a, const smtp::Reply& b) {
  return a.code == b.code && a.enhanced == b.enhanced && a.lines == b.lines;
}

// Whether every line of the wire form fits ReplyParser's line limit.
bool fits(std::string_view wire) {
  for (std::size_t at = 0; at < wire.size();) {
    const std::size_t end = wire.find('\n', at);
    if (end + 1 - at > smtp::ReplyParser::kMaxLine) return false;
    at = end + 1;
  }
  return true;
}

// "VERB NAME=x ADDR=y ...": each word after the verb one known attribute, each at most once, so
// that no value can add an attribute of its own (a HELO of "[x] ADDR=10.0.0.1" must not).
void check_attributes(std::string_view command) {
  if (command.empty()) return;
  std::set<std::string_view> seen;
  std::size_t at = command.find(' ');
  check(at != std::string_view::npos);
  while (at != std::string_view::npos) {
    const std::size_t end = command.find(' ', at + 1);
    const std::string_view word = command.substr(at + 1, end - at - 1);
    const std::string_view name = word.substr(0, word.find('='));
    check(name.size() < word.size() && seen.insert(name).second);
    check(name == "NAME" || name == "ADDR" || name == "PROTO" || name == "HELO" ||
          name == "SOURCE");
    at = end;
  }
}

void check_commands(const smtp::Reply& reply) {
  const smtp::EhloCapabilities caps = smtp::parse_ehlo(reply);
  // The identity's fields come from the client (HELO) and DNS: any octets.
  smtp::ClientIdentity client;
  client.addr = "2001:db8::1";
  client.name = reply.lines.empty() ? "" : reply.lines.front();
  client.helo = reply.text();
  client.esmtp = caps.pipelining;
  for (const auto& command : {smtp::xclient_command(client, caps.xclient),
                              smtp::xforward_command(client, caps.xforward)}) {
    check(command.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    check_attributes(command);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = mxgate::fuzz::text(data, size);
  smtp::ReplyParser parser;
  for (std::size_t n = 0; n < kMaxReplies; ++n) {
    const smtp::ReplyParser::Result r = parser.parse(input);
    if (r.status != smtp::ReplyParser::Status::Complete) {
      check(r.consumed == 0);
      return 0;
    }
    const smtp::Reply reply = parser.reply();
    check(r.consumed > 0 && r.consumed <= input.size());
    check(reply.code >= 200 && reply.code <= 599 && !reply.lines.empty());
    check(reply.lines.size() <= smtp::ReplyParser::kMaxLines);
    check(parser.parse(input.substr(0, r.consumed - 1)).status ==
          smtp::ReplyParser::Status::NeedMore);

    const std::string wire = reply.wire();
    if (fits(wire)) {
      smtp::ReplyParser again;
      const auto back = again.parse(wire);
      check(back.status == smtp::ReplyParser::Status::Complete && back.consumed == wire.size());
      check(same(again.reply(), reply));
    }
    check_commands(reply);
    input.remove_prefix(r.consumed);
  }
  return 0;
}
