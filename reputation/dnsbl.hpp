// DNS block- and allow-list rules (issue 4), pure: query names, the return-code filters of
// `[[dnsbl]]` entries, and what an answer means. The DNS lookup itself is the check's job.
//
// Query names (RFC 5782 §2.1, §2.3): IPv4 octets reversed ("7.2.0.192.<zone>"), IPv6 nibbles
// reversed (32 labels), a domain prepended as is ("example.com.<zone>", RHSBL, §2.2). URI
// blocklists (Spamhaus DBL, SURBL, URIBL style) take a linked domain like an RHSBL and an IP
// literal like a DNSBL.
// Answers (RFC 5782 §2.1): A records in 127.0.0.0/8 are listings. Anything else — an address
// outside 127/8 (a hijacking resolver) or in 127.255.255.0/24 (the error codes large lists use
// for "rate limited", "public resolver", "typo in query") — is a zone error, never a listing.
// URI lists have error codes of their own: 127.0.1.255 (Spamhaus DBL: "IP queries
// prohibited") and 127.0.0.1 (SURBL and URIBL: "query refused"; never a listing, §5).
// Thread-safe (no state).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"

namespace mxgate::reputation {

std::string dnsbl_query_name(const common::IpBytes& address, std::string_view zone);
std::string rhsbl_query_name(std::string_view domain, std::string_view zone);
// A linked domain ("bad.example") or IP literal's text ("192.0.2.1", "2001:db8::1") under a URI
// zone: the domain as is, the address reversed like dnsbl_query_name.
std::string uri_query_name(std::string_view domain_or_ip, std::string_view zone);

// Which answers count, postscreen-style: each octet is a number, a range "[2..11]" or a list
// "[2;4;10..12]"; e.g. "127.0.0.[2..11]", "127.0.[0..255].[2;3]". Several filters: any matches.
class ReturnFilter {
 public:
  // nullopt with `error` set for anything else.
  static std::optional<ReturnFilter> parse(std::string_view text, std::string* error = nullptr);
  bool matches(const std::array<std::uint8_t, 4>& answer) const;
  const std::string& text() const { return text_; }
  bool operator==(const ReturnFilter& other) const { return text_ == other.text_; }

 private:
  std::array<std::array<bool, 256>, 4> allowed_{};
  std::string text_;
};

enum class DnsblResult { NotListed, Listed, ZoneError };

// The meaning of a lookup's A records for an entry with `filters` (empty: every non-error
// answer counts). An empty answer list is NotListed (the caller maps NXDOMAIN/NODATA to it and
// SERVFAIL/timeouts to a check error).
DnsblResult judge_dnsbl_answer(const std::vector<std::array<std::uint8_t, 4>>& answers,
                               const std::vector<ReturnFilter>& filters);
// The same for a URI zone, whose own error codes are zone errors too.
DnsblResult judge_uri_answer(const std::vector<std::array<std::uint8_t, 4>>& answers,
                             const std::vector<ReturnFilter>& filters);

}  // namespace mxgate::reputation
