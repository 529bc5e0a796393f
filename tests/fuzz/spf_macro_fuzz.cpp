// libFuzzer target of SPF macro expansion (auth/spf_macro.hpp; RFC 7208 §7). A macro-string
// comes from a published record, its values from the SMTP client (sender, HELO) and DNS. The
// input is the macro-string, then, after each NUL, the sender's local part, its domain, the
// HELO name and the PTR name; byte 0 chooses the client address (IPv4 or IPv6).
// Checked: expansion succeeds exactly for valid macro-strings; a valid domain-spec is a valid
// explanation too; a domain-spec's expansion fits in 253 characters (§7.3) unless it is one
// label longer than that; without %{p} the
// PTR name changes nothing; a macro-string without macros expands to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/spf_macro.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace spf = mxgate::auth::spf;
using mxgate::fuzz::check;

constexpr std::size_t kMaxDomain = 253;  // RFC 7208 §7.3
constexpr std::size_t kFields = 5;       // macro-string, local part, domain, HELO, PTR name

std::vector<std::string> split_fields(std::string_view input) {
  std::vector<std::string> fields;
  while (fields.size() + 1 < kFields) {
    const std::size_t nul = input.find('\0');
    fields.emplace_back(input.substr(0, nul));
    input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  }
  fields.emplace_back(input);
  return fields;
}

mxgate::common::IpBytes address(std::uint8_t bits) {
  mxgate::common::IpBytes ip;
  ip.family = (bits & 1) != 0 ? 6 : 4;
  for (std::size_t i = 0; i < ip.bytes.size(); ++i) {
    ip.bytes[i] = static_cast<std::uint8_t>(bits * (i + 1));
  }
  if (ip.family == 4) std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
  return ip;
}

void check_use(const std::string& text, const spf::MacroContext& context, spf::MacroUse use) {
  const bool valid = spf::valid_macro_string(text, use);
  const auto expanded = spf::expand_macros(text, context, use);
  check(expanded.has_value() == valid);
  if (!expanded) return;
  if (use == spf::MacroUse::DomainSpec) {
    // Leading labels go until it fits; one label longer than that cannot be a DNS name at all
    // (the evaluator finds no records at such a name).
    check(expanded->size() <= kMaxDomain || expanded->find('.') == std::string::npos);
    check(spf::valid_macro_string(text, spf::MacroUse::Explanation));
  }
  if (!spf::uses_ptr_macro(text)) {
    spf::MacroContext other = context;
    other.validated_ptr = "other.ptr.example";
    check(spf::expand_macros(text, other, use) == expanded);
  }
  if (text.find('%') == std::string::npos && text.size() <= kMaxDomain) check(*expanded == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto fields = split_fields(mxgate::fuzz::text(data + 1, size - 1));
  spf::MacroContext context;
  context.local_part = fields[1];
  context.sender_domain = fields[2];
  context.sender = fields[1] + "@" + fields[2];
  context.domain = fields[2];
  context.helo = fields[3];
  context.validated_ptr = fields[4];
  context.ip = address(data[0]);
  context.receiver = "mx.example.net";
  context.now = 1'700'000'000;
  check_use(fields[0], context, spf::MacroUse::DomainSpec);
  check_use(fields[0], context, spf::MacroUse::Explanation);
  const std::string dotted = spf::dotted_ip(context.ip);
  check(dotted.size() == (context.ip.family == 4 ? dotted.size() : 63));
  return 0;
}
