#include "postmaster/ip_report.hpp"

#include <algorithm>

namespace mxgate::postmaster {
namespace {

using reputation::Signal;

double weighted_points(const std::vector<reputation::Verdict>& verdicts) {
  double total = 0;
  for (const auto& v : verdicts) total += std::max(0.0, v.score);
  return total;
}

void add_reason(IpReport& report, Signal signal, std::string detail = {}) {
  for (const auto& r : report.reasons) {
    if (r.signal == signal && r.detail == detail) return;
  }
  report.reasons.push_back({signal, std::move(detail)});
}

// The block listing that decides, the IP's own before its network's.
void take_block_listing(IpReport& report, const reputation::Record* ip_record,
                        const NetworkShown* network, std::int64_t now) {
  report.status = IpReport::Status::Blocked;
  report.cause = IpReport::Cause::Listing;
  const reputation::Record* listed = nullptr;
  if (ip_record != nullptr && ip_record->listing.active(now)) {
    listed = ip_record;
  } else if (network != nullptr && network->record != nullptr) {
    listed = network->record;
    report.listed_network = network->cidr;
  }
  if (listed == nullptr) {
    report.manual = true;
    add_reason(report, Signal::ManualBlock);
    return;
  }
  report.since = listed->listing.created;
  report.until = listed->listing.expires;
  report.manual = !listed->listing.source.starts_with("auto");
  add_reason(report, Signal::ManualBlock, listed->listing.reason);
}

}  // namespace

std::string_view status_name(IpReport::Status status) {
  switch (status) {
    case IpReport::Status::NotListed:
      return "not listed";
    case IpReport::Status::Deferred:
      return "deferred";
    case IpReport::Status::Blocked:
      return "blocked";
  }
  return "not listed";
}

IpReport judge_ip(std::string ip, const reputation::Record* ip_record,
                  const std::vector<NetworkShown>& networks, const reputation::ModelSettings& model,
                  const reputation::Thresholds& thresholds,
                  const std::optional<DeferralShown>& deferral, std::int64_t now) {
  IpReport report;
  report.ip = std::move(ip);
  report.now = now;
  static const reputation::Record kNone;
  const NetworkShown* network = nullptr;
  for (const auto& n : networks) {
    if (n.record != nullptr && n.record->listing.active(now)) network = &n;  // most specific
  }
  const auto* network_record = network != nullptr ? network->record : nullptr;
  const auto verdicts =
      reputation::assess(ip_record ? *ip_record : kNone, network_record, now, model);
  for (const auto& v : verdicts) {
    if (v.signal == Signal::ManualAllow) report.allow_listed = true;
    if (v.signal == Signal::ManualBlock) take_block_listing(report, ip_record, network, now);
  }
  if (report.status == IpReport::Status::Blocked || report.allow_listed) return report;
  const double points = weighted_points(verdicts);
  for (const auto& v : verdicts) {
    if (v.score > 0) add_reason(report, v.signal);
  }
  if (thresholds.reject_at > 0 && points >= thresholds.reject_at) {
    report.status = IpReport::Status::Blocked;
    report.cause = IpReport::Cause::Score;
  } else if (thresholds.defer_at > 0 && points >= thresholds.defer_at) {
    report.status = IpReport::Status::Deferred;
    report.cause = IpReport::Cause::Score;
  }
  if (deferral && (deferral->until == 0 || deferral->until > now)) {
    if (report.status == IpReport::Status::NotListed) {
      report.status = IpReport::Status::Deferred;
      report.cause = IpReport::Cause::Deferral;
      report.since = deferral->at;
      report.until = deferral->until;
    }
    add_reason(report, deferral->signal, deferral->reason);
  }
  if (report.status == IpReport::Status::NotListed) report.reasons.clear();
  return report;
}

DelistDecision decide_delist(const IpReport& report) {
  using Outcome = DelistDecision::Outcome;
  DelistDecision d;
  if (report.status == IpReport::Status::NotListed) return d;
  if (report.request && report.request->state == DelistRequest::State::Open) {
    d.outcome = Outcome::RequestOpen;
    return d;
  }
  if (report.cause == IpReport::Cause::Deferral) {
    d.outcome = Outcome::WaitsOut;
    return d;
  }
  if (report.cause == IpReport::Cause::Blocklist) {
    d.outcome = Outcome::AskBlocklist;
    return d;
  }
  d.manual_listing = report.cause == IpReport::Cause::Listing && report.manual;
  d.network_listing = !report.listed_network.empty();
  d.relisted = report.last_delisted > 0 && report.now - report.last_delisted < kRelistWindowSeconds;
  d.reverse_dns_fails = !report.checks.pass();
  const bool review = d.manual_listing || d.network_listing || d.relisted || d.reverse_dns_fails;
  d.outcome = review ? Outcome::Review : Outcome::Immediate;
  return d;
}

std::string_view outcome_name(DelistDecision::Outcome outcome) {
  switch (outcome) {
    case DelistDecision::Outcome::NotListed:
      return "not-listed";
    case DelistDecision::Outcome::RequestOpen:
      return "request-open";
    case DelistDecision::Outcome::WaitsOut:
      return "wait";
    case DelistDecision::Outcome::AskBlocklist:
      return "ask-blocklist";
    case DelistDecision::Outcome::Immediate:
      return "immediate";
    case DelistDecision::Outcome::Review:
      return "review";
  }
  return "not-listed";
}

std::vector<std::string_view> review_reason_names(const DelistDecision& d) {
  std::vector<std::string_view> out;
  if (d.network_listing) out.push_back("network-listing");
  if (d.manual_listing) out.push_back("manual-listing");
  if (d.relisted) out.push_back("relisted");
  if (d.reverse_dns_fails) out.push_back("reverse-dns");
  return out;
}

}  // namespace mxgate::postmaster
