// The content filters' Prometheus metrics (issue 18), per [[milter]] name (a label from the
// configuration, never from a client):
//   mxgate_milter_requests_total{milter,step}     steps sent (connect, helo, ..., end_of_body)
//   mxgate_milter_actions_total{milter,action}    how steps ended: continue, accept, reject,
//                                                 tempfail, discard, connection_fail, skip
//   mxgate_milter_errors_total{milter,kind}       connect, timeout, protocol, negotiation, closed
//   mxgate_milter_seconds{milter}                 a step's time, its answer included
//   mxgate_milter_connections_total{milter,reused} connections a session took: new ("false")
//                                                 or kept from an earlier session ("true")
// A FilterMetrics is resolved once per filter name (MilterMonitor::filter, at each
// configuration load) and shared by the sessions; counting is lock-free.
// Threading: MilterMonitor::filter() may run on any thread; the handles are thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <boost/system/error_code.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include "milter/conversation.hpp"

namespace mxgate::milter {

struct FilterMetrics {
  std::array<prometheus::Counter*, 9> requests{};  // by Step
  std::array<prometheus::Counter*, 7> actions{};   // by Answer::Kind
  std::array<prometheus::Counter*, 5> errors{};    // by Error - 1
  prometheus::Histogram* seconds = nullptr;
  std::array<prometheus::Counter*, 2> connections{};  // new, reused

  void request(Step step) const { requests[static_cast<std::size_t>(step)]->Increment(); }
  void action(Answer::Kind kind) const { actions[static_cast<std::size_t>(kind)]->Increment(); }
  void error(const boost::system::error_code& ec) const;  // a milter::Error; others: "closed"
  void connection(bool reused) const { connections[reused ? 1 : 0]->Increment(); }
};

class MilterMonitor {
 public:
  explicit MilterMonitor(prometheus::Registry& registry);
  // The metrics of the filter named `name`, created on first use. Stable.
  std::shared_ptr<const FilterMetrics> filter(const std::string& name);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& actions_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  prometheus::Family<prometheus::Counter>& connections_;
  std::mutex mutex_;  // guards filters_
  std::map<std::string, std::shared_ptr<const FilterMetrics>> filters_;
};

}  // namespace mxgate::milter
