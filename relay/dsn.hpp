// Delivery status notifications (RFC 3464, multipart/report of RFC 6522) for queue mode: the
// message the original sender gets when recipients failed for good or their message expired.
// Pure.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "storage/spool.hpp"

namespace mxgate::relay {

// The client_ip of mail mxgate queued itself (a DSN, a DMARC aggregate report): it has no
// client, and it is the only mail that may leave through [outbound] (outbound.hpp). Never an
// address, so no client's mail has it.
inline constexpr std::string_view kOwnMail = "local";

inline bool is_own_mail(const storage::Envelope& envelope) {
  return envelope.client_ip == kOwnMail;
}

// A DSN of ours: own mail from the null sender.
inline bool is_own_bounce(const storage::Envelope& envelope) {
  return envelope.mail_from.empty() && is_own_mail(envelope);
}

// The DSN for the Failed recipients of `original` (the others are not mentioned), from
// MAILER-DAEMON@<hostname> to original.mail_from, with the original header section attached
// (text/rfc822-headers, at most 64 KiB). `reason` explains expiry ("" for 5xx replies).
std::string make_dsn(const storage::Envelope& original, std::string_view original_body,
                     std::string_view hostname, std::string_view id,
                     std::chrono::system_clock::time_point now);

}  // namespace mxgate::relay
