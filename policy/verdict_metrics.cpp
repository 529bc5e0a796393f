#include "policy/verdict_metrics.hpp"

#include <algorithm>
#include <string>

namespace mxgate::policy {

namespace {

// Family::Add is idempotent for equal labels, so two threads racing to create a series get the
// same counter; the cache only saves the lookup.
prometheus::Counter& cached(std::atomic<prometheus::Counter*>& slot,
                            prometheus::Family<prometheus::Counter>& family,
                            const prometheus::Labels& labels) {
  auto* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &family.Add(labels);
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

}  // namespace

VerdictMetrics::VerdictMetrics(prometheus::Registry& registry)
    : verdicts_(prometheus::BuildCounter()
                    .Name("mxgate_verdicts_total")
                    .Help("Policy decisions by SMTP stage, action and deciding signal")
                    .Register(registry)),
      signals_(prometheus::BuildCounter()
                   .Name("mxgate_check_signals_total")
                   .Help("Signals raised by checks; mode=\"observe\" ones were only logged")
                   .Register(registry)),
      auth_(prometheus::BuildCounter()
                .Name("mxgate_auth_results_total")
                .Help("Authentication results of messages at end of data (one per DKIM "
                      "signature), by method and RFC 8601 result")
                .Register(registry)) {
  static_assert(reputation::kSignalCount > 0);
}

void VerdictMetrics::count_verdict(reputation::Stage stage, reputation::Action action,
                                   reputation::Signal signal) {
  const auto s = static_cast<std::size_t>(stage);
  const auto a = static_cast<std::size_t>(action);
  const auto g = static_cast<std::size_t>(signal);
  if (s >= kStages || a >= kActions || g >= reputation::kSignalCount) return;
  cached(verdict_series_[(s * kActions + a) * reputation::kSignalCount + g], verdicts_,
         {{"stage", std::string(reputation::stage_name(stage))},
          {"action", std::string(reputation::action_name(action))},
          {"signal", std::string(reputation::signal_name(signal))}})
      .Increment();
}

void VerdictMetrics::count_signal(std::string_view check, reputation::Signal signal, bool observe) {
  const auto checks = reputation::known_checks();
  std::size_t c = 0;
  while (c < checks.size() && checks[c].name != check) ++c;
  const auto g = static_cast<std::size_t>(signal);
  if (c >= checks.size() || c >= kChecks || g >= reputation::kSignalCount) return;
  cached(signal_series_[(c * reputation::kSignalCount + g) * 2 + (observe ? 1 : 0)], signals_,
         {{"check", std::string(check)},
          {"signal", std::string(reputation::signal_name(signal))},
          {"mode", observe ? "observe" : "enforce"}})
      .Increment();
}

}  // namespace mxgate::policy

namespace mxgate::policy {

void VerdictMetrics::count_auth(std::string_view method, std::string_view result) {
  static constexpr std::array<std::string_view, kAuthMethods> kMethods{"spf", "dkim", "dmarc",
                                                                       "arc", "iprev"};
  static constexpr std::array<std::string_view, kAuthResults> kResults{
      "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"};
  const auto m = std::find(kMethods.begin(), kMethods.end(), method) - kMethods.begin();
  const auto r = std::find(kResults.begin(), kResults.end(), result) - kResults.begin();
  if (m >= static_cast<std::ptrdiff_t>(kAuthMethods) ||
      r >= static_cast<std::ptrdiff_t>(kAuthResults)) {
    return;
  }
  cached(auth_series_[static_cast<std::size_t>(m) * kAuthResults + static_cast<std::size_t>(r)],
         auth_, {{"method", std::string(method)}, {"result", std::string(result)}})
      .Increment();
}

}  // namespace mxgate::policy
