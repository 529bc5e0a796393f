#include "smtp/received.hpp"

#include <fmt/format.h>

#include <atomic>
#include <ctime>

namespace mxgate::smtp {
namespace {

// Client-controlled text in a header must not break the header: keep printable ASCII minus
// the characters that end a comment or a domain.
std::string header_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\' && c != ';') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('?');
    }
  }
  return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string make_id() {
  static const auto start = static_cast<std::uint64_t>(std::time(nullptr));
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  return fmt::format("{:08X}{:08X}", static_cast<std::uint32_t>(start),
                     static_cast<std::uint32_t>(n));
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buf, n);
}

std::string received_header(const ReceivedInfo& info) {
  // RFC 3848 / RFC 6531: SMTP, ESMTP, ESMTPS, UTF8SMTP, UTF8SMTPS.
  std::string with = info.utf8 ? "UTF8SMTP" : (info.esmtp ? "ESMTP" : "SMTP");
  if (!info.tls_version.empty() && info.esmtp) with += "S";
  std::string out =
      fmt::format("Received: from {} ([{}])\r\n\tby {} (mxgate) with {} id {}",
                  header_safe(info.helo), info.client_ip, info.hostname, with, info.id);
  if (!info.tls_version.empty()) {
    out += fmt::format("\r\n\t(version={} cipher={})", info.tls_version, info.tls_cipher);
  }
  if (!info.single_recipient.empty()) {
    out += fmt::format("\r\n\tfor <{}>", header_safe(info.single_recipient));
  }
  out += fmt::format("; {}\r\n", rfc5322_date(info.when));
  return out;
}

}  // namespace mxgate::smtp
