#include "milter/metrics.hpp"

#include "milter/client.hpp"

namespace mxgate::milter {

namespace {

// From a loopback filter's fraction of a millisecond to a slow scanner's seconds.
const prometheus::Histogram::BucketBoundaries kBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
constexpr std::array<const char*, 5> kErrorNames = {"connect", "timeout", "protocol", "negotiation",
                                                    "closed"};

}  // namespace

void FilterMetrics::error(const boost::system::error_code& ec) const {
  std::size_t at = static_cast<std::size_t>(Error::closed) - 1;
  if (ec.category() == error_category() && ec.value() >= 1 &&
      ec.value() <= static_cast<int>(kErrorNames.size())) {
    at = static_cast<std::size_t>(ec.value() - 1);
  }
  errors[at]->Increment();
}

MilterMonitor::MilterMonitor(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("mxgate_milter_requests_total")
                    .Help("Steps sent to a content filter ([[milter]]), by step")
                    .Register(registry)),
      actions_(prometheus::BuildCounter()
                   .Name("mxgate_milter_actions_total")
                   .Help("How a content filter ended its steps, by action")
                   .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("mxgate_milter_errors_total")
                  .Help("Content filter failures (its default_action applied), by kind")
                  .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("mxgate_milter_seconds")
                   .Help("Time of a content filter's step, its answer included")
                   .Register(registry)),
      connections_(prometheus::BuildCounter()
                       .Name("mxgate_milter_connections_total")
                       .Help("Content filter connections taken by sessions: new, or kept from "
                             "an earlier session (reused)")
                       .Register(registry)) {}

std::shared_ptr<const FilterMetrics> MilterMonitor::filter(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = filters_[name];
  if (slot) return slot;
  auto m = std::make_shared<FilterMetrics>();
  for (std::size_t i = 0; i < m->requests.size(); ++i) {
    m->requests[i] = &requests_.Add({{"milter", name}, {"step", step_name(static_cast<Step>(i))}});
  }
  for (std::size_t i = 0; i < m->actions.size(); ++i) {
    m->actions[i] =
        &actions_.Add({{"milter", name}, {"action", kind_name(static_cast<Answer::Kind>(i))}});
  }
  for (std::size_t i = 0; i < m->errors.size(); ++i) {
    m->errors[i] = &errors_.Add({{"milter", name}, {"kind", kErrorNames[i]}});
  }
  m->seconds = &seconds_.Add({{"milter", name}}, kBuckets);
  m->connections[0] = &connections_.Add({{"milter", name}, {"reused", "false"}});
  m->connections[1] = &connections_.Add({{"milter", name}, {"reused", "true"}});
  slot = std::move(m);
  return slot;
}

}  // namespace mxgate::milter
