// ARC, the Authenticated Received Chain (RFC 8617): validating the ARC sets that intermediaries
// (mailing lists, forwarders) added to a message, so that a receiver may believe what they saw
// before they changed it.
//   - parse_arc_chain: the ARC-Authentication-Results (AAR), ARC-Message-Signature (AMS) and
//     ARC-Seal (AS) fields of a message grouped into sets by instance (i=, §4.2.1), and the
//     structure checked before any signature (§5.2 steps 1-3): no ARC field is "none"; more
//     than 50 sets, a last seal saying cv=fail, an instance missing, repeated or out of 1..N, a
//     set without one each of the three fields, cv= other than "none" at i=1 and "pass" above,
//     or a field that does not parse is "fail".
//   - ArcVerification: the signatures (§5.2 steps 4-7), one key at a time so that a caller can
//     look each up (from the DNS cache or not): AMS(N) over the message like a DKIM signature
//     (dkim_verify, with the body digest of its c= and l=), then every AS from N down to 1 over
//     the ARC fields of instances 1..i in order, AAR, AMS, AS each, relaxed canonicalization
//     (§5.1.1); the first failure ends it ("fail"), else "pass". Then, for a chain that passed,
//     the older AMSs from N-1 down while their body digest is at hand (it costs no extra body
//     hashing), for header.oldest-pass (§5.2 step 5).
//   - trusted_arc_vouch: a receiver's local policy (§7; RFC 7489 §6.7 lets a receiver override
//     a DMARC policy, its reports call it "trusted_forwarder"): a chain that passed, sealed last
//     by a domain the operator trusts, whose AAR records that the From domain authenticated.
// Work is bounded: 50 sets at most, each field parsed once, one signature check per key fed,
// the keys through DkimKeyCache. Pure but for the key lookups the caller does; not
// thread-safe (a key's verifier context belongs to the worker); never throws on message data.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_canon.hpp"
#include "auth/dkim_key_cache.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dkim_verify.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth {

// The Chain Validation Status (RFC 8617 §4.4), as Authentication-Results reports it.
enum class ArcStatus { None, Pass, Fail };
std::string_view to_string(ArcStatus status);  // "none", "pass", "fail"

// One ARC set: the three fields of one instance, as indices into the message's fields.
struct ArcSet {
  unsigned instance = 0;
  std::size_t results = 0;  // ARC-Authentication-Results
  std::size_t message = 0;  // ARC-Message-Signature
  std::size_t seal = 0;     // ARC-Seal
  DkimSignature message_signature;
  DkimSignature seal_signature;
};

struct ArcChain {
  // None: the message has no ARC field. Fail: the structure is broken (`problem` says how).
  // Pass: the structure is sound, the signatures are still to be checked.
  ArcStatus status = ArcStatus::None;
  std::string problem;
  std::vector<ArcSet> sets;  // instance 1 first; empty unless the structure is sound
};

// True for an ARC-Authentication-Results, ARC-Message-Signature or ARC-Seal field.
bool is_arc_field(std::string_view field);

// `fields`: the message's header fields, "Name: value\r\n" (dkim_verify's split_message).
ArcChain parse_arc_chain(std::span<const std::string_view> fields);

// The data an ARC-Seal signs (§5.1.1): the AAR, AMS and AS of instances 1..set.instance in
// order, relaxed, the seal of `set` last with b= emptied and no final CRLF.
std::string arc_seal_signed_data(std::span<const std::string_view> fields, const ArcChain& chain,
                                 const ArcSet& set);

// What the chain's validation found.
struct ArcVerdict {
  ArcStatus status = ArcStatus::None;
  std::string reason;                   // why it failed
  std::vector<std::string> sealers;     // d= of each instance's seal, instance 1 first
  std::optional<unsigned> oldest_pass;  // §5.2 step 5; 0: every AMS verified
  std::string last_results;             // AAR(N) after its "i=N;": the last sealer's results
  bool temporary = false;               // failed on a key lookup's temporary error
  unsigned instances() const { return static_cast<unsigned>(sealers.size()); }
};

class ArcVerification {
 public:
  // `chain`, `fields` and `digests` must outlive the verification. `digests`: the finished
  // body digests (dkim_canon.hpp); an AMS whose c= and l= have none is not checked (AMS(N):
  // fail).
  ArcVerification(const ArcChain& chain, std::span<const std::string_view> fields,
                  std::span<const DkimBodyDigest> digests, DkimVerifyOptions options);

  // The key record ("<s>._domainkey.<d>") the next check needs; nullptr when done.
  const std::string* next_key() const;
  // The lookup of next_key()'s record: checks one signature and moves on.
  void feed(const dns::Lookup<dns::TxtRecord>& lookup, DkimKeyCache& keys);
  // Once next_key() is null.
  const ArcVerdict& verdict() const { return verdict_; }

 private:
  enum class Phase { MessageSignature, Seals, OlderMessageSignatures, Done };
  const DkimBodyDigest* digest_for(const DkimSignature& signature) const;
  DkimVerdict check_message_signature(const ArcSet& set, const DkimKey& key) const;
  DkimVerdict check_seal(const ArcSet& set, const DkimKey& key) const;
  void fail(std::string reason);
  void advance();
  void prepare_key();

  const ArcChain& chain_;
  std::span<const std::string_view> fields_;
  std::span<const DkimBodyDigest> digests_;
  DkimVerifyOptions options_;
  Phase phase_ = Phase::Done;
  std::size_t set_ = 0;  // index into chain_.sets of the current check
  std::string key_;      // next_key()
  ArcVerdict verdict_;
};

// The ARC part of a receiver's local policy (RFC 8617 §7): the chain passed, its last seal's
// d= is one of `trusted` (lower case, compared without case), and the results that sealer
// recorded in its AAR say that the From domain authenticated: dmarc=pass (for header.from =
// `from_domain` when it names one) or dkim=pass for a header.d aligned with `from_domain`
// (relaxed, RFC 7489 §3.1.1). The sealer and what vouched, or nullopt.
struct ArcVouch {
  std::string sealer;  // the last seal's d=
  std::string result;  // "dmarc=pass" or "dkim=pass header.d=..."
};
std::optional<ArcVouch> trusted_arc_vouch(const ArcVerdict& arc, std::string_view from_domain,
                                          std::span<const std::string> trusted);

}  // namespace mxgate::auth
