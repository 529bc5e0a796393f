// SPF macros (RFC 7208 §7): syntax check and expansion of macro-strings such as
// "%{ir}.%{v}._spf.%{d2}". Pure: the caller supplies every value, including the validated PTR
// name for %{p} (looked up only when a macro-string uses it, see uses_ptr_macro).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/cidr.hpp"

namespace mxgate::auth::spf {

struct MacroContext {
  std::string sender;                     // %{s}: <sender>, "local@domain"
  std::string local_part;                 // %{l}
  std::string sender_domain;              // %{o}
  std::string domain;                     // %{d}: the <domain> being evaluated
  common::IpBytes ip;                     // %{i}, %{c}, %{v}
  std::string helo;                       // %{h}
  std::string receiver;                   // %{r}: our host name (explanations only)
  std::int64_t now = 0;                   // %{t}: Unix seconds (explanations only)
  std::string validated_ptr = "unknown";  // %{p}
};

// Where a macro-string appears: in an "exp" TXT explanation, the letters c, r and t are also
// allowed (RFC 7208 §7.3).
enum class MacroUse { DomainSpec, Explanation };

// Whether `text` is a well-formed macro-string (RFC 7208 §7.1 ABNF) for `use`.
bool valid_macro_string(std::string_view text, MacroUse use);

// The macro-literals at the end of `text`, after its last macro-expand ("%{d}.com" gives
// ".com"; "x.%{d}" and "x.%%" give ""), for the domain-end rule of a domain-spec (§7.1);
// nullopt when `text` is not a valid macro-string for `use`.
std::optional<std::string_view> trailing_literal(std::string_view text, MacroUse use);

// Whether `text` uses %{p} (which needs a PTR lookup before expansion).
bool uses_ptr_macro(std::string_view text);

// The expansion; nullopt when `text` is not a valid macro-string for `use`. A domain-spec's
// expansion longer than 253 characters loses leading labels until it fits (RFC 7208 §7.3); a
// single label longer than that is left whole (no DNS name; the evaluator finds no records).
// Values go in as they are, whatever octets they hold (an uppercase letter URL-escapes them),
// and are never expanded again; an IPv4-mapped context.ip counts as IPv4 (§5).
std::optional<std::string> expand_macros(std::string_view text, const MacroContext& context,
                                         MacroUse use);

// "192.0.2.3" and, for IPv6, the 32 nibbles dot-separated ("2.0.0.1.0.d.b.8...", §7.3 "i").
std::string dotted_ip(const common::IpBytes& ip);

}  // namespace mxgate::auth::spf
