// DKIM canonicalization (RFC 6376 §3.4) and the body hash (§3.7).
// Headers: "simple" keeps a field byte for byte (§3.4.1); "relaxed" lowercases the name,
// unfolds, turns each run of SP/HTAB into one SP and drops it around the colon and at the end
// (§3.4.2). Bodies: "simple" drops the empty lines at the end and makes an empty body one CRLF
// (§3.4.3); "relaxed" also drops white space at line ends and turns each run of it into one SP,
// and leaves an empty body empty (§3.4.4). Either adds a CRLF to a last line without one (and
// relaxed drops that line's trailing white space first, as for any line; python3-dkim keeps it,
// but a body received over SMTP always ends in CRLF).
// DkimBodyCanonicalizer and DkimBodyHasher stream: feed the body (the octets after the header's
// empty line, CRLF line endings, SMTP transparency dots removed) in chunks split anywhere, even
// inside a CRLF or a run of white space; the output does not depend on where. DkimBodyHasher
// feeds SHA-256 (OpenSSL EVP) as data arrives, stops hashing after l= octets and keeps
// counting, so the caller sees how much of the body the signature leaves unsigned. Signatures
// with the same DkimBodyHashKey (canonicalization and l=) share one hasher.
// Not thread-safe per instance (one message, one worker); no I/O; never throws on data.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/dkim_signature.hpp"

namespace mxgate::auth {

// SHA-256, fetched from OpenSSL's default provider once (an EVP_sha256() passed to an init call
// is looked up again on every call).
const EVP_MD* dkim_sha256();

// A header field as it appears in the message: "Name: value\r\n", continuation lines included.
// The name before the colon without trailing white space; the whole field if it has no colon.
std::string_view header_field_name(std::string_view field);
// Everything after the colon, folding kept, without the field's final CRLF.
std::string_view header_field_value(std::string_view field);

// The canonical form of one field, ending in CRLF (added when `field` lacks it).
std::string canonicalize_header(DkimCanon canon, std::string_view field);

// The body canonicalizer as a state machine: update() appends to `out` what can be known so far
// (empty lines and white space are held back until what follows decides them), finish() the
// rest. The state is a few flags and a count of held empty lines: memory does not grow.
class DkimBodyCanonicalizer {
 public:
  explicit DkimBodyCanonicalizer(DkimCanon canon) : canon_(canon) {}
  void update(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  void content(std::string_view run, std::string& out);
  void end_line(std::string& out);

  DkimCanon canon_;
  bool pending_cr_ = false;   // the chunk ended in CR: the next octet says whether CRLF
  bool pending_wsp_ = false;  // relaxed: white space since the last content of this line
  bool line_has_content_ = false;
  bool any_content_ = false;
  std::uint64_t empty_lines_ = 0;  // held back: they vanish if the body ends with them
};

// The whole canonical body in one call (tests, the CLI).
std::string canonicalize_body(DkimCanon canon, std::string_view body);

struct DkimBodyHashKey {
  DkimCanon canon = DkimCanon::Simple;
  std::optional<std::uint64_t> limit;  // l=
  bool operator==(const DkimBodyHashKey&) const = default;
};

DkimBodyHashKey body_hash_key(const DkimSignature& signature);

struct DkimBodyDigest {
  DkimBodyHashKey key;
  std::string hash;                    // SHA-256, 32 octets; empty if OpenSSL failed
  std::uint64_t hashed_length = 0;     // octets hashed: min(l=, canonical_length)
  std::uint64_t canonical_length = 0;  // the whole canonical body
};

struct DkimDigestFree {
  void operator()(EVP_MD_CTX* context) const;
};

class DkimBodyHasher {
 public:
  explicit DkimBodyHasher(DkimBodyHashKey key);
  const DkimBodyHashKey& key() const { return key_; }
  void update(std::string_view chunk);
  // Once, after the last chunk; update() after finish() is ignored.
  DkimBodyDigest finish();

 private:
  void consume(std::string_view canonical);

  DkimBodyHashKey key_;
  DkimBodyCanonicalizer canonicalizer_;
  std::unique_ptr<EVP_MD_CTX, DkimDigestFree> context_;
  std::string buffer_;  // canonical output of one update(), reused
  std::uint64_t hashed_ = 0, total_ = 0;
  bool ok_ = true, finished_ = false;
};

// The body digest in one call.
DkimBodyDigest dkim_body_digest(DkimBodyHashKey key, std::string_view body);

}  // namespace mxgate::auth
