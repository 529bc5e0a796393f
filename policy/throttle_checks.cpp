#include "policy/throttle_checks.hpp"

#include <fmt/format.h>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "policy/check_table.hpp"
#include "policy/throttling.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kCheck = "throttle";  // its name in reputation/checks.cpp

using Limit = std::function<std::optional<throttle::Deferral>(throttle::Throttle&, std::int64_t)>;

// The verdict of a deferral (none: no verdict), counted and remembered when enforced.
CheckResult judge(const Services& services, const reputation::CheckSettings& settings,
                  const std::string& ip_key, std::optional<throttle::Deferral> deferral,
                  std::int64_t now_us) {
  if (!deferral) return CheckResult{};
  if (settings.mode == reputation::CheckSettings::Mode::Enforce) {
    services.throttling->deferred(ip_key, *deferral, now_us);
  }
  return CheckResult{{reputation::Verdict::drop(deferral->signal, std::move(deferral->reason))}};
}

// Never awaited: a throttle check always answers now.
asio::awaitable<CheckResult> answered(std::function<std::optional<CheckResult>()> now) {
  co_return now().value_or(CheckResult{});
}

// A check that asks `limit` when the pipeline runs it (once).
PendingCheck limit_check(const CheckContext& context, const reputation::CheckSettings& settings,
                         Limit limit) {
  std::function<std::optional<CheckResult>()> now =
      [&services = context.services, settings, ip_key = context.client.keys.front(),
       limit = std::move(limit)]() -> std::optional<CheckResult> {
    const auto now_us = unix_now_us();
    return judge(services, settings, ip_key, limit(services.throttling->rules(), now_us), now_us);
  };
  return PendingCheck{settings, [now] { return answered(now); }, now};
}

}  // namespace

bool throttle_applies(const CheckContext& context) {
  return context.services.throttling != nullptr && context.config.throttle.enabled &&
         context.client.address && !context.client.keys.empty() && !context.client.trusted &&
         !context.allowed;
}

bool throttle_on(const CheckContext& context) {
  return throttle_applies(context) &&
         check_settings(context.config, kCheck).mode != reputation::CheckSettings::Mode::Off;
}

throttle::Subject throttle_subject(const CheckContext& context) {
  const auto& keys = context.client.keys;
  const auto& history = context.facts->history;
  throttle::Subject s;
  if (!keys.empty()) s.ip = keys.front();
  if (keys.size() > 1) s.network = keys.back();  // the most specific network
  s.sender_domain = std::string(context.sender_domain);
  if (history.ip) s.ip_history = *history.ip;
  if (history.network) s.network_history = *history.network;
  s.sender_domain_history = history.sender_domain;
  return s;
}

void add_throttle_connect(const CheckContext& context, const reputation::CheckSettings& settings,
                          std::vector<PendingCheck>& out) {
  if (!throttle_applies(context)) return;
  out.push_back(limit_check(context, settings,
                            [subject = throttle_subject(context)](auto& rules, std::int64_t now) {
                              return rules.connect(subject, now);
                            }));
}

void add_throttle_mail(const CheckContext& context, const reputation::CheckSettings& settings,
                       std::vector<PendingCheck>& out) {
  if (!throttle_applies(context)) return;
  out.push_back(limit_check(context, settings,
                            [subject = throttle_subject(context)](auto& rules, std::int64_t now) {
                              return rules.mail(subject, now);
                            }));
}

void add_throttle_rcpt(const CheckContext& context, const reputation::CheckSettings& settings,
                       std::vector<PendingCheck>& out) {
  if (!throttle_applies(context)) return;
  out.push_back(limit_check(context, settings,
                            [subject = throttle_subject(context)](auto& rules, std::int64_t now) {
                              return rules.rcpt(subject, now);
                            }));
}

// The auth_domain limits, for the domains that authenticated the message (read once spf, dkim
// and dmarc are done: this runs after them).
void add_throttle_message(const CheckContext& context, const reputation::CheckSettings& settings,
                          std::vector<PendingCheck>& out) {
  if (!throttle_applies(context)) return;
  out.push_back(
      limit_check(context, settings, [auth = context.facts->auth](auto& rules, std::int64_t now) {
        return rules.message(auth ? auth->authenticated_domains() : std::vector<std::string>(),
                             now);
      }));
}

PendingCheck dictionary_check(const CheckContext& context, std::uint32_t unknown) {
  throttle::Deferral deferral{
      "dictionary", reputation::Signal::InvalidRecipients,
      fmt::format("dictionary attack: {} unknown recipients in one session", unknown), 0};
  return limit_check(context, check_settings(context.config, kCheck),
                     [deferral](auto&, std::int64_t) { return std::optional(deferral); });
}

void throttle_accepted(const CheckContext& context) {
  context.services.throttling->rules().accepted(throttle_subject(context), unix_now_us());
}

}  // namespace mxgate::policy
