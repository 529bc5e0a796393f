#include "server/verdict_metrics.hpp"

#include <string>

namespace mxgate::server {

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

void VerdictMetrics::count_signal(std::string_view check, reputation::Signal signal,
                                  bool observe) {
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

}  // namespace mxgate::server
