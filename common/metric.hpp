// How a module declares its metrics (STYLE.md "Metrics"): a family's name and help text
// (MetricName), and its series resolved to handles once, at start-up, by these builders. Every
// series of a family is added with the same name and help, so a family's HELP line never
// depends on which series was registered first. The names themselves belong to the module that
// counts (server/metrics, relay/metrics, storage/metrics, policy/metrics, postmaster/metrics).
// Threading: call at start-up; the handles are safe to update from any thread. A GaugeToken
// belongs to one thread at a time.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <utility>

namespace mxgate::common {

struct MetricName {
  const char* name;
  const char* help;
};

inline prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& r,
                                                               const MetricName& n) {
  return prometheus::BuildCounter().Name(n.name).Help(n.help).Register(r);
}

inline prometheus::Counter& counter(prometheus::Registry& r, const MetricName& n,
                                    const prometheus::Labels& labels = {}) {
  return counter_family(r, n).Add(labels);
}

inline prometheus::Gauge& gauge(prometheus::Registry& r, const MetricName& n,
                                const prometheus::Labels& labels = {}) {
  return prometheus::BuildGauge().Name(n.name).Help(n.help).Register(r).Add(labels);
}

// Bucket boundaries are part of the exposition (alert rules and dashboards read them).
inline prometheus::Histogram& histogram(prometheus::Registry& r, const MetricName& n,
                                        const prometheus::Histogram::BucketBoundaries& buckets,
                                        const prometheus::Labels& labels = {}) {
  return prometheus::BuildHistogram().Name(n.name).Help(n.help).Register(r).Add(labels, buckets);
}

// One unit of a gauge while something holds it (a connection in use): held() adds one,
// reset() or destruction takes it away again. Moves with its holder.
class GaugeToken {
 public:
  GaugeToken() = default;
  GaugeToken(const GaugeToken&) = delete;
  GaugeToken& operator=(const GaugeToken&) = delete;
  GaugeToken(GaugeToken&& other) noexcept : gauge_(std::exchange(other.gauge_, nullptr)) {}
  GaugeToken& operator=(GaugeToken&& other) noexcept {
    if (this != &other) {
      reset();
      gauge_ = std::exchange(other.gauge_, nullptr);
    }
    return *this;
  }
  ~GaugeToken() { reset(); }

  void hold(prometheus::Gauge& gauge) {
    reset();
    gauge_ = &gauge;
    gauge_->Increment();
  }
  void reset() {
    if (gauge_ != nullptr) std::exchange(gauge_, nullptr)->Decrement();
  }

 private:
  prometheus::Gauge* gauge_ = nullptr;
};

}  // namespace mxgate::common
