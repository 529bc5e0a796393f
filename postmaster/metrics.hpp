// The postmaster side's Prometheus metrics (portal, delisting, complaint reports), declared
// once and resolved to handles at start-up (STYLE.md "Metrics"); label values come from fixed
// sets, never from an IP or a domain.
//   mxgate_portal_lookups_total{status}        portal lookups by the status they showed
//   mxgate_portal_rate_limited_total           portal requests refused with 429
//   mxgate_delist_requests_total{outcome}      delisting requests by outcome (the Portal adds
//                                              its series, one per DelistOutcome)
//   mxgate_delist_decisions_total{decision}    requests approved or denied (the admin API)
//   mxgate_complaints_total{source}            ARF reports counted: api (the admin API) or mail
//                                              (FeedbackIntake)
// Threading: one PostmasterMetrics for the process, shared by the portal, the admin API and
// every worker's FeedbackIntake (prometheus-cpp handles are thread-safe). It outlives them.
// Failure: the constructor throws std::invalid_argument when a name is already registered with
// another type (a bug, at start-up); counting never fails.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace mxgate::postmaster {

struct PostmasterMetrics {
  explicit PostmasterMetrics(prometheus::Registry& registry);

  prometheus::Counter& portal_lookups_blocked;  // lookups by the status they showed
  prometheus::Counter& portal_lookups_deferred;
  prometheus::Counter& portal_lookups_not_listed;
  prometheus::Counter& portal_lookups_invalid;               // not an IP: 400
  prometheus::Counter& portal_rate_limited;                  // 429
  prometheus::Family<prometheus::Counter>& delist_requests;  // {outcome}
  prometheus::Counter& delist_approved_by_admin;             // decisions through the admin API
  prometheus::Counter& delist_denied_by_admin;
  prometheus::Counter& complaints_api;  // ARF reports counted, by how they came
  prometheus::Counter& complaints_mail;
};

}  // namespace mxgate::postmaster
