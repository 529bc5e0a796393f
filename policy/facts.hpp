// What a session's checks learn for later checks, for the throttle and for the
// Authentication-Results header: the data one check hands to another, as explicit types.
//   HistoryFacts  written by ip_history (connect) and sender_domain_history (MAIL); read by the
//                 throttle (issue 6)
//   DnsFacts      written by rdns (connect); read by helo and by Authentication-Results (iprev,
//                 RFC 8601 §3)
//   AuthFindings  written by spf (MAIL), dkim, arc and dmarc (end of data); read by dmarc (over
//                 SPF and DKIM, RFC 7489 §4.2, and ARC's trusted sealers), the throttle's
//                 auth_domain limits, the Authentication-Results header and the reputation credit
//                 of domains
//
// Ownership: one SessionFacts per session, held by std::shared_ptr by the session's policy and by
// every check it started. A check is not cancelled at its deadline: it finishes on its own, maybe
// after the session ended, and still writes into valid memory (nobody reads it then). A check
// holds only the part it writes or reads (an aliasing shared_ptr, CheckContext::share), which
// keeps the whole object alive. The transaction's AuthFindings are a new object at each MAIL,
// so a check of an earlier transaction that finishes late writes into its own findings, never
// into the next transaction's.
// Threading: the session's worker only (checks run there), no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dmarc.hpp"
#include "auth/message_auth.hpp"
#include "auth/spf.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::policy {

// What the history checks read, for the throttle: filled when a check has its record.
struct HistoryFacts {
  std::uint32_t hygiene_days = 1;  // the window of History's invalid-recipient counts
  std::optional<throttle::History> ip, network;
  std::optional<throttle::History> sender_domain;  // the current transaction's (reset at MAIL)
};

// What the connect stage's rdns check learned.
struct DnsFacts {
  std::vector<std::string> ptr_names;
  std::string confirmed_name;  // the first PTR name that resolves back to the client, or ""
  std::string iprev;  // RFC 8601 §3 result once the rdns check decided: pass, fail, temperror
};

// What the authentication checks found in one transaction.
struct AuthFindings {
  // Which checks the session started (a check in mode "off" is not reported).
  bool spf_asked = false, dkim_asked = false, arc_asked = false, dmarc_asked = false;
  auth::spf::Identity identity;                      // the transaction's SPF identity
  std::optional<auth::spf::Evaluation> spf;          // once the spf check finished
  std::optional<std::vector<auth::DkimCheck>> dkim;  // once the dkim check finished
  std::optional<auth::ArcVerdict> arc;               // once the arc check finished
  std::optional<auth::DmarcCheck> dmarc;             // once the dmarc check finished
  // DMARC failed and its policy was not applied because a trusted ARC sealer vouched.
  std::optional<auth::ArcVouch> dmarc_vouched;

  // SPF passed for the MAIL FROM domain (not for the HELO name of a null sender).
  bool sender_authenticated() const;
  // The domains SPF or a DKIM signature authenticated, lower case, each once.
  std::vector<std::string> authenticated_domains() const;
  // An authentication failure to count (reputation Counters::auth_failures): DMARC or SPF
  // failed, or DKIM signatures did and none passed.
  bool failed() const;
  // "spf:pass,dkim:pass,dmarc:pass" for the transaction log line ("arc:pass" or "arc:fail" too
  // when the message has ARC sets).
  std::string summary() const;
};

// What the content checks found in the current message (issue 17), for the portal note and the
// log: the linked domain whose listing refused it.
struct ContentFindings {
  std::string listed_domain;   // "evil.example" or an IP literal's text; "" when none was listed
  std::string listed_by;       // "uri:evil.example" (the store's listing) or the DNSBL zone
  std::string listing_reason;  // the listing's reason (store) or the zone's answer
};

struct SessionFacts {
  HistoryFacts history;
  DnsFacts dns;
  // The current transaction's: null before the first MAIL and after reset_transaction, a new
  // object at each MAIL.
  std::shared_ptr<AuthFindings> auth;
  std::shared_ptr<ContentFindings> content;  // likewise
};

}  // namespace mxgate::policy
