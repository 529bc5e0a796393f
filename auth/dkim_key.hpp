// DKIM public key records (RFC 6376 §3.6.1): the TXT record at "<s>._domainkey.<d>", parsed
// and its key loaded with OpenSSL 3. The caller looks the record up (its several strings
// joined without separator, RFC 6376 §3.6.2.2) and hands over the text.
// Tags: v=DKIM1 (optional, first when present), k= rsa (default) or ed25519 (RFC 8463 §4),
// p= base64 key (empty: revoked), h= acceptable hashes, t= flags (y testing, s strict), s=
// service types. Unknown tags, flags, hashes and services are ignored (§3.6.1).
// RSA: p= is a DER SubjectPublicKeyInfo (§3.6.1); a bare PKCS#1 RSAPublicKey, which some
// publishers put there, is accepted too. Sizes from 1024 to 4096 bits only: RFC 8301 §3.2 forbids
// shorter keys, and longer ones only cost verification time. Ed25519: p= is the raw 32-octet
// public key (RFC 8463 §4.2); a SubjectPublicKeyInfo is refused.
// A record that cannot be used comes back as an error with a reason: the caller reports
// "permerror" (RFC 8601 §2.7.1). Pure (no I/O); never throws on network data; leaves OpenSSL's
// thread error queue empty; a parsed DkimKey may be used from any thread.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::auth {

inline constexpr int kDkimMinRsaBits = 1024;  // RFC 8301 §3.2
inline constexpr int kDkimMaxRsaBits = 4096;  // RFC 8301 §3.2: verifiers need not go beyond

enum class DkimKeyType { Rsa, Ed25519 };

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using DkimPublicKey = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct DkimVerifierFree {
  void operator()(EVP_PKEY_CTX* context) const;
};
using DkimVerifier = std::unique_ptr<EVP_PKEY_CTX, DkimVerifierFree>;

struct DkimKey {
  DkimKeyType type = DkimKeyType::Rsa;  // k=
  std::vector<std::string> hashes;      // h=, lower case; empty when absent (any hash)
  std::vector<std::string> services;    // s=, lower case; empty when absent ("*")
  bool testing = false;                 // t=y: the domain is testing DKIM
  bool strict = false;                  // t=s: i= must be exactly d=, no subdomain
  int bits = 0;                         // key size (256 for ed25519)
  DkimPublicKey public_key;             // never null in a parsed key
  // RSA: a verification context set up on first use and reused (OpenSSL 3 spends more on
  // setting one up than on an RSA-2048 verification). So a key is not thread-safe: each
  // worker has its own DkimKeyCache.
  mutable DkimVerifier rsa_verifier;

  bool allows_sha256() const;  // h= absent or lists sha256
  bool serves_email() const;   // s= absent or lists "*" or "email"
};

struct DkimKeyResult {
  std::optional<DkimKey> key;  // set when the record holds a usable key
  std::string error;           // otherwise why, e.g. "key revoked"
  bool revoked = false;        // p= is empty (§3.6.1)
};

DkimKeyResult parse_dkim_key(std::string_view record);

}  // namespace mxgate::auth
