// The authentication checks of the pipeline (issue 5): spf at MAIL, dkim and arc and then dmarc
// at the end of data (RFC 7208, RFC 6376, RFC 8617, RFC 7489). arc scores nothing: its result
// goes into Authentication-Results, and dmarc reads it for [auth] trusted_arc_sealers (a
// trusted sealer's chain that vouches for the From domain turns p=reject and p=quarantine into
// the dmarc_fail score). Each check keeps what it found in the
// transaction's AuthFindings (policy/facts.hpp; shared: a check that outlives its deadline still
// has somewhere to write); dmarc reads what spf and dkim found; the session then writes the
// Authentication-Results header (RFC 8601) from them and credits only domains that
// authenticated. They run only while the session authenticates ([auth] enabled, a client
// outside trusted_networks, a resolver). Judging is pure (judge_*), so the unit tests need no
// DNS. A DNS failure is a temperror/permerror result, never a refusal on its own.
// Threading: the session's worker, like every check.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dkim_key_cache.hpp"
#include "auth/dmarc_report.hpp"
#include "auth/message_auth.hpp"
#include "auth/spf.hpp"
#include "policy/check_context.hpp"
#include "policy/dmarc_recorder.hpp"
#include "policy/facts.hpp"
#include "policy/pipeline.hpp"
#include "policy/verdict_metrics.hpp"

namespace mxgate::policy {

// How DMARC policies are applied ([auth] and the session's state).
struct DmarcEnforcement {
  bool reject = true;      // p=reject refuses (else it is treated as p=quarantine)
  bool quarantine = true;  // p=quarantine quarantines (else it only scores)
  bool allowed = false;    // an operator's allow listing: no policy is enforced
  double sample = 0;       // uniform in [0, 1): the policy applies when sample < pct / 100
  // A trusted ARC sealer vouched for the From domain (auth::trusted_arc_vouch): no policy is
  // enforced, the failure scores.
  std::optional<auth::ArcVouch> arc_vouch;
};

// The policy applied to a message DMARC judged, and why it is not the one the domain asked for
// (RFC 7489 Appendix C's PolicyOverrideType; for the aggregate reports): the pct= sample
// (§6.6.4), [auth] dmarc_reject/dmarc_quarantine or an allow listing (local policy), a trusted
// ARC sealer (trusted forwarder). None/None unless DMARC failed against a record.
struct AppliedDmarc {
  auth::dmarc::Policy policy = auth::dmarc::Policy::None;
  auth::dmarc_report::Override reason = auth::dmarc_report::Override::None;
};
AppliedDmarc applied_dmarc(const auth::DmarcCheck& dmarc, const DmarcEnforcement& enforcement);

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
PendingCheck arc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                       std::shared_ptr<const auth::MessageScanner> message,
                       auth::DkimKeyCache& keys, std::shared_ptr<AuthFindings> findings);
// What a dmarc check needs besides the message.
struct DmarcRun {
  auth::dmarc::PolicyLookup lookup = auth::dmarc::PolicyLookup::PublicSuffixList;
  DmarcEnforcement enforcement;
  std::vector<std::string> trusted_sealers;  // [auth] trusted_arc_sealers
  DmarcRecorder* reports = nullptr;           // records the aggregate report row; null: none
  std::string client_ip;                      // the row's source_ip
};
PendingCheck dmarc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                         std::shared_ptr<const auth::MessageScanner> message, DmarcRun run,
                         std::shared_ptr<AuthFindings> findings);

// For the registration table (policy/check_table.hpp). prefetch_*: the DKIM key records and
// the DMARC policy records the message will need.
void add_spf(const CheckContext& context, const reputation::CheckSettings& settings,
             std::vector<PendingCheck>& out);
void add_dkim(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out);
void add_arc(const CheckContext& context, const reputation::CheckSettings& settings,
             std::vector<PendingCheck>& out);
void add_dmarc(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out);
void prefetch_dkim(const CheckContext& context, const auth::MessageScanner& message,
                   std::vector<std::string>& names);
void prefetch_arc(const CheckContext& context, const auth::MessageScanner& message,
                  std::vector<std::string>& names);
void prefetch_dmarc(const CheckContext& context, const auth::MessageScanner& message,
                    std::vector<std::string>& names);

// The Authentication-Results of a message: what the checks found (a check that did not finish
// is reported temperror; arc, which has no temperror, fail), and iprev when the rdns check
// decided one ("" otherwise). `client_ip` is also arc's smtp.remote-ip (RFC 8617 §10.2).
auth::AuthResults auth_results(const AuthFindings& findings, const std::string& authserv_id,
                               const std::string& client_ip, const std::string& iprev,
                               const std::string& ptr_name);

// Counts a message's results (mxgate_auth_results_total{method, result}).
void count_results(VerdictMetrics& metrics, const auth::AuthResults& results);

}  // namespace mxgate::policy
