// The DKIM-Signature header field (RFC 6376 §3.5) parsed and checked (§6.1.1), with the
// algorithm rules of RFC 8301 (rsa-sha1 refused) and RFC 8463 (ed25519-sha256).
// Checked here: v=1; a= one of rsa-sha256, ed25519-sha256; b= and bh= valid base64; c= simple or
// relaxed (default simple/simple); d= and s= valid DNS names; h= lists "from" (§5.4); i= inside
// d= (§3.5); l=, t= and x= decimal with x > t; q= includes dns/txt. Unknown tags are ignored
// (§3.2). Not checked here: expiry against the clock and the key's constraints (dkim_verify).
// A field that fails any check is not a signature: RFC 8601 §2.7.1 reports it as "neutral".
// The same parser reads ARC's two signature fields (RFC 8617 §4.1.2, §4.1.3), see
// SignatureField.
// Pure: no I/O, never throws on network data; thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::auth {

enum class DkimAlgorithm { RsaSha256, Ed25519Sha256 };

// The field a tag list comes from:
//   Dkim        DKIM-Signature (RFC 6376 §3.5).
//   ArcMessage  ARC-Message-Signature (RFC 8617 §4.1.2): DKIM's syntax and semantics, but no
//               v= (ignored if seen) and i= is the ARC instance (§4.2.1), not an AUID.
//   ArcSeal     ARC-Seal (RFC 8617 §4.1.3): a=, b=, cv=, d=, i=, s= and t= only (others are
//               ignored), no h= (its presence invalidates the seal), relaxed header
//               canonicalization (§5.1.1), no body hash.
enum class SignatureField { Dkim, ArcMessage, ArcSeal };

inline constexpr unsigned kArcMaxInstance = 50;  // RFC 8617 §4.2.1: i= is 1..50
enum class DkimCanon { Simple, Relaxed };

std::string_view to_string(DkimAlgorithm algorithm);  // "rsa-sha256", "ed25519-sha256"
std::string_view to_string(DkimCanon canon);          // "simple", "relaxed"

struct DkimSignature {
  DkimAlgorithm algorithm = DkimAlgorithm::RsaSha256;  // a=
  std::string signature;                               // b=, decoded
  std::string body_hash;                               // bh=, decoded
  DkimCanon header_canon = DkimCanon::Simple;          // c= before "/"
  DkimCanon body_canon = DkimCanon::Simple;            // c= after "/"
  std::string domain;                                  // d=, lower case
  std::vector<std::string> signed_headers;             // h=, lower case, in order, repeats kept
  std::string identity;                                // i=, "@" + d= when absent
  std::optional<std::uint64_t> body_length;            // l=
  std::string selector;                                // s=, lower case
  std::optional<std::uint64_t> timestamp;              // t=, seconds since the epoch
  std::optional<std::uint64_t> expiration;             // x=
  unsigned instance = 0;                               // ARC i= (1..kArcMaxInstance); 0 for DKIM
  std::string chain_validation;  // ARC-Seal cv=, lower case: "none", "pass" or "fail"

  // The domain part of i= (after its last "@"), lower case.
  std::string identity_domain() const;
  // The key record's name (§3.6.2.1): "<s>._domainkey.<d>".
  std::string key_query_name() const;
};

struct DkimSignatureResult {
  std::optional<DkimSignature> signature;  // set when the field is a usable signature
  std::string error;                       // otherwise why, e.g. "h= does not sign From"
  // d= and s= as written, when the tag list could be read: the caller reports
  // header.d/header.s even for a signature it could not use (RFC 8601 §2.7.1).
  std::string domain, selector;
};

// Parses the value of a DKIM-Signature field (everything after the colon, folded or not), or of
// one of ARC's. An ARC signature's identity() is "@" + d= (it has no AUID).
DkimSignatureResult parse_dkim_signature(std::string_view value,
                                         SignatureField field = SignatureField::Dkim);

// The instance of an ARC field's i= value: 1*2DIGIT (RFC 8617 §4.2.1), 1..kArcMaxInstance;
// nullopt otherwise.
std::optional<unsigned> parse_arc_instance(std::string_view value);

// The value with the b= tag's value and the white space around it removed ("b=abc; " ->
// "b=;", "b= a\r\n b" -> "b="), every other octet kept, as hashed by §3.7. A value without b=
// comes back unchanged.
std::string remove_b_value(std::string_view value);

// The relation of a domain to d=: equal, or a subdomain at a label boundary; case-insensitive.
bool is_same_or_subdomain(std::string_view name, std::string_view domain);

}  // namespace mxgate::auth
