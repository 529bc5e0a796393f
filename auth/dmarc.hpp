// DMARC (RFC 7489): policy records, the organizational domain (the Public Suffix List through
// libpsl), identifier alignment and the evaluation of one message's SPF and DKIM results
// against the policy. Record discovery (§6.6.3) asks a dns::Resolver: _dmarc.<From domain>,
// then _dmarc.<organizational domain>.
// Pure except discover_policy() (DNS) and organizational_domain() (reads libpsl's list once).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace mxgate::auth::dmarc {

enum class Policy { None, Quarantine, Reject };
enum class Alignment { Relaxed, Strict };
std::string_view policy_name(Policy policy);  // "none", "quarantine", "reject"

struct Record {
  Policy p = Policy::None;
  std::optional<Policy> sp;  // subdomains; default p
  Alignment adkim = Alignment::Relaxed;
  Alignment aspf = Alignment::Relaxed;
  int pct = 100;  // 0-100: the share of failing messages the policy applies to
  std::vector<std::string> rua;  // aggregate report URIs, as written
  // fo= (§6.3: colon-separated 0, 1, d, s), lower case, as published; "0" when absent or not
  // valid. mxgate sends no failure reports; the aggregate report states it in policy_published.
  std::string fo = "0";
};

struct ParsedRecord {
  std::optional<Record> record;
  std::string error;  // why not, when record is empty
};

// Whether a TXT string is a DMARC record: it starts with "v=DMARC1" (§6.4: v must come first).
bool is_dmarc_record(std::string_view txt);

// §6.3, §6.6.3: v=DMARC1 first; p= required, except that a record without a valid p= but with
// a rua= is read as p=none; an invalid sp= is treated the same way; unknown tags are ignored;
// adkim/aspf "r" or "s"; pct 0-100.
ParsedRecord parse_record(std::string_view txt);

// The registrable domain of `domain` ("mail.example.co.uk" -> "example.co.uk"), lower case;
// `domain` itself when the list knows no shorter one.
std::string organizational_domain(std::string_view domain);

// §3.1: strict: the two names are equal; relaxed: their organizational domains are.
bool aligned(std::string_view a, std::string_view b, Alignment mode);

enum class Result { None, Pass, Fail, TempError, PermError };
std::string_view result_name(Result result);  // RFC 8601 §2.7.5 words

struct DkimPass {
  std::string domain;  // d= of a signature that verified
};

struct Inputs {
  std::string from_domain;  // the RFC 5322 From domain
  bool spf_pass = false;
  std::string spf_domain;   // the MAIL FROM domain (or HELO for the null sender)
  std::vector<DkimPass> dkim_passes;
};

struct Evaluation {
  Result result = Result::None;
  Policy policy = Policy::None;   // what the domain asks for (p, or sp for a subdomain)
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string record_domain;      // where the record was found
  std::string problem;            // for temperror/permerror
};

// Applies `record` (found at `record_domain`) to a message (§6.6.2, §6.6.4). pct is left to
// the caller (sampling needs randomness); `policy` is the unsampled policy.
Evaluation evaluate(const Record& record, const std::string& record_domain, const Inputs& inputs);

struct Discovery {
  Result result = Result::None;  // None: no record; TempError: DNS failure; Pass: found
  std::optional<Record> record;
  std::string domain;            // where it was found
  std::string problem;
};

// Where to look when _dmarc.<From domain> has no record:
//   PublicSuffixList  RFC 7489 §6.6.3: _dmarc.<organizational domain> (libpsl), if different.
//   TreeWalk          DMARCbis (draft-ietf-dmarc-dmarcbis §4.10): each parent in turn up to
//                     the top-level domain, a name of 8 or more labels first cut to its last 7;
//                     at most 8 queries in all.
enum class PolicyLookup { PublicSuffixList, TreeWalk };

// Finds the policy for `from_domain`. Several DMARC records at one name count as none there.
boost::asio::awaitable<Discovery> discover_policy(
    dns::Resolver& resolver, std::string from_domain,
    PolicyLookup lookup = PolicyLookup::PublicSuffixList);

// The names the tree walk asks after the From domain itself, nearest first (lower case input):
// "a.b.example.com" -> "b.example.com", "example.com", "com".
std::vector<std::string> tree_walk_targets(std::string_view domain);

}  // namespace mxgate::auth::dmarc
