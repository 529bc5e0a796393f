#include "reputation/model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace mxgate::reputation {
namespace {

// "num / den > limit", without a division, and only with enough volume.
bool above(double num, double den, double limit, double min_volume) {
  return den > 0 && den >= min_volume && num > limit * den;
}

std::string listing_reason(const Listing& listing, std::string_view what) {
  std::string reason = fmt::format("{} {} by {}", what,
                                   listing.action == ListingAction::Block ? "blocked" : "allowed",
                                   listing.source.empty() ? "operator" : listing.source);
  if (!listing.reason.empty()) reason += ": " + listing.reason;
  return reason;
}

// The IP's own active listing wins over its network's.
std::optional<Verdict> listing_verdict(const Record& ip, const Record* network, std::int64_t now,
                                       std::string_view what) {
  const Listing* listing = nullptr;
  if (ip.listing.active(now)) {
    listing = &ip.listing;
  } else if (network != nullptr && network->listing.active(now)) {
    listing = &network->listing, what = "network";
  }
  if (listing == nullptr) return std::nullopt;
  if (listing->action == ListingAction::Block) {
    return Verdict::reject(Signal::ManualBlock, listing_reason(*listing, what));
  }
  return Verdict::accept(Signal::ManualAllow, listing_reason(*listing, what));
}

void add_ratio_signals(const Counters& c, const ModelSettings& s, int days,
                       std::vector<Verdict>& out) {
  const double accepted = c.accepted;
  const double attempts = static_cast<double>(c.accepted) + c.rejected;
  if (above(c.rejected, attempts, s.reject_ratio, s.reject_ratio_min_volume)) {
    out.push_back(Verdict::cont(
        s.reject_ratio_points, Signal::RejectRatio,
        fmt::format("{} of {} refused in {} days", c.rejected, c.accepted + c.rejected, days)));
  }
  if (above(c.complaints, accepted, s.complaint_rate, s.complaint_min_delivered)) {
    out.push_back(Verdict::cont(s.complaint_points, Signal::ComplaintRate,
                                fmt::format("{} complaints about {} delivered in {} days",
                                            c.complaints, c.accepted, days)));
  }
  if (above(c.invalid_recipients, attempts, s.invalid_recipient_ratio,
            s.invalid_recipient_min_volume)) {
    out.push_back(Verdict::cont(s.invalid_recipient_points, Signal::InvalidRecipients,
                                fmt::format("{} invalid recipients of {} in {} days",
                                            c.invalid_recipients, c.accepted + c.rejected, days)));
  }
}

std::optional<Verdict> first_seen_verdict(const Record& ip, std::int64_t now,
                                          const ModelSettings& s) {
  if (ip.first_seen == 0) return Verdict::cont(0, Signal::FirstSeenRecently, "never seen before");
  const std::int64_t age = now - ip.first_seen;
  if (age >= static_cast<std::int64_t>(s.first_seen_recent_days) * kSecondsPerDay) {
    return std::nullopt;
  }
  return Verdict::cont(0, Signal::FirstSeenRecently,
                       fmt::format("first seen {} days ago", age / kSecondsPerDay));
}

}  // namespace

double decayed_score(const Record& record, std::int64_t now, double half_life_days) {
  const std::int64_t elapsed = now - record.score_at;
  if (half_life_days <= 0 || elapsed <= 0) return record.score;
  const double half_lives =
      static_cast<double>(elapsed) / (half_life_days * static_cast<double>(kSecondsPerDay));
  return record.score * std::exp2(-half_lives);
}

Counters totals(const Record& record, std::int64_t now, int days) {
  Counters sum;
  if (days <= 0 || now < 0) return sum;
  const std::int64_t today = now / kSecondsPerDay;
  const std::int64_t first = today - days + 1;
  for (const auto& day : record.days) {
    if (day.day >= first && day.day <= today) sum += day.counters;
  }
  return sum;
}

std::vector<Verdict> assess(const Record& ip, const Record* network, std::int64_t now,
                            const ModelSettings& settings, std::string_view subject) {
  std::vector<Verdict> out;
  if (auto listing = listing_verdict(ip, network, now, subject)) {
    out.push_back(std::move(*listing));
  }

  const double score = decayed_score(ip, now, settings.score_half_life_days);
  if (score >= settings.poor_score) {
    out.push_back(
        Verdict::cont(settings.poor_points, Signal::ReputationPoor,
                      fmt::format("reputation score {:.1f} >= {:g}", score, settings.poor_score)));
  }
  add_ratio_signals(totals(ip, now, settings.history_days), settings, settings.history_days, out);
  if (auto first = first_seen_verdict(ip, now, settings)) out.push_back(std::move(*first));
  return out;
}

}  // namespace mxgate::reputation
