// libFuzzer target of the RFC 5322 From parser that DMARC judges (auth/from_domain.hpp;
// RFC 7489 §6.6.1, RFC 5322 §3.2, §3.4: display names, quoted strings, nested comments, angle
// addresses, folding). The input is a message header; it is cut into fields as the message
// scanner does (a line that starts with white space continues the field before it).
// Checked: a domain comes with no problem and a problem with no domain; the domain is a lower-case
// DNS name without a trailing dot, of non-empty labels of at most 63 octets, at most 253 in all;
// with exactly one From field, the header gives what the field's value gives.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/from_domain.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
using mxgate::fuzz::check;

constexpr std::size_t kMaxDomain = 253;
constexpr std::size_t kMaxLabel = 63;

std::vector<std::string_view> fields_of(std::string_view header) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (std::size_t at = 0; at < header.size();) {
    const std::size_t nl = header.find('\n', at);
    const std::size_t end = nl == std::string_view::npos ? header.size() : nl + 1;
    const bool continues = end < header.size() && (header[end] == ' ' || header[end] == '\t');
    if (!continues) {
      fields.push_back(header.substr(start, end - start));
      start = end;
    }
    at = end;
  }
  return fields;
}

void check_result(const auth::FromDomain& r) {
  check(r.domain.has_value() == r.problem.empty());
  if (!r.domain) return;
  const std::string& d = *r.domain;
  check(!d.empty() && d.size() <= kMaxDomain && d.back() != '.' && d.front() != '.');
  std::size_t label = 0;
  for (const char c : d) {
    check(!(c >= 'A' && c <= 'Z'));
    if (c == '.') {
      check(label > 0);
      label = 0;
    } else {
      check(++label <= kMaxLabel);
    }
  }
}

bool is_from(std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string name(field.substr(0, colon));
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  if (name.size() != 4) return false;
  for (char& c : name) c = static_cast<char>(c | 0x20);
  return name == "from";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header = mxgate::fuzz::text(data, size);
  check_result(auth::from_domain_of_value(header));
  const auto fields = fields_of(header);
  const auth::FromDomain whole = auth::from_domain(fields);
  check_result(whole);
  std::size_t froms = 0;
  std::string_view from;
  for (const auto field : fields) {
    if (is_from(field)) {
      ++froms;
      from = field;
    }
  }
  if (froms == 1) {
    const auth::FromDomain one = auth::from_domain_of_value(from.substr(from.find(':') + 1));
    check(one.domain == whole.domain);
  }
  return 0;
}
