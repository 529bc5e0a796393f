#include "policy/auth_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "common/text.hpp"
#include "policy/history_checks.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using reputation::Signal;
using reputation::Verdict;

namespace {

// The domain part of an address ("" for none).
std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

bool dkim_passed(const std::vector<auth::DkimCheck>& dkim) {
  return std::any_of(dkim.begin(), dkim.end(), [](const auth::DkimCheck& check) {
    return check.verdict.status == auth::DkimStatus::Pass;
  });
}

// RFC 7489 §6.6.4: a message outside the pct= sample gets the next milder policy.
auth::dmarc::Policy sampled(auth::dmarc::Policy policy, int pct, double sample) {
  if (sample * 100 < pct) return policy;
  return policy == auth::dmarc::Policy::Reject ? auth::dmarc::Policy::Quarantine
                                               : auth::dmarc::Policy::None;
}

}  // namespace

bool AuthFindings::sender_authenticated() const {
  return spf && spf->result == auth::spf::Result::Pass && !identity.sender.empty();
}

std::vector<std::string> AuthFindings::authenticated_domains() const {
  std::vector<std::string> out;
  auto add = [&](std::string_view domain) {
    std::string name = common::ascii_lower(domain);
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  };
  if (sender_authenticated()) add(domain_of(identity.sender));
  if (dkim) {
    for (const auto& check : *dkim) {
      if (check.verdict.status == auth::DkimStatus::Pass) add(check.domain);
    }
  }
  return out;
}

bool AuthFindings::failed() const {
  if (dmarc && dmarc->result == auth::dmarc::Result::Fail) return true;
  if (spf && spf->result == auth::spf::Result::Fail) return true;
  return dkim && !dkim_passed(*dkim) &&
         std::any_of(dkim->begin(), dkim->end(), [](const auth::DkimCheck& check) {
           return check.verdict.status == auth::DkimStatus::Fail;
         });
}

std::string AuthFindings::summary() const {
  std::string out;
  if (spf) out += "spf:" + std::string(auth::spf::result_name(spf->result));
  if (dkim) {
    out += out.empty() ? "dkim:" : ",dkim:";
    if (dkim->empty()) out += "none";
    for (std::size_t i = 0; i < dkim->size(); ++i) {
      if (i > 0) out += '+';
      out += auth::to_string((*dkim)[i].verdict.status);
    }
  }
  // A message without ARC sets (most) says nothing about it.
  if (arc && arc->status != auth::ArcStatus::None) {
    out += (out.empty() ? "arc:" : ",arc:") + std::string(auth::to_string(arc->status));
  }
  if (dmarc) {
    out +=
        (out.empty() ? "dmarc:" : ",dmarc:") + std::string(auth::dmarc::result_name(dmarc->result));
  }
  return out;
}

CheckResult judge_spf(const reputation::CheckSettings& settings, const auth::spf::Evaluation& spf) {
  const std::string why =
      fmt::format("SPF {} for {}{}{}", auth::spf::result_name(spf.result), spf.domain,
                  spf.mechanism.empty() ? "" : " by ", spf.mechanism);
  switch (spf.result) {
    case auth::spf::Result::Fail:
      return {{Verdict::cont(settings.points_for(Signal::SpfFail), Signal::SpfFail, why)}};
    case auth::spf::Result::SoftFail:
      return {{Verdict::cont(settings.points_for(Signal::SpfSoftfail), Signal::SpfSoftfail, why)}};
    default:
      return {};
  }
}

// A failing signature next to a passing one is common (a list footer broke the author's, the
// list's own passed): dkim_fail scores only when no signature passed.
CheckResult judge_dkim(const reputation::CheckSettings& settings,
                       const std::vector<auth::DkimCheck>& dkim) {
  CheckResult result;
  const auto failed = std::find_if(dkim.begin(), dkim.end(), [](const auth::DkimCheck& check) {
    return check.verdict.status == auth::DkimStatus::Fail && !check.verdict.testing;
  });
  if (failed != dkim.end() && !dkim_passed(dkim)) {
    result.verdicts.push_back(Verdict::cont(settings.points_for(Signal::DkimFail), Signal::DkimFail,
                                            fmt::format("DKIM d={} s={}: {}", failed->domain,
                                                        failed->selector, failed->verdict.reason)));
  }
  for (const auto& check : dkim) {
    if (check.verdict.status != auth::DkimStatus::Pass || check.verdict.unsigned_body_octets == 0) {
      continue;
    }
    result.verdicts.push_back(
        Verdict::cont(settings.points_for(Signal::DkimUnsignedContent), Signal::DkimUnsignedContent,
                      fmt::format("DKIM d={} l= leaves {} body octets unsigned", check.domain,
                                  check.verdict.unsigned_body_octets)));
    break;
  }
  return result;
}

AppliedDmarc applied_dmarc(const auth::DmarcCheck& dmarc, const DmarcEnforcement& enforcement) {
  using auth::dmarc::Policy;
  using Override = auth::dmarc_report::Override;
  if (dmarc.result != auth::dmarc::Result::Fail || !dmarc.record_found) return {};
  AppliedDmarc applied{sampled(dmarc.policy, dmarc.pct, enforcement.sample), Override::None};
  if (applied.policy != dmarc.policy) applied.reason = Override::SampledOut;
  if (applied.policy == Policy::Reject && !enforcement.reject) {
    applied = {Policy::Quarantine, Override::LocalPolicy};
  }
  if (applied.policy == Policy::Quarantine && !enforcement.quarantine) {
    applied = {Policy::None, Override::LocalPolicy};
  }
  if (applied.policy != Policy::None && enforcement.arc_vouch) {
    applied = {Policy::None, Override::TrustedForwarder};
  }
  if (applied.policy != Policy::None && enforcement.allowed) {
    applied = {Policy::None, Override::LocalPolicy};
  }
  return applied;
}

CheckResult judge_dmarc(const reputation::CheckSettings& settings, const auth::DmarcCheck& dmarc,
                        bool authenticated, const DmarcEnforcement& enforcement) {
  CheckResult result;
  if (dmarc.result == auth::dmarc::Result::Fail) {
    const auto policy = applied_dmarc(dmarc, enforcement).policy;
    std::string why = dmarc.record_found
                          ? fmt::format("DMARC fail for {} (p={}, pct={})", dmarc.from_domain,
                                        auth::dmarc::policy_name(dmarc.policy), dmarc.pct)
                          : fmt::format("DMARC fail: {}", dmarc.reason);
    if (enforcement.arc_vouch) {
      why += fmt::format(", not enforced: trusted ARC sealer {} recorded {}",
                         enforcement.arc_vouch->sealer, enforcement.arc_vouch->result);
    }
    switch (policy) {
      case auth::dmarc::Policy::Reject:
        result.verdicts.push_back(Verdict::reject(Signal::DmarcFail, why));
        break;
      case auth::dmarc::Policy::Quarantine:
        result.verdicts.push_back(Verdict::quarantine(Signal::DmarcFail, why));
        break;
      case auth::dmarc::Policy::None:
        result.verdicts.push_back(
            Verdict::cont(settings.points_for(Signal::DmarcFail), Signal::DmarcFail, why));
        break;
    }
  }
  if (!authenticated) {
    result.verdicts.push_back(Verdict::cont(settings.points_for(Signal::Unauthenticated),
                                            Signal::Unauthenticated,
                                            "neither SPF nor a DKIM signature passed"));
  }
  return result;
}

PendingCheck spf_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                       auth::spf::Options options, std::shared_ptr<AuthFindings> findings) {
  findings->spf_asked = true;
  return PendingCheck{
      settings, [&resolver, settings, options, findings]() -> asio::awaitable<CheckResult> {
        auto evaluation =
            co_await auth::spf::check_mail_from(resolver, findings->identity, options);
        findings->spf = evaluation;
        co_return judge_spf(settings, evaluation);
      }};
}

PendingCheck dkim_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        std::shared_ptr<const auth::MessageScanner> message,
                        auth::DkimKeyCache& keys, std::shared_ptr<AuthFindings> findings) {
  findings->dkim_asked = true;
  auth::DkimVerifyOptions options;
  options.now = static_cast<std::uint64_t>(unix_now());
  return PendingCheck{
      settings,
      [&resolver, &keys, settings, message, options, findings]() -> asio::awaitable<CheckResult> {
        auto checks = co_await message->verify_signatures(resolver, keys, options);
        findings->dkim = checks;
        co_return judge_dkim(settings, checks);
      },
      [&resolver, &keys, settings, message, options, findings]() -> std::optional<CheckResult> {
        auto checks = message->verify_signatures_now(resolver, keys, options);
        if (!checks) return std::nullopt;
        findings->dkim = std::move(*checks);
        return judge_dkim(settings, *findings->dkim);
      }};
}

PendingCheck arc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                       std::shared_ptr<const auth::MessageScanner> message,
                       auth::DkimKeyCache& keys, std::shared_ptr<AuthFindings> findings) {
  findings->arc_asked = true;
  auth::DkimVerifyOptions options;
  options.now = static_cast<std::uint64_t>(unix_now());
  return PendingCheck{
      settings,
      [&resolver, &keys, message, options, findings]() -> asio::awaitable<CheckResult> {
        auto verdict = co_await message->verify_arc(resolver, keys, options);
        findings->arc = std::move(verdict);
        co_return CheckResult{};
      },
      [&resolver, &keys, message, options, findings]() -> std::optional<CheckResult> {
        auto verdict = message->verify_arc_now(resolver, keys, options);
        if (!verdict) return std::nullopt;
        findings->arc = std::move(*verdict);
        return CheckResult{};
      }};
}

namespace {

// The row of the aggregate report (issue 22) for a message DMARC judged against a record.
auth::dmarc_report::Row report_row(const auth::DmarcCheck& dmarc, const AuthFindings& findings,
                                   AppliedDmarc applied, std::string client_ip) {
  namespace dr = auth::dmarc_report;
  dr::Row row;
  row.source_ip = std::move(client_ip);
  row.disposition = applied.policy;
  row.reason = applied.reason;
  row.dkim_aligned = dmarc.dkim_aligned;
  row.spf_aligned = dmarc.spf_aligned;
  row.header_from = dmarc.from_domain;
  row.envelope_from = common::ascii_lower(domain_of(findings.identity.sender));
  if (findings.dkim) {
    for (const auto& check : *findings.dkim) {
      if (row.dkim.size() == dr::kMaxDkimResults) break;
      row.dkim.push_back(
          {check.domain, check.selector, std::string(auth::to_string(check.verdict.status))});
    }
  }
  if (findings.spf) {
    row.spf = {findings.spf->domain, findings.identity.sender.empty() ? "helo" : "mfrom",
               std::string(auth::spf::result_name(findings.spf->result))};
  }
  return row;
}

// DMARC over what spf and dkim found, and arc for the trusted sealers.
asio::awaitable<CheckResult> run_dmarc(dns::Resolver& resolver, reputation::CheckSettings settings,
                                       std::shared_ptr<const auth::MessageScanner> message,
                                       DmarcRun run, std::shared_ptr<AuthFindings> findings) {
  static const std::vector<auth::DkimCheck> kNone;
  const auto& dkim = findings->dkim ? *findings->dkim : kNone;
  auto inputs = auth::dmarc_inputs(findings->spf ? &*findings->spf : nullptr, dkim);
  const bool authenticated = inputs.spf_pass || !inputs.dkim_passes.empty();
  auto dmarc =
      co_await auth::check_dmarc(resolver, message->from(), std::move(inputs), run.lookup);
  findings->dmarc = dmarc;
  auto& enforcement = run.enforcement;
  // Only a policy that would be applied needs a voucher (and gets the log line).
  if (dmarc.result == auth::dmarc::Result::Fail && dmarc.record_found &&
      dmarc.policy != auth::dmarc::Policy::None && findings->arc) {
    enforcement.arc_vouch =
        auth::trusted_arc_vouch(*findings->arc, dmarc.from_domain, run.trusted_sealers);
    findings->dmarc_vouched = enforcement.arc_vouch;
  }
  const bool judged = dmarc.result == auth::dmarc::Result::Pass ||
                      dmarc.result == auth::dmarc::Result::Fail;
  if (run.reports != nullptr && judged && dmarc.record && !dmarc.record->rua.empty()) {
    auto applied = applied_dmarc(dmarc, enforcement);
    if (settings.mode == reputation::CheckSettings::Mode::Observe &&
        applied.policy != auth::dmarc::Policy::None) {
      applied = {auth::dmarc::Policy::None, auth::dmarc_report::Override::LocalPolicy};
    }
    run.reports->record({dmarc.record_domain, *dmarc.record},
                        report_row(dmarc, *findings, applied, std::move(run.client_ip)),
                        unix_now());
  }
  co_return judge_dmarc(settings, dmarc, authenticated, enforcement);
}

}  // namespace

PendingCheck dmarc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                         std::shared_ptr<const auth::MessageScanner> message, DmarcRun run,
                         std::shared_ptr<AuthFindings> findings) {
  findings->dmarc_asked = true;
  return PendingCheck{settings, [&resolver, settings, message, run = std::move(run), findings] {
                        return run_dmarc(resolver, settings, message, run, findings);
                      }};
}

namespace {

auth::dmarc::PolicyLookup policy_lookup(const conf::AuthConfig& config) {
  return config.dmarc_policy_lookup == conf::AuthConfig::PolicyLookup::TreeWalk
             ? auth::dmarc::PolicyLookup::TreeWalk
             : auth::dmarc::PolicyLookup::PublicSuffixList;
}

// Uniform in [0, 1), for DMARC's pct= sampling.
double sample() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(generator);
}

// A transaction being authenticated: MAIL created its findings.
bool authenticating(const CheckContext& context) {
  return context.authenticating() && context.facts->auth != nullptr;
}

}  // namespace

void add_spf(const CheckContext& context, const reputation::CheckSettings& settings,
             std::vector<PendingCheck>& out) {
  if (!authenticating(context)) return;
  auth::spf::Options options;
  options.receiver = context.config.server.hostname;
  options.now = unix_now();
  out.push_back(spf_check(*context.services.resolver, settings, options, context.facts->auth));
}

void add_dkim(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out) {
  if (!authenticating(context) || !context.message || context.services.dkim_keys == nullptr) {
    return;
  }
  out.push_back(dkim_check(*context.services.resolver, settings, context.message,
                           *context.services.dkim_keys, context.facts->auth));
}

void add_arc(const CheckContext& context, const reputation::CheckSettings& settings,
             std::vector<PendingCheck>& out) {
  if (!authenticating(context) || !context.message || context.services.dkim_keys == nullptr) {
    return;
  }
  out.push_back(arc_check(*context.services.resolver, settings, context.message,
                          *context.services.dkim_keys, context.facts->auth));
}

void add_dmarc(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out) {
  if (!authenticating(context) || !context.message) return;
  DmarcRun run;
  run.lookup = policy_lookup(context.config.auth);
  run.enforcement.reject = context.config.auth.dmarc_reject;
  run.enforcement.quarantine = context.config.auth.dmarc_quarantine;
  run.enforcement.allowed = context.allowed;
  run.enforcement.sample = sample();
  run.trusted_sealers = context.config.auth.trusted_arc_sealers;
  if (context.config.dmarc_reports.enabled) {
    run.reports = context.services.dmarc_reports;
    run.client_ip = context.client.ip_text;
  }
  out.push_back(
      dmarc_check(*context.services.resolver, settings, context.message, std::move(run),
                  context.facts->auth));
}

void prefetch_dkim(const CheckContext&, const auth::MessageScanner& message,
                   std::vector<std::string>& names) {
  for (auto& name : message.key_names()) names.push_back(std::move(name));
}

void prefetch_arc(const CheckContext&, const auth::MessageScanner& message,
                  std::vector<std::string>& names) {
  for (auto& name : message.arc_key_names()) names.push_back(std::move(name));
}

void prefetch_dmarc(const CheckContext& context, const auth::MessageScanner& message,
                    std::vector<std::string>& names) {
  if (!message.from().domain) return;
  const std::string& from = *message.from().domain;
  names.push_back("_dmarc." + from);
  const auto organization = auth::dmarc::organizational_domain(from);
  if (policy_lookup(context.config.auth) == auth::dmarc::PolicyLookup::PublicSuffixList &&
      organization != from) {
    names.push_back("_dmarc." + organization);
  }
}

void count_results(VerdictMetrics& metrics, const auth::AuthResults& results) {
  if (results.spf) metrics.count_auth("spf", results.spf->result);
  if (results.dkim.empty()) metrics.count_auth("dkim", "none");
  for (const auto& dkim : results.dkim) metrics.count_auth("dkim", dkim.result);
  if (results.dmarc) metrics.count_auth("dmarc", results.dmarc->result);
  if (results.arc) metrics.count_auth("arc", results.arc->result);
  if (results.iprev) metrics.count_auth("iprev", results.iprev->result);
}

auth::AuthResults auth_results(const AuthFindings& findings, const std::string& authserv_id,
                               const std::string& client_ip, const std::string& iprev,
                               const std::string& ptr_name) {
  auth::AuthResults results;
  results.authserv_id = authserv_id;
  if (findings.spf) {
    results.spf = auth::spf_entry(*findings.spf, findings.identity);
  } else if (findings.spf_asked) {
    auth::spf::Evaluation unfinished;
    unfinished.result = auth::spf::Result::TempError;
    unfinished.problem = "not finished in time";
    results.spf = auth::spf_entry(unfinished, findings.identity);
  }
  if (findings.dkim) {
    for (const auto& check : *findings.dkim) results.dkim.push_back(auth::dkim_entry(check));
  } else if (findings.dkim_asked) {
    results.dkim.push_back({"temperror", "", "", "", "not finished in time"});
  }
  if (findings.dmarc) {
    results.dmarc = auth::dmarc_entry(*findings.dmarc);
  } else if (findings.dmarc_asked) {
    results.dmarc = auth::AuthResults::Dmarc{"temperror", "", "", "not finished in time"};
  }
  if (findings.arc) {
    results.arc = auth::arc_entry(*findings.arc, client_ip);
  } else if (findings.arc_asked) {
    // RFC 8617 has no temperror: a chain not validated in time did not validate.
    results.arc =
        auth::AuthResults::Arc{"fail", "not finished in time", "", std::nullopt, client_ip};
  }
  if (!iprev.empty()) results.iprev = auth::AuthResults::Iprev{iprev, client_ip, ptr_name};
  return results;
}

}  // namespace mxgate::policy
