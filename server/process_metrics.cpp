#include "server/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/metric.hpp"
#include "server/version.hpp"

namespace mxgate::server {
namespace {

using common::gauge;
using Name = common::MetricName;

constexpr Name kCpu{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds"};
constexpr Name kResident{"process_resident_memory_bytes", "Resident memory size in bytes"};
constexpr Name kVirtual{"process_virtual_memory_bytes", "Virtual memory size in bytes"};
constexpr Name kOpenFds{"process_open_fds", "Number of open file descriptors"};
constexpr Name kMaxFds{"process_max_fds", "Maximum number of open file descriptors"};
constexpr Name kStart{"process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds"};
constexpr Name kBuild{"mxgate_build_info", "The running mxgate's version and commit (always 1)"};

// The fields of /proc/self/stat after the command name (proc(5): field 3 is the first).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string field; rest >> field;) fields.push_back(std::move(field));
  return fields;
}

double number(const std::vector<std::string>& fields, std::size_t proc_field) {
  const std::size_t i = proc_field - 3;
  if (i >= fields.size()) return 0;
  double value = 0;
  std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), value);
  return value;
}

double boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return count > 0 ? count - 1 : 0;  // not the iterator's own descriptor
}

}  // namespace

ProcessMetrics::ProcessMetrics(prometheus::Registry& r)
    : cpu_seconds_(common::counter(r, kCpu)),
      resident_bytes_(gauge(r, kResident)),
      virtual_bytes_(gauge(r, kVirtual)),
      open_fds_(gauge(r, kOpenFds)),
      max_fds_(gauge(r, kMaxFds)),
      start_time_(gauge(r, kStart)) {
  prometheus::BuildGauge()
      .Name(kBuild.name)
      .Help(kBuild.help)
      .Register(r)
      .Add({{"version", kVersion}, {"commit", kCommit}})
      .Set(1);
  const auto fields = stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  start_time_.Set(boot_time() + number(fields, 22) / ticks);  // starttime
  refresh();
}

void ProcessMetrics::refresh() {
  const auto fields = stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double cpu = (number(fields, 14) + number(fields, 15)) / ticks;  // utime + stime
  if (cpu > cpu_seen_) {
    cpu_seconds_.Increment(cpu - cpu_seen_);
    cpu_seen_ = cpu;
  }
  virtual_bytes_.Set(number(fields, 23));                                      // vsize
  resident_bytes_.Set(number(fields, 24) * static_cast<double>(sysconf(_SC_PAGESIZE)));  // rss
  open_fds_.Set(open_fds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) max_fds_.Set(static_cast<double>(limit.rlim_cur));
}

}  // namespace mxgate::server
