// DKIM signing (RFC 6376 §5) of the mail mxgate writes itself: its DMARC aggregate reports, so
// that they pass DMARC at the report receivers (whose own policy may be p=reject).
// A signature is c=relaxed/relaxed with t=, a=rsa-sha256 (an RSA key of at least 1024 bits,
// RFC 8301 §3.2; 2048 recommended) or a=ed25519-sha256 (RFC 8463). h= lists the fields of
// kDkimSignedFields that the message has, bottom-up as §5.4.2 says, and From once more, so that
// a second From added on the way breaks the signature (§8.15). The field is folded at 78
// octets; b= is computed last over the same data a verifier rebuilds (dkim_signed_data).
// Thread-safe once loaded (const; OpenSSL signing contexts are made per call).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/dkim_key.hpp"
#include "auth/dkim_signature.hpp"

namespace mxgate::auth {

class DkimSigner {
 public:
  // Reads the PEM private key at `path` (PKCS#8 or traditional RSA). Throws std::runtime_error
  // naming `key_name` (the config key) and the path when the file cannot be read, holds no
  // private key, or holds one of another type or a shorter RSA key.
  static std::shared_ptr<const DkimSigner> load(std::string domain, std::string selector,
                                                const std::string& path,
                                                std::string_view key_name);

  // The "DKIM-Signature: ...\r\n" field for `message` (header, empty line, body; CRLF line
  // endings), to be put before its first field; "" if OpenSSL failed. `now`: t=, seconds since
  // the epoch.
  std::string sign(std::string_view message, std::uint64_t now) const;

  DkimAlgorithm algorithm() const { return algorithm_; }
  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }

  using PrivateKey = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
  DkimSigner(std::string domain, std::string selector, PrivateKey key, DkimAlgorithm algorithm);

 private:
  std::string domain_, selector_;
  PrivateKey key_;
  DkimAlgorithm algorithm_;
};

}  // namespace mxgate::auth
