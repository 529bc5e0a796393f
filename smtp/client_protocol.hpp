// The client side of SMTP, for relaying to the mailbox servers: reading (multi-line) replies
// from the downstream (RFC 5321 §4.2), splitting off enhanced status codes (RFC 2034), the
// EHLO capabilities we use, and Postfix's XCLIENT and XFORWARD commands, which tell a mailbox
// server who the original client was (Postfix XCLIENT_README, XFORWARD_README). Pure: no I/O;
// the caller owns the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace mxgate::smtp {

class ReplyParser {
 public:
  static constexpr std::size_t kMaxLine = 4096;  // generous: servers send long texts
  static constexpr std::size_t kMaxLines = 128;

  enum class Status { NeedMore, Complete, Malformed };
  struct Result {
    Status status = Status::NeedMore;
    std::size_t consumed = 0;  // octets the caller drops from the front of its buffer
  };

  // Looks at the front of `input`; on Complete, reply() holds the reply. Malformed: not SMTP
  // (bad code, inconsistent codes across lines, a line or reply over the limits). Stateless
  // between calls: consumed is 0 unless Complete, so the caller retries with more octets.
  // Lines end with <CRLF> (a bare <LF> is tolerated); enhanced codes are split off when they
  // match the reply's class (RFC 2034 §4).
  Result parse(std::string_view input);
  const Reply& reply() const { return reply_; }

 private:
  Reply reply_;
};

struct EhloCapabilities {
  bool pipelining = false;
  bool starttls = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool chunking = false;
  bool enhanced_status_codes = false;
  std::uint64_t size = 0;  // 0: no limit announced
  // The attributes announced after "XCLIENT" and "XFORWARD" (upper case); empty: not offered.
  std::vector<std::string> xclient;
  std::vector<std::string> xforward;
};

EhloCapabilities parse_ehlo(const Reply& reply);

// Who the original client was, as the session knows it.
struct ClientIdentity {
  std::string addr;  // its IP address ("" when unknown)
  std::string name;  // its verified (forward-confirmed) host name; "": none
  std::string helo;  // the HELO/EHLO argument; "": none given
  bool esmtp = false;
  friend bool operator==(const ClientIdentity&, const ClientIdentity&) = default;
};

// "XCLIENT NAME=... ADDR=... PROTO=... HELO=..." with only the attributes `offered`, values in
// xtext (RFC 3461 §4), an IPv6 address as "IPV6:...", and "[UNAVAILABLE]" for what is not
// known. "" when the server offers none of them. The server answers 220 and expects EHLO again.
std::string xclient_command(const ClientIdentity& client, const std::vector<std::string>& offered);
// "XFORWARD NAME=... ADDR=... PROTO=... HELO=... SOURCE=REMOTE", the same way; answered 250,
// it holds for the next transaction.
std::string xforward_command(const ClientIdentity& client, const std::vector<std::string>& offered);

}  // namespace mxgate::smtp
