// libFuzzer target of DKIM key records (auth/dkim_key.hpp; RFC 6376 §3.6.1, RFC 8301 §3.2,
// RFC 8463 §4): the TXT record at <s>._domainkey.<d>, parsed and its key loaded with OpenSSL.
// The input is the record's text. It is also used as the key of two real signatures
// (tests/auth/dkim_vectors.hpp, RSA and Ed25519) through the whole verification.
// Checked: a parsed key has a key object and a size in range (RSA 1024-4096 bits, Ed25519 256);
// a revoked record has no key; OpenSSL's error queue is left empty (the header's promise);
// verification with any record ends in pass, fail, policy or permerror, never neutral (the
// signatures are well formed) nor temperror (there is no DNS here).
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/dkim_key.hpp"
#include "auth/dkim_verify.hpp"
#include "tests/auth/dkim_vectors.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
using mxgate::fuzz::check;

constexpr int kEd25519Bits = 256;

void check_verification(std::string_view signature_field, std::string_view record) {
  const std::string message =
      std::string(signature_field) + std::string(auth::vectors::kUnsignedMessage);
  const auth::DkimMessage split = auth::split_message(message);
  const auth::DkimVerdict verdict = auth::verify_dkim_message(split, 0, record);
  check(ERR_peek_error() == 0);
  check(verdict.status == auth::DkimStatus::Pass || verdict.status == auth::DkimStatus::Fail ||
        verdict.status == auth::DkimStatus::Policy ||
        verdict.status == auth::DkimStatus::PermError);
  check(!auth::to_string(verdict.status).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view record = mxgate::fuzz::text(data, size);
  const auth::DkimKeyResult result = auth::parse_dkim_key(record);
  check(ERR_peek_error() == 0);
  check(result.key.has_value() == result.error.empty());
  if (result.revoked) check(!result.key);
  if (result.key) {
    const auth::DkimKey& key = *result.key;
    check(key.public_key != nullptr);
    if (key.type == auth::DkimKeyType::Rsa) {
      check(key.bits >= auth::kDkimMinRsaBits && key.bits <= auth::kDkimMaxRsaBits);
    } else {
      check(key.bits == kEd25519Bits);
    }
    (void)key.allows_sha256();
    (void)key.serves_email();
  }
  check_verification(auth::vectors::kRsa2048RelaxedSignature, record);
  check_verification(auth::vectors::kEdSimpleSignature, record);
  return 0;
}
