// The authentication checks of the pipeline (issue 5): spf at MAIL, dkim and dmarc at the end
// of data. Each check keeps what it found in the session's AuthFindings (shared: a check that
// outlives its deadline still has somewhere to write); the session then writes the
// Authentication-Results header from it and credits only domains that authenticated.
// Judging is pure (judge_*), so the unit tests need no DNS.
// Threading: the session's worker, like every check.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dkim_key_cache.hpp"
#include "auth/message_auth.hpp"
#include "auth/spf.hpp"
#include "policy/pipeline.hpp"

namespace mxgate::policy {

struct AuthFindings {
  // Which checks the session started (a check in mode "off" is not reported).
  bool spf_asked = false, dkim_asked = false, dmarc_asked = false;
  auth::spf::Identity identity;                      // the transaction's SPF identity
  std::optional<auth::spf::Evaluation> spf;          // once the spf check finished
  std::optional<std::vector<auth::DkimCheck>> dkim;  // once the dkim check finished
  std::optional<auth::DmarcCheck> dmarc;             // once the dmarc check finished

  // SPF passed for the MAIL FROM domain (not for the HELO name of a null sender).
  bool sender_authenticated() const;
  // The domains SPF or a DKIM signature authenticated, lower case, each once.
  std::vector<std::string> authenticated_domains() const;
  // An authentication failure to count (reputation Counters::auth_failures): DMARC or SPF
  // failed, or DKIM signatures did and none passed.
  bool failed() const;
};

// How DMARC policies are applied ([auth] and the session's state).
struct DmarcEnforcement {
  bool reject = true;      // p=reject refuses (else it is treated as p=quarantine)
  bool quarantine = true;  // p=quarantine quarantines (else it only scores)
  bool allowed = false;    // an operator's allow listing: no policy is enforced
  double sample = 0;       // uniform in [0, 1): the policy applies when sample < pct / 100
};

CheckResult judge_spf(const reputation::CheckSettings& settings, const auth::spf::Evaluation& spf);
CheckResult judge_dkim(const reputation::CheckSettings& settings,
                       const std::vector<auth::DkimCheck>& dkim);
// `authenticated`: SPF or a DKIM signature passed, for any domain.
CheckResult judge_dmarc(const reputation::CheckSettings& settings, const auth::DmarcCheck& dmarc,
                        bool authenticated, const DmarcEnforcement& enforcement);

PendingCheck spf_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                       auth::spf::Options options, std::shared_ptr<AuthFindings> findings);
PendingCheck dkim_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        std::shared_ptr<const auth::MessageScanner> message,
                        auth::DkimKeyCache& keys, std::shared_ptr<AuthFindings> findings);
PendingCheck dmarc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                         std::shared_ptr<const auth::MessageScanner> message,
                         auth::dmarc::PolicyLookup lookup, DmarcEnforcement enforcement,
                         std::shared_ptr<AuthFindings> findings);

// The Authentication-Results of a message: what the checks found (a check that did not finish
// is reported temperror), and iprev when the rdns check decided one ("" otherwise).
auth::AuthResults auth_results(const AuthFindings& findings, const std::string& authserv_id,
                               const std::string& client_ip, const std::string& iprev,
                               const std::string& ptr_name);

}  // namespace mxgate::policy
