// One message's authentication, gathered while its content streams in and judged at the end
// of data; shared by the SMTP session and `mxgate dkim|auth`.
//   - MessageScanner takes the decoded content (CRLF line endings, no transparency dots) in
//     pieces split anywhere. It holds the header section until its empty line (at most
//     max_header_bytes), then finds the From domain (RFC 7489 §6.6.1), parses the first
//     max_signatures DKIM-Signature fields, starts one body hasher per distinct
//     canonicalization and l= (RFC 6376 §3.7), and passes the header on without the
//     Authentication-Results fields that claim our authserv-id (RFC 8601 §5). The body is
//     hashed as it arrives; nothing of it is kept.
//   - verify_signatures() looks up the keys and verifies. key_names() is known as soon as the
//     header ends, so a caller can start the lookups while the body still streams in; then
//     verify_signatures_now() usually answers from the DNS cache without a coroutine.
//   - The ARC sets (RFC 8617) are parsed and their structure checked when the header ends, and
//     the body is hashed for the most recent ARC-Message-Signature too; verify_arc() then
//     validates the chain (auth/arc.hpp), its keys looked up like DKIM's.
//   - check_dmarc() applies the From domain's policy to the SPF and DKIM results.
// Not thread-safe: one message, one worker. Never throws on message data.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/arc.hpp"
#include "auth/dkim_canon.hpp"
#include "auth/dkim_key_cache.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/dmarc.hpp"
#include "auth/from_domain.hpp"
#include "auth/results.hpp"
#include "auth/spf.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth {

struct ScanLimits {
  std::size_t max_signatures = 5;              // verified; later ones are reported neutral
  std::size_t max_header_bytes = 1024 * 1024;  // a longer header section is not parsed
};

// The outcome for one DKIM-Signature field.
struct DkimCheck {
  DkimVerdict verdict;
  std::string domain, selector;  // d= and s= as far as they could be read
  std::string b;                 // header.b (RFC 6008): the first 8 characters of b=
  // h=: the header fields the signature covers, lower case, in order (RFC 8058 §4 asks that
  // List-Unsubscribe and List-Unsubscribe-Post be among them); empty when h= was unreadable.
  std::vector<std::string> signed_fields;
};

class MessageScanner {
 public:
  explicit MessageScanner(std::string authserv_id, ScanLimits limits = {});
  MessageScanner(const MessageScanner&) = delete;  // fields_ view into header_
  MessageScanner& operator=(const MessageScanner&) = delete;

  // Appends to `out` what to pass on: the header section (once it ended, without our
  // Authentication-Results fields), then the body as it comes.
  void feed(std::string_view chunk, std::string& out);
  // After the last piece: passes on a header section that never ended; finishes the hashes.
  void finish(std::string& out);

  // Known once the header section ended.
  bool header_done() const { return header_done_; }
  const FromDomain& from() const { return from_; }
  std::vector<std::string> key_names() const;      // the DKIM key records to look up, distinct
  std::vector<std::string> arc_key_names() const;  // the ARC signatures' key records, distinct
  const ArcChain& arc_chain() const { return arc_; }
  std::size_t removed_results() const { return removed_results_; }
  std::size_t signature_count() const { return signatures_.size(); }

  // After finish(): one DkimCheck per DKIM-Signature field, in message order. The scanner and
  // the resolver must outlive the coroutine.
  boost::asio::awaitable<std::vector<DkimCheck>> verify_signatures(dns::Resolver& resolver,
                                                                   DkimKeyCache& keys,
                                                                   DkimVerifyOptions options) const;
  // The same from the resolver's cache, or nullopt when a key record is not cached.
  std::optional<std::vector<DkimCheck>> verify_signatures_now(
      dns::Resolver& resolver, DkimKeyCache& keys, const DkimVerifyOptions& options) const;

  // After finish(): the ARC chain's validation. The same two ways.
  boost::asio::awaitable<ArcVerdict> verify_arc(dns::Resolver& resolver, DkimKeyCache& keys,
                                                DkimVerifyOptions options) const;
  std::optional<ArcVerdict> verify_arc_now(dns::Resolver& resolver, DkimKeyCache& keys,
                                           const DkimVerifyOptions& options) const;

 private:
  struct Signature {
    std::size_t field = 0;
    std::optional<DkimSignature> parsed;  // empty: not usable, or beyond max_signatures
    DkimCheck unverified;                 // the outcome when parsed is empty
    std::size_t hasher = 0;
  };
  void end_header(std::string& out);
  std::size_t hasher_for(const DkimBodyHashKey& key);
  void feed_body(std::string_view chunk, std::string& out);
  DkimCheck judge(const Signature& signature, const dns::Lookup<dns::TxtRecord>& key,
                  DkimKeyCache& keys, const DkimVerifyOptions& options) const;

  std::string authserv_id_;
  ScanLimits limits_;
  std::string header_;  // the header section; fields_ view into it once it ended
  bool header_done_ = false;
  std::vector<std::string_view> fields_;
  FromDomain from_{std::nullopt, "no header section"};
  std::vector<Signature> signatures_;
  ArcChain arc_;
  std::vector<DkimBodyHasher> hashers_;
  std::vector<DkimBodyDigest> digests_;  // after finish(), one per hasher
  std::size_t removed_results_ = 0;
};

// Whether an Authentication-Results field value names `authserv_id` (RFC 8601 §2.2: its first
// word, before any version, ";" or comment; case-insensitive).
bool claims_authserv_id(std::string_view value, std::string_view authserv_id);

struct DmarcCheck {
  dmarc::Result result = dmarc::Result::None;
  dmarc::Policy policy = dmarc::Policy::None;  // what the domain asks for (p, or sp)
  int pct = 100;
  std::string from_domain;  // header.from, when the message has one
  std::string reason;
  bool record_found = false;  // policy and pct come from a record
  bool spf_aligned = false;   // §3.1: an SPF pass aligned with the From domain
  bool dkim_aligned = false;  // a DKIM pass aligned with it
  std::optional<dmarc::Record> record;  // as found, for the aggregate reports (issue 22)
  std::string record_domain;            // where it was found
};

// The SPF and DKIM results as DMARC sees them (the From domain is filled in by check_dmarc).
dmarc::Inputs dmarc_inputs(const spf::Evaluation* spf, const std::vector<DkimCheck>& dkim);

// RFC 7489 §6.6: the From domain's policy applied to `inputs`. A message without exactly one
// From address with one domain fails (issue 5).
boost::asio::awaitable<DmarcCheck> check_dmarc(dns::Resolver& resolver, FromDomain from,
                                               dmarc::Inputs inputs, dmarc::PolicyLookup lookup);

// The Authentication-Results entries of each result.
AuthResults::Spf spf_entry(const spf::Evaluation& spf, const spf::Identity& identity);
AuthResults::Dkim dkim_entry(const DkimCheck& check);
AuthResults::Dmarc dmarc_entry(const DmarcCheck& check);
// "none" alone; "pass" with the last set's instance and sealer as a comment and
// header.oldest-pass when known; "fail" with why; both with smtp.remote-ip (RFC 8617 §10.2).
AuthResults::Arc arc_entry(const ArcVerdict& arc, std::string_view remote_ip);

}  // namespace mxgate::auth
