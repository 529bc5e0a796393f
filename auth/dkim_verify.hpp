// DKIM signature verification (RFC 6376 §6.1), without DNS: the caller parses the signature,
// looks up and parses the key, streams the body through a DkimBodyHasher, then asks here.
// Header fields are chosen per h= from the bottom up, each field used once; a name listed more
// often than it occurs contributes nothing (§5.4.2, oversigning). The DKIM-Signature field being
// verified is never chosen for h= and is appended last, b= emptied, no final CRLF (§3.7). The
// SHA-256 of that data is verified with RSASSA-PKCS1-v1_5 (rsa-sha256, §3.3.1) or with
// PureEdDSA Ed25519 over the 32-octet hash (ed25519-sha256, RFC 8463 §3).
// Results (RFC 8601 §2.7.1): pass; fail for a body hash or signature mismatch; neutral for a
// field that is no usable signature; policy for what the key or clock forbids (key h= without
// sha256, t=s with i= below d=, expired x=); permerror for an unusable key record; temperror is
// for the caller's DNS failures only. A key flagged t=y (testing) is reported, not acted upon.
// Pure (no I/O); never throws on network data; leaves OpenSSL's thread error queue empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_canon.hpp"
#include "auth/dkim_key.hpp"
#include "auth/dkim_signature.hpp"

namespace mxgate::auth {

enum class DkimStatus { Pass, Fail, Neutral, Policy, PermError, TempError };

std::string_view to_string(DkimStatus status);  // "pass", "fail", ... (RFC 8601 §2.7.1)

// Allowance for clocks that disagree when judging x= (§3.5 "clock drift").
inline constexpr std::uint64_t kDkimDefaultClockSkew = 300;

struct DkimVerifyOptions {
  std::optional<std::uint64_t> now;  // seconds since the epoch; x= is not judged without it
  std::uint64_t clock_skew = kDkimDefaultClockSkew;
};

struct DkimVerdict {
  DkimStatus status = DkimStatus::Neutral;
  std::string reason;    // short, for logs and Authentication-Results comments
  bool testing = false;  // the key says t=y: treat a failure like no signature (§3.6.1)
  // Canonical body octets after the l= limit, which the signature does not cover. Non-zero
  // means content may have been appended after signing (§8.2): a caller may discount the pass.
  std::uint64_t unsigned_body_octets = 0;
};

// The data whose SHA-256 the signature signs (§3.7 step 2): the header fields named by h=,
// canonicalized, then the signature field at `signature_index` with b= emptied, without CRLF.
std::string dkim_signed_data(std::span<const std::string_view> fields, std::size_t signature_index,
                             const DkimSignature& signature);

// The steps of verify_dkim that ARC's seals share (RFC 8617 §5.1.1, §5.2):
// What the key record and the clock forbid (k= against a=, s=, h=, t=s, x=), or a key without
// a public key; nullopt when the key may verify the signature.
std::optional<DkimVerdict> dkim_key_refuses(const DkimSignature& signature, const DkimKey& key,
                                            const DkimVerifyOptions& options = {});
// Whether b= is the key's signature of the SHA-256 of `data` (rsa-sha256 or ed25519-sha256).
bool dkim_signature_matches(std::string_view data, const DkimSignature& signature,
                            const DkimKey& key);
// A signature field as it is signed itself (§3.7): b='s value and the white space around it
// deleted, canonicalized with `canon`, no final CRLF.
std::string dkim_signature_field_data(std::string_view field, DkimCanon canon);

// Verifies the signature in fields[signature_index] (parsed into `signature`) with `key`.
// `body` must come from a DkimBodyHasher keyed body_hash_key(signature).
DkimVerdict verify_dkim(std::span<const std::string_view> fields, std::size_t signature_index,
                        const DkimSignature& signature, const DkimKey& key,
                        const DkimBodyDigest& body, const DkimVerifyOptions& options = {});

// A message split at the empty line that ends its header (RFC 5322 §2.1).
struct DkimMessage {
  std::vector<std::string_view> fields;  // "Name: value\r\n", continuation lines included
  std::string_view body;                 // after the empty line; empty without one
};

// Splits a message with CRLF line endings; views point into `message`.
DkimMessage split_message(std::string_view message);

// `text` with every bare LF or bare CR turned into CRLF (messages read from files).
std::string normalize_line_endings(std::string_view text);

// True for a field named DKIM-Signature (any case).
bool is_dkim_signature_field(std::string_view field);

// Everything for one signature of a whole message in memory, given its key record's text:
// parses the signature (problems give neutral) and the key (problems give permerror), hashes
// the body and verifies. For tests and the CLI; the SMTP path streams the body instead.
DkimVerdict verify_dkim_message(const DkimMessage& message, std::size_t signature_index,
                                std::string_view key_record, const DkimVerifyOptions& options = {});

}  // namespace mxgate::auth
