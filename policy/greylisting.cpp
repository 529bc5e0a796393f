#include "policy/greylisting.hpp"

#include <chrono>

namespace mxgate::policy {
namespace {

std::int64_t micros(conf::Duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

throttle::GreylistSettings settings_of(const conf::GreylistConfig& config) {
  return throttle::GreylistSettings{.min_delay_us = micros(config.min_delay),
                                    .max_delay_us = micros(config.max_delay),
                                    .pass_ttl_us = micros(config.pass_ttl),
                                    .auto_allow = config.auto_allow,
                                    .max_entries = config.max_entries};
}

}  // namespace

Greylisting::Greylisting(const conf::GreylistConfig& config, prometheus::Registry& registry)
    : greylist_(settings_of(config)),
      entries_(prometheus::BuildGauge()
                   .Name("mxgate_greylist_entries")
                   .Help("Greylisting triplets and auto-allow IPs in memory")
                   .Register(registry)
                   .Add({})) {
  auto& family = prometheus::BuildCounter()
                     .Name("mxgate_greylist_total")
                     .Help("Recipients the greylist decided, by result")
                     .Register(registry);
  for (std::size_t i = 0; i < results_.size(); ++i) {
    const auto result = static_cast<throttle::GreylistResult>(i);
    results_[i] = &family.Add({{"result", std::string(throttle::greylist_result_name(result))}});
  }
}

void Greylisting::configure(const conf::GreylistConfig& config) {
  greylist_.configure(settings_of(config));
}

throttle::GreylistResult Greylisting::check(const throttle::Triplet& triplet, std::int64_t now_us) {
  const auto result = greylist_.check(triplet, now_us);
  results_[static_cast<std::size_t>(result)]->Increment();
  return result;
}

void Greylisting::update_gauges() { entries_.Set(static_cast<double>(greylist_.size())); }

}  // namespace mxgate::policy
