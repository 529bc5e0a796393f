#include "relay/dsn.hpp"

#include <fmt/format.h>

#include "smtp/received.hpp"

namespace mxgate::relay {
namespace {

constexpr std::size_t kMaxHeaderCopy = 64 * 1024;

// The enhanced status of a reply text "550 5.1.1 ...", or a default by class (RFC 3463).
std::string status_of(std::string_view reply) {
  if (reply.size() > 9 && reply[3] == ' ' && reply[5] == '.' &&
      (reply[4] == '4' || reply[4] == '5')) {
    const auto end = reply.find(' ', 4);
    return std::string(reply.substr(4, end == std::string_view::npos ? end : end - 4));
  }
  return "5.0.0";
}

std::string_view header_section(std::string_view body) {
  const auto end = body.find("\r\n\r\n");
  std::string_view header = end == std::string_view::npos ? body : body.substr(0, end + 2);
  if (header.size() > kMaxHeaderCopy) {
    header = header.substr(0, kMaxHeaderCopy);
    header = header.substr(0, header.rfind("\r\n") + 2);
  }
  return header;
}

}  // namespace

std::string make_dsn(const storage::Envelope& original, std::string_view original_body,
                     std::string_view hostname, std::string_view id,
                     std::chrono::system_clock::time_point now) {
  const std::string boundary = fmt::format("{}/{}", id, hostname);
  const auto arrival =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(original.created_ms));
  std::string failed_lines, fields;
  for (const auto& r : original.recipients) {
    if (r.state != storage::SpoolRecipient::State::Failed) continue;
    const std::string why = r.last_reply.empty() ? "delivery time expired" : r.last_reply;
    failed_lines += fmt::format("<{}>: {}\r\n", r.address, why);
    fields += fmt::format(
        "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\n{}", r.address,
        r.last_reply.empty() ? std::string("4.4.7") : status_of(r.last_reply),
        r.last_reply.empty() ? std::string()
                             : fmt::format("Diagnostic-Code: smtp; {}\r\n", r.last_reply));
  }
  std::string out;
  out += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", hostname);
  out += fmt::format("To: <{}>\r\n", original.mail_from);
  out += "Subject: Undelivered Mail Returned to Sender\r\n";
  out += fmt::format("Date: {}\r\n", smtp::rfc5322_date(now));
  out += fmt::format("Message-ID: <{}.dsn@{}>\r\n", id, hostname);
  out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
  out += "MIME-Version: 1.0\r\n";
  out += fmt::format(
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n\r\n",
      boundary);
  out += "This is a MIME-encapsulated message.\r\n\r\n";
  out += fmt::format("--{}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary);
  out += fmt::format("This is the mail system at host {}.\r\n\r\n", hostname);
  out += "Your message could not be delivered to one or more recipients.\r\n\r\n";
  out += failed_lines;
  out += fmt::format("\r\n--{}\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
  out += fmt::format("Reporting-MTA: dns; {}\r\nX-Mxgate-Queue-ID: {}\r\nArrival-Date: {}\r\n",
                     hostname, original.id, smtp::rfc5322_date(arrival));
  out += fields;
  out += fmt::format("\r\n--{}\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
  out += header_section(original_body);
  out += fmt::format("\r\n--{}--\r\n", boundary);
  return out;
}

}  // namespace mxgate::relay
