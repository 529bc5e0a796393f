#include "policy/check_table.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <stdexcept>
#include <string>

#include "policy/auth_checks.hpp"
#include "policy/content_checks.hpp"
#include "policy/dns_checks.hpp"
#include "policy/history_checks.hpp"
#include "policy/throttle_checks.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using reputation::Stage;

namespace {

// clang-format off
constexpr CheckEntry kTable[] = {
  // name                    stage             phase          add                        prefetch / decide
  {"ip_history",            Stage::Connect,   Phase::First,  add_ip_history},
  {"pregreet",              Stage::Connect,   Phase::Main,   nullptr},  // the session's
  {"rdns",                  Stage::Connect,   Phase::Main,   add_rdns},
  {"dnsbl",                 Stage::Connect,   Phase::Main,   add_dnsbl},
  {"throttle",              Stage::Connect,   Phase::Limits, nullptr, nullptr,          throttle_connect},
  {"helo",                  Stage::Helo,      Phase::Main,   add_helo},
  {"spf",                   Stage::Mail,      Phase::Main,   add_spf},
  {"sender_domain_history", Stage::Mail,      Phase::Main,   add_sender_domain_history},
  {"sender_domain",         Stage::Mail,      Phase::Main,   add_sender_domain},
  {"rhsbl",                 Stage::Mail,      Phase::Main,   add_rhsbl},
  {"throttle",              Stage::Mail,      Phase::Limits, nullptr, nullptr,          throttle_mail},
  {"throttle",              Stage::Rcpt,      Phase::Limits, nullptr, nullptr,          throttle_rcpt},
  {"dkim",                  Stage::EndOfData, Phase::Main,   add_dkim,                  prefetch_dkim},
  {"arc",                   Stage::EndOfData, Phase::Main,   add_arc,                   prefetch_arc},
  {"format",                Stage::EndOfData, Phase::Main,   add_format},
  {"linked_domains",        Stage::EndOfData, Phase::Main,   add_linked_domains},
  {"dmarc",                 Stage::EndOfData, Phase::Then,   add_dmarc,                 prefetch_dmarc},
  {"bulk_unsubscribe",      Stage::EndOfData, Phase::Then,   add_bulk_unsubscribe},
  {"throttle",              Stage::EndOfData, Phase::Limits, nullptr, nullptr,          throttle_message},
};
// clang-format on

constexpr std::array<Phase, 4> kPhases{Phase::First, Phase::Main, Phase::Then, Phase::Limits};

bool off(const reputation::CheckSettings& settings) {
  return settings.mode == reputation::CheckSettings::Mode::Off;
}

}  // namespace

std::span<const CheckEntry> check_table() { return kTable; }

const reputation::CheckSettings& check_settings(const conf::Config& config, std::string_view name) {
  for (const auto& settings : config.checks) {
    if (settings.name == name) return settings;
  }
  throw std::logic_error("unknown check " + std::string(name));  // checks.cpp lists them all
}

namespace {

// Moves the checks of `provided` named `name` (all of them when name is empty) to `out`.
void take(std::vector<PendingCheck>& provided, std::string_view name,
          std::vector<PendingCheck>& out) {
  for (auto it = provided.begin(); it != provided.end();) {
    if (!name.empty() && it->settings.name != name) {
      ++it;
      continue;
    }
    out.push_back(std::move(*it));
    it = provided.erase(it);
  }
}

}  // namespace

std::vector<PendingCheck> stage_checks(Stage stage, Phase phase, const CheckContext& context,
                                       std::vector<PendingCheck>& provided) {
  std::vector<PendingCheck> checks;
  for (const auto& entry : kTable) {
    if (entry.stage != stage || entry.phase != phase || entry.decide != nullptr) continue;
    if (entry.add == nullptr) {
      take(provided, entry.name, checks);
      continue;
    }
    const auto& settings = check_settings(context.config, entry.name);
    if (!off(settings)) entry.add(context, settings, checks);
  }
  if (phase == Phase::Main) take(provided, {}, checks);
  return checks;
}

// The outcomes of the phase's DecideNow checks, appended to `out`; how many were asked.
std::size_t decide_now(Stage stage, Phase phase, const CheckContext& context,
                       std::vector<reputation::CheckOutcome>& out) {
  std::size_t asked = 0;
  for (const auto& entry : kTable) {
    if (entry.stage != stage || entry.phase != phase || entry.decide == nullptr) continue;
    const auto& settings = check_settings(context.config, entry.name);
    if (off(settings)) continue;
    entry.decide(context, settings, out);
    ++asked;
  }
  return asked;
}

asio::awaitable<StageRun> run_stage_checks(Stage stage, Phase first, Phase last,
                                           const CheckContext& context,
                                           std::vector<PendingCheck> provided) {
  StageRun run;
  for (const Phase phase : kPhases) {
    if (phase < first || phase > last) continue;
    auto checks = stage_checks(stage, phase, context, provided);
    if (!checks.empty()) {
      run.checks += checks.size();
      auto answered = co_await run_checks(std::move(checks));
      run.outcomes.insert(run.outcomes.end(), std::make_move_iterator(answered.begin()),
                          std::make_move_iterator(answered.end()));
    }
    run.checks += decide_now(stage, phase, context, run.outcomes);
  }
  co_return run;
}

std::vector<reputation::CheckOutcome> stage_outcomes_now(Stage stage, const CheckContext& context) {
  std::vector<reputation::CheckOutcome> outcomes;
  std::vector<PendingCheck> none;
  for (const Phase phase : kPhases) {
    auto checks = stage_checks(stage, phase, context, none);
    if (!checks.empty()) {
      auto answered = answer_now(std::move(checks));
      outcomes.insert(outcomes.end(), std::make_move_iterator(answered.begin()),
                      std::make_move_iterator(answered.end()));
    }
    decide_now(stage, phase, context, outcomes);
  }
  return outcomes;
}

std::vector<std::string> prefetch_names(const CheckContext& context,
                                        const auth::MessageScanner& message) {
  std::vector<std::string> names;
  for (const auto& entry : kTable) {
    if (entry.prefetch == nullptr || off(check_settings(context.config, entry.name))) continue;
    entry.prefetch(context, message, names);
  }
  return names;
}

}  // namespace mxgate::policy
