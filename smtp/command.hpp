// SMTP command parsing (RFC 5321 §4.1.1-4.1.3 syntax, RFC 1870 SIZE, RFC 6152 8BITMIME,
// RFC 3030 BDAT/BINARYMIME, RFC 6531 SMTPUTF8). Input is one command line without <CRLF>.
// Pure and total: never throws on client bytes; a malformed line yields the reply to send.
// Lenient like Postfix where it is harmless: trailing white space, and spaces between
// "FROM:"/"TO:" and the path. Strict where it matters: angle brackets, the path grammar and its
// lengths (§4.5.3.1), well-formed UTF-8, parameters we do not advertise (555 5.5.4). Source
// routes are checked and dropped; "<>" is accepted for MAIL only, "<Postmaster>" for RCPT only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace mxgate::smtp {

enum class Verb {
  Helo,
  Ehlo,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Vrfy,
  Expn,
  Help,
  Noop,
  Quit,
  StartTls,
  Unknown
};

enum class Body { Unspecified, SevenBit, EightBitMime, BinaryMime };

struct Path {
  std::string local_part;  // as sent, quoted form kept ("\"john doe\""); empty for <>
  std::string domain;      // "example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]"; may be empty
                           // only for <> and <Postmaster>
  bool null() const { return local_part.empty() && domain.empty(); }
  bool postmaster() const;      // <Postmaster> without domain, any case (§4.5.1)
  std::string address() const;  // "local@domain", "Postmaster" (as sent), or "" for <>
  bool ascii() const;           // no octet >= 0x80
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string argument;  // text after the verb (HELO/EHLO domain, VRFY/HELP/NOOP argument)
  Path path;             // MAIL FROM / RCPT TO; source routes are dropped (§4.1.2)
  std::optional<std::uint64_t> size;  // MAIL SIZE=
  Body body = Body::Unspecified;      // MAIL BODY=
  bool smtputf8 = false;              // MAIL SMTPUTF8
  std::uint64_t chunk_size = 0;       // BDAT
  bool last_chunk = false;            // BDAT ... LAST
};

struct ParseResult {
  std::optional<Command> command;  // set on success
  Reply error;                     // otherwise: 500 5.5.2 unknown, 501 5.5.4 syntax, 555 5.5.4
};

ParseResult parse_command(std::string_view line);

std::string_view verb_name(Verb verb);  // "MAIL", "STARTTLS", ...

}  // namespace mxgate::smtp
