// The RFC 5322 From domain that DMARC judges (RFC 7489 §6.6.1): the message must have exactly
// one From field holding exactly one address with a domain name; anything else is a problem
// that makes DMARC fail. Handles display names, quoted strings, nested comments, angle
// addresses and folding (RFC 5322 §3.2, §3.4). Pure.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mxgate::auth {

struct FromDomain {
  std::optional<std::string> domain;  // lower case, no trailing dot
  std::string problem;                // when domain is empty: "no From field", ...
};

// `fields`: the header fields as "Name: value\r\n" (continuation lines included), in order.
FromDomain from_domain(std::span<const std::string_view> fields);

// The domain of one From field's value, e.g. "\"Doe, Jane\" <jane@Example.org> (work)".
FromDomain from_domain_of_value(std::string_view value);

}  // namespace mxgate::auth
