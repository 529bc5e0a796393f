#include "dns/metrics.hpp"

#include <string>

namespace mxgate::dns {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Index into the type labels below; 0 ("other") for types without a label of their own.
constexpr std::array<const char*, 9> kTypeNames = {"other", "a",     "aaaa", "ptr", "txt",
                                                   "mx",    "cname", "ns",   "soa"};

std::size_t type_index(RecordType type) {
  switch (type) {
    case RecordType::A:
      return 1;
    case RecordType::AAAA:
      return 2;
    case RecordType::PTR:
      return 3;
    case RecordType::TXT:
      return 4;
    case RecordType::MX:
      return 5;
    case RecordType::CNAME:
      return 6;
    case RecordType::NS:
      return 7;
    case RecordType::SOA:
      return 8;
  }
  return 0;
}

// From a cache-side answer on a busy resolver (sub-millisecond) to a timeout after retries.
const prometheus::Histogram::BucketBoundaries kQueryBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

prometheus::Counter& simple_counter(prometheus::Registry& r, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

DnsMetrics::DnsMetrics(prometheus::Registry& r)
    : query_seconds(BuildHistogram()
                        .Name("mxgate_dns_query_seconds")
                        .Help("Latency of DNS queries sent to servers, timeouts included")
                        .Register(r)
                        .Add({}, kQueryBuckets)),
      cache_hits(
          simple_counter(r, "mxgate_dns_cache_hits_total", "DNS lookups answered from the cache")),
      cache_misses(
          simple_counter(r, "mxgate_dns_cache_misses_total", "DNS lookups that sent a query")),
      cache_coalesced(simple_counter(r, "mxgate_dns_cache_coalesced_total",
                                     "DNS lookups that waited for an identical query in flight")),
      cache_evictions(simple_counter(r, "mxgate_dns_cache_evictions_total",
                                     "DNS cache entries dropped to stay within the size bound")),
      cache_entries(BuildGauge()
                        .Name("mxgate_dns_cache_entries")
                        .Help("Entries in the DNS caches of all workers")
                        .Register(r)
                        .Add({})) {
  auto& family = BuildCounter()
                     .Name("mxgate_dns_queries_total")
                     .Help("DNS queries sent to servers by record type and outcome")
                     .Register(r);
  for (std::size_t t = 0; t < kTypeLabels; ++t) {
    for (std::size_t o = 0; o < kOutcomeCount; ++o) {
      const std::string outcome(to_string(static_cast<Outcome>(o)));
      queries_[t][o] = &family.Add({{"type", kTypeNames[t]}, {"outcome", outcome}});
    }
  }
}

prometheus::Counter& DnsMetrics::queries(RecordType type, Outcome outcome) {
  return *queries_[type_index(type)][static_cast<std::size_t>(outcome)];
}

}  // namespace mxgate::dns
