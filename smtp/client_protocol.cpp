// Client side of SMTP: replies (RFC 5321 §4.2, §4.2.1 multi-line form), enhanced status codes
// (RFC 2034 §4, RFC 3463 §2), EHLO keywords (RFC 1869 §4.3). See client_protocol.hpp.
#include "smtp/client_protocol.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <utility>

#include "smtp/path.hpp"

namespace mxgate::smtp {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1*3DIGIT at the front of `s`; returns how many.
std::size_t count_digits(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && n < 4 && is_digit(s[n])) ++n;
  return n > 3 ? 0 : n;
}

// status-code = class "." subject "." detail, class = "2"/"4"/"5" and the same as the reply
// code's first digit (RFC 3463 §2, RFC 2034 §4); followed by a space or the end of the line.
std::size_t enhanced_length(std::string_view text, int code) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') {
    return 0;
  }
  const std::size_t subject = count_digits(text.substr(2));
  if (subject == 0 || 2 + subject >= text.size() || text[2 + subject] != '.') return 0;
  const std::size_t detail = count_digits(text.substr(3 + subject));
  const std::size_t length = 3 + subject + detail;
  if (detail == 0 || (length < text.size() && text[length] != ' ')) return 0;
  return length;
}

std::uint64_t parse_size(std::string_view digits) {
  constexpr std::size_t kMaxDigits = 19;  // fits in 64 bits
  if (digits.empty() || digits.size() > kMaxDigits) return 0;
  std::uint64_t size = 0;
  for (const char c : digits) {
    if (!is_digit(c)) return 0;
    size = size * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return size;
}

struct ReplyLine {
  int code = 0;
  bool last = false;
  std::string_view text;
};

// Reply-line = Reply-code [ SP textstring ] / Reply-code "-" [ textstring ] (RFC 5321 §4.2).
bool parse_line(std::string_view line, ReplyLine& out) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return false;
  }
  out.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (out.code < 200 || out.code > 599) return false;
  if (line.size() == 3) {
    out.last = true;
    out.text = {};
    return true;
  }
  if (line[3] != ' ' && line[3] != '-') return false;
  out.last = line[3] == ' ';
  out.text = line.substr(4);
  return true;
}

}  // namespace

ReplyParser::Result ReplyParser::parse(std::string_view input) {
  // Stateless: parses from the front each time and consumes only a whole reply, so a caller
  // may simply retry with more octets. Replies are small; the rescan costs nothing.
  Reply reply;
  std::size_t pos = 0;
  while (true) {
    const std::string_view rest = input.substr(pos);
    const void* lf = std::memchr(rest.data(), '\n', rest.size());
    if (lf == nullptr) {
      if (rest.size() >= kMaxLine) return {Status::Malformed, 0};
      return {Status::NeedMore, 0};
    }
    const auto length = static_cast<std::size_t>(static_cast<const char*>(lf) - rest.data());
    if (length + 1 > kMaxLine) return {Status::Malformed, 0};
    std::string_view line = rest.substr(0, length);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // lenient: bare <LF>
    ReplyLine parsed;
    if (!parse_line(line, parsed)) return {Status::Malformed, 0};
    if (reply.lines.empty()) {
      reply.code = parsed.code;
      const std::size_t n = enhanced_length(parsed.text, parsed.code);
      if (n > 0) reply.enhanced.assign(parsed.text.substr(0, n));
    } else if (parsed.code != reply.code || reply.lines.size() >= kMaxLines) {
      return {Status::Malformed, 0};
    }
    std::string_view text = parsed.text;
    if (!reply.enhanced.empty()) {
      const std::size_t n = enhanced_length(text, reply.code);
      if (n > 0) text.remove_prefix(n < text.size() ? n + 1 : n);  // the code and its space
    }
    reply.lines.emplace_back(text);
    pos += length + 1;
    if (parsed.last) {
      reply_ = std::move(reply);
      return {Status::Complete, pos};
    }
  }
}

EhloCapabilities parse_ehlo(const Reply& reply) {
  EhloCapabilities caps;
  // The first line is the server's name and greeting (RFC 5321 §4.1.1.1).
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const std::string_view line = reply.lines[i];
    const std::size_t space = line.find(' ');
    const std::string_view keyword = line.substr(0, space);
    using detail::iequals;
    if (iequals(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (iequals(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (iequals(keyword, "8BITMIME")) {
      caps.eightbitmime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (iequals(keyword, "CHUNKING")) {
      caps.chunking = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (iequals(keyword, "XCLIENT") || iequals(keyword, "XFORWARD")) {
      auto& names = iequals(keyword, "XCLIENT") ? caps.xclient : caps.xforward;
      names.clear();
      std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
      while (!rest.empty()) {
        const std::size_t end = rest.find(' ');
        std::string name(rest.substr(0, end));
        for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!name.empty()) names.push_back(std::move(name));
        rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
      }
    } else if (iequals(keyword, "SIZE") && space != std::string_view::npos) {
      // RFC 1870 §4: "SIZE" [SP 1*20DIGIT]; anything unreadable means no announced limit.
      caps.size = parse_size(line.substr(space + 1));
    }
  }
  return caps;
}

namespace {

// What XCLIENT and XFORWARD take for an attribute the server does not know (XCLIENT_README).
constexpr std::string_view kUnavailable = "[UNAVAILABLE]";

// RFC 3461 §4: xtext; "+", "=" and octets outside 33..126 as "+" and two upper-case hex digits.
void append_xtext(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : value) {
    const auto octet = static_cast<unsigned char>(c);
    if (octet < 33 || octet > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[octet >> 4];
      out += kHex[octet & 0xf];
    } else {
      out += c;
    }
  }
}

std::string forward_command(std::string_view verb, const ClientIdentity& client,
                            const std::vector<std::string>& offered, bool source) {
  const auto known = [](std::string_view v) { return v.empty() ? kUnavailable : v; };
  const std::string addr = client.addr.find(':') != std::string::npos ? "IPV6:" + client.addr
                                                                      : client.addr;
  const std::pair<std::string_view, std::string_view> attributes[] = {
      {"NAME", known(client.name)},
      {"ADDR", known(addr)},
      {"PROTO", client.esmtp ? "ESMTP" : "SMTP"},
      {"HELO", known(client.helo)},
      {"SOURCE", source ? "REMOTE" : ""},
  };
  std::string out(verb);
  const std::size_t bare = out.size();
  for (const auto& [name, value] : attributes) {
    if (value.empty() || std::find(offered.begin(), offered.end(), name) == offered.end()) {
      continue;
    }
    out.append(" ").append(name).append("=");
    // Postfix takes its special value as it is; everything else, a HELO of "[x] ADDR=..." from
    // the client included, goes as xtext, so that no value can add an attribute of its own.
    if (value == kUnavailable) {
      out += value;
    } else {
      append_xtext(out, value);
    }
  }
  return out.size() == bare ? std::string() : out;
}

}  // namespace

std::string xclient_command(const ClientIdentity& client,
                            const std::vector<std::string>& offered) {
  return forward_command("XCLIENT", client, offered, false);
}

std::string xforward_command(const ClientIdentity& client,
                             const std::vector<std::string>& offered) {
  return forward_command("XFORWARD", client, offered, true);
}

}  // namespace mxgate::smtp
