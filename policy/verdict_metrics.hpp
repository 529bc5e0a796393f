// Policy metrics whose labels come from closed enums (reputation/verdict.hpp, the check list):
//   mxgate_verdicts_total{stage, action, signal}       what each stage decided (non-Continue)
//   mxgate_check_signals_total{check, signal, mode}     every signal a check raised; mode is
//                                                      "enforce" or "observe" (logged and
//                                                      counted only)
//   mxgate_auth_results_total{method, result}           authentication results of messages
//                                                      at end of data, as in their
//                                                      Authentication-Results (RFC 8601
//                                                      words; one per DKIM signature)
// Series are created on first use (most combinations never happen) and cached, so counting
// never looks a metric up by name. Thread-safe: any worker may count.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <string_view>

#include "reputation/checks.hpp"
#include "reputation/verdict.hpp"

namespace mxgate::policy {

class VerdictMetrics {
 public:
  explicit VerdictMetrics(prometheus::Registry& registry);

  void count_verdict(reputation::Stage stage, reputation::Action action, reputation::Signal signal);
  void count_signal(std::string_view check, reputation::Signal signal, bool observe);
  // `method`: spf, dkim, dmarc, arc or iprev; `result`: an RFC 8601 result word. Others are
  // ignored.
  void count_auth(std::string_view method, std::string_view result);

 private:
  static constexpr std::size_t kStages = 5;
  static constexpr std::size_t kActions = 6;
  static constexpr std::size_t kChecks = 32;  // known_checks() must fit
  prometheus::Family<prometheus::Counter>& verdicts_;
  prometheus::Family<prometheus::Counter>& signals_;
  prometheus::Family<prometheus::Counter>& auth_;
  static constexpr std::size_t kAuthMethods = 5, kAuthResults = 8;
  std::array<std::atomic<prometheus::Counter*>, kAuthMethods * kAuthResults> auth_series_{};
  std::array<std::atomic<prometheus::Counter*>, kStages * kActions * reputation::kSignalCount>
      verdict_series_{};
  std::array<std::atomic<prometheus::Counter*>, kChecks * reputation::kSignalCount * 2>
      signal_series_{};
};

}  // namespace mxgate::policy
