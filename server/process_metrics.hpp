// The process's own series, as Prometheus client libraries export them (the "process_"
// names of the exposition conventions), and mxgate_build_info{version,commit} (always 1).
//   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_open_fds, process_max_fds, process_start_time_seconds
// refresh() reads /proc/self (Linux); the runtime calls it with its other gauges, every
// reputation.flush_interval, on the control thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace mxgate::server {

class ProcessMetrics {
 public:
  explicit ProcessMetrics(prometheus::Registry& registry);
  void refresh();

 private:
  prometheus::Counter& cpu_seconds_;
  prometheus::Gauge& resident_bytes_;
  prometheus::Gauge& virtual_bytes_;
  prometheus::Gauge& open_fds_;
  prometheus::Gauge& max_fds_;
  prometheus::Gauge& start_time_;
  double cpu_seen_ = 0;  // what cpu_seconds_ has been told so far
};

}  // namespace mxgate::server
