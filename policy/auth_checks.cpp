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

CheckResult judge_dmarc(const reputation::CheckSettings& settings, const auth::DmarcCheck& dmarc,
                        bool authenticated, const DmarcEnforcement& enforcement) {
  CheckResult result;
  if (dmarc.result == auth::dmarc::Result::Fail) {
    auto policy = dmarc.record_found ? sampled(dmarc.policy, dmarc.pct, enforcement.sample)
                                     : auth::dmarc::Policy::None;
    if (policy == auth::dmarc::Policy::Reject && !enforcement.reject) {
      policy = auth::dmarc::Policy::Quarantine;
    }
    if (policy == auth::dmarc::Policy::Quarantine && !enforcement.quarantine) {
      policy = auth::dmarc::Policy::None;
    }
    if (enforcement.allowed || enforcement.arc_vouch) policy = auth::dmarc::Policy::None;
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

// DMARC over what spf and dkim found, and arc for the trusted sealers.
asio::awaitable<CheckResult> run_dmarc(dns::Resolver& resolver, reputation::CheckSettings settings,
                                       std::shared_ptr<const auth::MessageScanner> message,
                                       auth::dmarc::PolicyLookup lookup,
                                       DmarcEnforcement enforcement,
                                       std::vector<std::string> trusted_sealers,
                                       std::shared_ptr<AuthFindings> findings) {
  static const std::vector<auth::DkimCheck> kNone;
  const auto& dkim = findings->dkim ? *findings->dkim : kNone;
  auto inputs = auth::dmarc_inputs(findings->spf ? &*findings->spf : nullptr, dkim);
  const bool authenticated = inputs.spf_pass || !inputs.dkim_passes.empty();
  auto dmarc = co_await auth::check_dmarc(resolver, message->from(), std::move(inputs), lookup);
  findings->dmarc = dmarc;
  // Only a policy that would be applied needs a voucher (and gets the log line).
  if (dmarc.result == auth::dmarc::Result::Fail && dmarc.record_found &&
      dmarc.policy != auth::dmarc::Policy::None && findings->arc) {
    enforcement.arc_vouch =
        auth::trusted_arc_vouch(*findings->arc, dmarc.from_domain, trusted_sealers);
    findings->dmarc_vouched = enforcement.arc_vouch;
  }
  co_return judge_dmarc(settings, dmarc, authenticated, enforcement);
}

}  // namespace

PendingCheck dmarc_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                         std::shared_ptr<const auth::MessageScanner> message,
                         auth::dmarc::PolicyLookup lookup, DmarcEnforcement enforcement,
                         std::vector<std::string> trusted_sealers,
                         std::shared_ptr<AuthFindings> findings) {
  findings->dmarc_asked = true;
  return PendingCheck{settings, [&resolver, settings, message, lookup, enforcement,
                                 trusted = std::move(trusted_sealers), findings] {
                        return run_dmarc(resolver, settings, message, lookup, enforcement, trusted,
                                         findings);
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
  DmarcEnforcement enforcement;
  enforcement.reject = context.config.auth.dmarc_reject;
  enforcement.quarantine = context.config.auth.dmarc_quarantine;
  enforcement.allowed = context.allowed;
  enforcement.sample = sample();
  out.push_back(dmarc_check(*context.services.resolver, settings, context.message,
                            policy_lookup(context.config.auth), enforcement,
                            context.config.auth.trusted_arc_sealers, context.facts->auth));
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
