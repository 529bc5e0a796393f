// SMTP command parsing: verbs (RFC 5321 §4.1.1), MAIL/RCPT paths and ESMTP parameters
// (§4.1.2), SIZE (RFC 1870 §3), BODY (RFC 6152 §2, RFC 3030 §3), SMTPUTF8 (RFC 6531 §3.4),
// BDAT (RFC 3030 §2). See command.hpp. Never throws on client bytes.
#include "smtp/command.hpp"

#include <array>
#include <limits>
#include <utility>

#include "smtp/path.hpp"
#include "smtp/replies.hpp"

namespace mxgate::smtp {
namespace {

using detail::iequals;

constexpr std::array<std::pair<std::string_view, Verb>, 13> kVerbs{{
    {"HELO", Verb::Helo},
    {"EHLO", Verb::Ehlo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"BDAT", Verb::Bdat},
    {"RSET", Verb::Rset},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"STARTTLS", Verb::StartTls},
}};

constexpr std::size_t kMaxDigits = 20;  // RFC 1870 §3
constexpr std::string_view kMailSyntax = "Syntax: MAIL FROM:<address> [SIZE=n] [BODY=8BITMIME]";
constexpr std::string_view kRcptSyntax = "Syntax: RCPT TO:<address>";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

ParseResult unknown_command() { return {std::nullopt, replies::unknown_command()}; }

ParseResult syntax_error(std::string_view text) {
  return {std::nullopt, replies::syntax_error(text)};
}

ParseResult path_error(std::string_view syntax, std::string_view why) {
  return syntax_error(std::string(syntax) + " (" + std::string(why) + ")");
}

ParseResult unsupported_parameter(std::string_view keyword) {
  return {std::nullopt, replies::unsupported_parameter(keyword)};
}

ParseResult ok(Command command) { return {std::move(command), {}}; }

// 1*20DIGIT (RFC 1870 §3 size-value); saturates at UINT64_MAX so that "SIZE=99999999999999999999"
// is simply too big.
std::optional<std::uint64_t> parse_number(std::string_view s, bool saturate) {
  if (s.empty() || s.size() > kMaxDigits) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) {
      if (!saturate) return std::nullopt;
      value = kMax;
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
// esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) (RFC 5321 §4.1.2, RFC 6531 §3.3).
bool valid_parameter(std::string_view keyword, std::string_view value, bool has_value) {
  if (keyword.empty() || !is_alnum(keyword.front())) return false;
  for (const char c : keyword) {
    if (!is_alnum(c) && c != '-') return false;
  }
  if (!has_value) return true;
  if (value.empty()) return false;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c == '=' || c == 127) return false;
  }
  return detail::valid_utf8(value);
}

// One MAIL parameter into `command`; an error result when it is refused.
std::optional<ParseResult> apply_mail_parameter(std::string_view keyword, std::string_view value,
                                                bool has_value, Command& command) {
  if (iequals(keyword, "SIZE")) {  // RFC 1870 §3: SIZE=1*20DIGIT
    const auto size = has_value ? parse_number(value, true) : std::nullopt;
    if (!size || command.size) return syntax_error("Syntax error in SIZE parameter");
    command.size = size;
  } else if (iequals(keyword, "BODY")) {  // RFC 6152 §2, RFC 3030 §3
    if (command.body != Body::Unspecified) return syntax_error("Duplicate BODY parameter");
    if (iequals(value, "7BIT")) {
      command.body = Body::SevenBit;
    } else if (iequals(value, "8BITMIME")) {
      command.body = Body::EightBitMime;
    } else if (iequals(value, "BINARYMIME")) {
      command.body = Body::BinaryMime;
    } else {
      return syntax_error("Syntax: BODY=7BIT|8BITMIME");
    }
  } else if (iequals(keyword, "SMTPUTF8")) {  // RFC 6531 §3.4: no value
    if (has_value || command.smtputf8) return syntax_error("Syntax error in SMTPUTF8 parameter");
    command.smtputf8 = true;
  } else {
    return unsupported_parameter(keyword);
  }
  return std::nullopt;
}

// Mail-parameters / Rcpt-parameters: esmtp-param *(SP esmtp-param), after the path.
std::optional<ParseResult> parse_parameters(std::string_view rest, Command& command) {
  if (rest.empty()) return std::nullopt;
  if (!is_space(rest.front())) return syntax_error("Syntax error after address");
  while (!(rest = trim_left(rest)).empty()) {
    std::size_t end = 0;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    const std::string_view param = rest.substr(0, end);
    rest.remove_prefix(end);
    const std::size_t eq = param.find('=');
    const bool has_value = eq != std::string_view::npos;
    const std::string_view keyword = param.substr(0, eq);
    const std::string_view value = has_value ? param.substr(eq + 1) : std::string_view{};
    if (!valid_parameter(keyword, value, has_value)) {
      return syntax_error("Syntax error in parameter " + replies::shown_text(param));
    }
    if (command.verb == Verb::Rcpt) return unsupported_parameter(keyword);  // none advertised
    if (auto error = apply_mail_parameter(keyword, value, has_value, command)) return error;
  }
  return std::nullopt;
}

// "MAIL FROM:<path> [params]" / "RCPT TO:<path> [params]". Like Postfix, spaces between the
// colon and the path are tolerated (RFC 5321 §4.1.1.2 has none).
ParseResult parse_transaction_command(Command command, std::string_view prefix,
                                      std::string_view syntax) {
  const std::string_view arg = command.argument;
  if (arg.size() < prefix.size() || !iequals(arg.substr(0, prefix.size()), prefix)) {
    return syntax_error(syntax);
  }
  const std::string_view text = trim_left(arg.substr(prefix.size()));
  if (text.empty() || text.front() != '<') return syntax_error(syntax);
  const bool mail = command.verb == Verb::Mail;
  const detail::PathOptions options{.allow_null = mail, .allow_postmaster = !mail};
  const detail::PathResult path = detail::parse_path(text, options, command.path);
  if (path.used == 0) return path_error(syntax, path.error);
  if (auto error = parse_parameters(text.substr(path.used), command)) return std::move(*error);
  return ok(std::move(command));
}

// "BDAT" SP chunk-size [ SP end-marker ], end-marker = "LAST" (RFC 3030 §2).
ParseResult parse_bdat(Command command) {
  std::string_view arg = command.argument;
  std::size_t end = 0;
  while (end < arg.size() && !is_space(arg[end])) ++end;
  const auto size = parse_number(arg.substr(0, end), false);
  const std::string_view marker = trim_left(arg.substr(end));
  if (!size || (!marker.empty() && !iequals(marker, "LAST"))) {
    return syntax_error("Syntax: BDAT <size> [LAST]");
  }
  command.chunk_size = *size;
  command.last_chunk = !marker.empty();
  return ok(std::move(command));
}

Verb lookup_verb(std::string_view name) {
  for (const auto& [text, verb] : kVerbs) {
    if (iequals(name, text)) return verb;
  }
  return Verb::Unknown;
}

}  // namespace

ParseResult parse_command(std::string_view line) {
  // Trailing white space is common and harmless; Postfix tolerates it too.
  line = trim_right(line);
  const std::size_t space = line.find(' ');
  Command command;
  command.verb = lookup_verb(line.substr(0, space));
  if (space != std::string_view::npos) command.argument = trim_left(line.substr(space + 1));
  const bool has_argument = !command.argument.empty();
  switch (command.verb) {
    case Verb::Unknown:
      return unknown_command();
    case Verb::Helo:
    case Verb::Ehlo:
      if (!has_argument)
        return syntax_error(std::string("Syntax: ") + std::string(verb_name(command.verb)) +
                            " hostname");
      return ok(std::move(command));
    case Verb::Mail:
      return parse_transaction_command(std::move(command), "FROM:", kMailSyntax);
    case Verb::Rcpt:
      return parse_transaction_command(std::move(command), "TO:", kRcptSyntax);
    case Verb::Bdat:
      return parse_bdat(std::move(command));
    case Verb::Vrfy:
    case Verb::Expn:
      if (!has_argument)
        return syntax_error(std::string("Syntax: ") + std::string(verb_name(command.verb)) +
                            " address");
      return ok(std::move(command));
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::StartTls:  // RFC 3207 §4: STARTTLS takes no parameters
      if (has_argument)
        return syntax_error(std::string("Syntax: ") + std::string(verb_name(command.verb)) +
                            " takes no arguments");
      return ok(std::move(command));
    case Verb::Help:
    case Verb::Noop:
      return ok(std::move(command));
  }
  return unknown_command();
}

std::string_view verb_name(Verb verb) {
  for (const auto& [text, v] : kVerbs) {
    if (v == verb) return text;
  }
  return "UNKNOWN";
}

bool Path::postmaster() const {
  return domain.empty() && detail::iequals(local_part, "postmaster");
}

std::string Path::address() const {
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

bool Path::ascii() const {
  for (const std::string* part : {&local_part, &domain}) {
    for (const char c : *part) {
      if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
  }
  return true;
}

}  // namespace mxgate::smtp
