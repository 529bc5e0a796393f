// Greylisting: the server's side of throttle::Greylist (issue 20). One per process, shared by
// every worker: the triplets and IPs it remembers, and the metrics
//   mxgate_greylist_total{result}  RCPTs the greylist decided, by result:
//     greylisted     a first attempt (or one after max_delay): 451, the wait starts
//     retried_early  a retry before min_delay: 451 again
//     passed         a retry in the window: accepted, the triplet remembered
//     known          a triplet that passed before: accepted
//     auto_allowed   a client IP with greylist.auto_allow passes: accepted
//     full           a new triplet while greylist.max_entries are kept: 451, not remembered
//   mxgate_greylist_entries         triplets and IPs in memory
// Its state is saved and loaded with the throttle's (Throttling::save/load; keys "G|...").
// Threading: thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>

#include "conf/config.hpp"
#include "throttle/greylist.hpp"

namespace mxgate::policy {

class Greylisting {
 public:
  Greylisting(const conf::GreylistConfig& config, prometheus::Registry& registry);

  void configure(const conf::GreylistConfig& config);
  // Decides, counts and returns; the caller refuses unless throttle::lets_through(result).
  throttle::GreylistResult check(const throttle::Triplet& triplet, std::int64_t now_us);

  throttle::Greylist& greylist() { return greylist_; }
  void update_gauges();

 private:
  throttle::Greylist greylist_;
  std::array<prometheus::Counter*, throttle::kGreylistResults> results_{};
  prometheus::Gauge& entries_;
};

}  // namespace mxgate::policy
