// libFuzzer target of the DKIM-Signature field (auth/dkim_signature.hpp; RFC 6376 §3.5, §6.1.1,
// RFC 8301, RFC 8463). The input is a field's value as a signer (or anyone) wrote it.
// Checked: a usable signature signs From, has lower-case valid d= and s=, an i= within d=,
// x= after t=; the d= and s= reported for any readable tag list are the ones written;
// remove_b_value() (what §3.7 hashes) is idempotent, empties b= and nothing else: the tag list
// read from it has the same tags with the same values, b= aside.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim_signature.hpp"
#include "auth/dkim_tags.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
using mxgate::fuzz::check;

void check_signature(const auth::DkimSignature& sig) {
  check(std::find(sig.signed_headers.begin(), sig.signed_headers.end(), "from") !=
        sig.signed_headers.end());
  check(!sig.domain.empty() && auth::tag_lower(sig.domain) == sig.domain);
  check(!sig.selector.empty() && auth::tag_lower(sig.selector) == sig.selector);
  check(auth::is_same_or_subdomain(sig.identity_domain(), sig.domain));
  if (sig.timestamp && sig.expiration) check(*sig.expiration > *sig.timestamp);
  check(sig.key_query_name().ends_with("._domainkey." + sig.domain));
  (void)auth::to_string(sig.algorithm);
  (void)auth::to_string(sig.header_canon);
}

void check_without_b(std::string_view value) {
  const std::string stripped = auth::remove_b_value(value);
  check(auth::remove_b_value(stripped) == stripped);
  const auto before = auth::parse_tag_list(value);
  if (!before.list) return;
  const auto after = auth::parse_tag_list(stripped);
  check(after.list.has_value() && after.list->tags.size() == before.list->tags.size());
  for (std::size_t i = 0; i < before.list->tags.size(); ++i) {
    const auto& a = before.list->tags[i];
    const auto& b = after.list->tags[i];
    check(a.name == b.name);
    check(a.name == "b" ? b.value.empty() : a.value == b.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value = mxgate::fuzz::text(data, size);
  const auth::DkimSignatureResult result = auth::parse_dkim_signature(value);
  check(result.signature.has_value() == result.error.empty());
  if (const auto list = auth::parse_tag_list(value).list) {
    const std::string* d = list->find("d");
    const std::string* s = list->find("s");
    check(result.domain == (d != nullptr ? *d : std::string()));
    check(result.selector == (s != nullptr ? *s : std::string()));
  }
  if (result.signature) check_signature(*result.signature);
  check_without_b(value);
  return 0;
}
