// Trace information mxgate adds to what it relays and logs: message ids and the Received header
// (RFC 5321 §4.4, with the protocol keywords of RFC 3848 and RFC 6531 §3.7.3).
// Pure functions of their arguments; make_id() is thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace mxgate::smtp {

// A 16-character id, unique within this host over time (start time and a process counter).
std::string make_id();

struct ReceivedInfo {
  std::string helo;       // as the client gave it (escaped here)
  std::string client_ip;  // textual address
  std::string hostname;   // ours
  bool esmtp = false;
  bool utf8 = false;        // SMTPUTF8 transaction
  std::string tls_version;  // empty without TLS
  std::string tls_cipher;
  std::string id;
  std::string single_recipient;  // "for" clause when exactly one recipient, else empty
  std::chrono::system_clock::time_point when;
};

// The complete header field, folded, ending in CRLF.
std::string received_header(const ReceivedInfo& info);

// RFC 5322 §3.3 date-time in UTC: "Sat, 28 Nov 2026 16:19:43 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point when);

}  // namespace mxgate::smtp
