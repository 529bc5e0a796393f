#include "policy/throttle_checks.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>

#include "policy/check_table.hpp"
#include "policy/throttling.hpp"

namespace mxgate::policy {

namespace {

constexpr std::string_view kCheck = "throttle";  // its name in reputation/checks.cpp

// The outcome of a deferral (none: nothing to say), counted and remembered when enforced.
void judge(const CheckContext& context, const reputation::CheckSettings& settings,
           std::optional<throttle::Deferral> deferral, std::int64_t now_us,
           std::vector<reputation::CheckOutcome>& out) {
  if (!deferral) return;
  if (settings.mode == reputation::CheckSettings::Mode::Enforce) {
    context.services.throttling->deferred(context.client.keys.front(), *deferral, now_us);
  }
  out.push_back(reputation::CheckOutcome{
      settings, reputation::Verdict::drop(deferral->signal, std::move(deferral->reason)), false,
      false});
}

// Asks `limit` of the throttle's rules at this moment, when the throttle applies.
template <typename Limit>
void ask(const CheckContext& context, const reputation::CheckSettings& settings, Limit limit,
         std::vector<reputation::CheckOutcome>& out) {
  if (!throttle_applies(context)) return;
  const auto now_us = unix_now_us();
  judge(context, settings, limit(context.services.throttling->rules(), now_us), now_us, out);
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

void throttle_connect(const CheckContext& context, const reputation::CheckSettings& settings,
                      std::vector<reputation::CheckOutcome>& out) {
  ask(
      context, settings,
      [&](throttle::Throttle& rules, std::int64_t now) {
        return rules.connect(throttle_subject(context), now);
      },
      out);
}

void throttle_mail(const CheckContext& context, const reputation::CheckSettings& settings,
                   std::vector<reputation::CheckOutcome>& out) {
  ask(
      context, settings,
      [&](throttle::Throttle& rules, std::int64_t now) {
        return rules.mail(throttle_subject(context), now);
      },
      out);
}

void throttle_rcpt(const CheckContext& context, const reputation::CheckSettings& settings,
                   std::vector<reputation::CheckOutcome>& out) {
  ask(
      context, settings,
      [&](throttle::Throttle& rules, std::int64_t now) {
        return rules.rcpt(throttle_subject(context), now);
      },
      out);
}

// The auth_domain limits, for the domains that authenticated the message (read once spf, dkim
// and dmarc are done: this runs after them).
void throttle_message(const CheckContext& context, const reputation::CheckSettings& settings,
                      std::vector<reputation::CheckOutcome>& out) {
  const auto& auth = context.facts->auth;
  ask(
      context, settings,
      [&](throttle::Throttle& rules, std::int64_t now) {
        return rules.message(auth ? auth->authenticated_domains() : std::vector<std::string>(),
                             now);
      },
      out);
}

std::vector<reputation::CheckOutcome> dictionary_check(const CheckContext& context,
                                                       std::uint32_t unknown) {
  throttle::Deferral deferral{
      "dictionary", reputation::Signal::InvalidRecipients,
      fmt::format("dictionary attack: {} unknown recipients in one session", unknown), 0};
  std::vector<reputation::CheckOutcome> out;
  judge(context, check_settings(context.config, kCheck), std::move(deferral), unix_now_us(), out);
  return out;
}

void throttle_accepted(const CheckContext& context) {
  context.services.throttling->rules().accepted(throttle_subject(context), unix_now_us());
}

}  // namespace mxgate::policy
