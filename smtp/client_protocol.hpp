// The client side of SMTP, for relaying to the mailbox servers: reading (multi-line) replies
// from the downstream (RFC 5321 §4.2), splitting off enhanced status codes (RFC 2034), and the
// EHLO capabilities we use. Pure: no I/O; the caller owns the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

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
};

EhloCapabilities parse_ehlo(const Reply& reply);

}  // namespace mxgate::smtp
