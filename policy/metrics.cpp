#include "policy/metrics.hpp"

#include "common/metric.hpp"

namespace mxgate::policy {
namespace {

using common::counter;
using Name = common::MetricName;

constexpr Name kLookups{"mxgate_reputation_lookups_total",
                        "Connect-time reputation lookups by how they were served"};
constexpr Name kLookupSeconds{
    "mxgate_reputation_lookup_seconds",
    "Connect-time reputation lookups (IP and networks) by how they were served"};
constexpr Name kUpdates{"mxgate_reputation_updates_total",
                        "Outcome counter updates for the reputation store"};
constexpr Name kQuarantined{"mxgate_quarantined_total", "Messages accepted into quarantine"};

// From the record cache (microseconds) to a read that waited for the disk.
const prometheus::Histogram::BucketBoundaries kLookupBuckets{
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1};

prometheus::Histogram& lookup_histogram(prometheus::Registry& r, const char* served) {
  return common::histogram(r, kLookupSeconds, kLookupBuckets, {{"served", served}});
}

}  // namespace

PolicyMetrics::PolicyMetrics(prometheus::Registry& r)
    : reputation_lookups_cached(counter(r, kLookups, {{"result", "cached"}})),
      reputation_lookups_blocking(counter(r, kLookups, {{"result", "blocking"}})),
      reputation_lookup_errors(counter(r, kLookups, {{"result", "error"}})),
      reputation_lookup_seconds_cached(lookup_histogram(r, "cached")),
      reputation_lookup_seconds_blocking(lookup_histogram(r, "blocking")),
      reputation_updates_written(counter(r, kUpdates, {{"result", "written"}})),
      reputation_updates_dropped(counter(r, kUpdates, {{"result", "dropped"}})),
      quarantined_messages(counter(r, kQuarantined)) {}

}  // namespace mxgate::policy
