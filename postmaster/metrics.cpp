#include "postmaster/metrics.hpp"

#include "common/metric.hpp"

namespace mxgate::postmaster {
namespace {

using common::counter;
using Name = common::MetricName;

constexpr Name kLookups{"mxgate_portal_lookups_total",
                        "Postmaster portal lookups by the status shown"};
constexpr Name kRateLimited{"mxgate_portal_rate_limited_total",
                            "Portal requests refused with 429 (portal.requests_per_minute)"};
constexpr Name kDelistRequests{"mxgate_delist_requests_total",
                               "Delisting requests by outcome (approved, queued, not_needed, "
                               "already_open, quota, invalid, not_listed, error)"};
constexpr Name kDecisions{"mxgate_delist_decisions_total",
                          "Delisting requests decided through the admin API"};
constexpr Name kComplaints{"mxgate_complaints_total",
                           "Complaint reports (RFC 5965) counted, by how they arrived"};

}  // namespace

PostmasterMetrics::PostmasterMetrics(prometheus::Registry& r)
    : portal_lookups_blocked(counter(r, kLookups, {{"status", "blocked"}})),
      portal_lookups_deferred(counter(r, kLookups, {{"status", "deferred"}})),
      portal_lookups_not_listed(counter(r, kLookups, {{"status", "not_listed"}})),
      portal_lookups_invalid(counter(r, kLookups, {{"status", "invalid"}})),
      portal_rate_limited(counter(r, kRateLimited)),
      delist_requests(common::counter_family(r, kDelistRequests)),
      delist_approved_by_admin(counter(r, kDecisions, {{"decision", "approve"}})),
      delist_denied_by_admin(counter(r, kDecisions, {{"decision", "deny"}})),
      complaints_api(counter(r, kComplaints, {{"source", "api"}})),
      complaints_mail(counter(r, kComplaints, {{"source", "mail"}})) {}

}  // namespace mxgate::postmaster
