// The reputation model: turns one key's history (record.hpp) into verdicts for the connect
// stage's pipeline. Pure: a function of (record, now, settings); `now` is Unix seconds (UTC) so
// tests pass plain numbers. No I/O; storage/ loads the records. Thread-safe (no state).
//
// Signals and their default effect (all points are ModelSettings, weighted by the check's
// CheckSettings::weight in policy.hpp):
//   manual_block        Reject (explicit, acts at connect). A blocked network blocks its IPs
//                       unless the IP itself is allowed.
//   manual_allow        Accept (bypasses score rejects, not explicit blocks). An allowed
//                       network allows its IPs unless the IP itself is blocked.
//   reputation_poor     Continue +5 when the decayed score >= poor_score.
//   reject_ratio        Continue +3 when rejected / (accepted + rejected) > 0.5, volume >= 20.
//   complaint_rate      Continue +5 (= the default defer_at, so it defers on its own while an
//                       allow still bypasses it) when complaints / accepted > 0.3%, >= 100
//                       accepted.
//   invalid_recipients  Continue +3 when invalid / (accepted + rejected) > 0.1, volume >= 50.
//   first_seen_recently Continue 0 (informational; the throttling ramp rule reads it) when first
//                       seen less than first_seen_recent_days ago, or never seen.
// Ratios use the last history_days days; expired listings are ignored.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "reputation/record.hpp"
#include "reputation/verdict.hpp"

namespace mxgate::reputation {

inline constexpr std::int64_t kSecondsPerDay = 86400;

struct ModelSettings {
  int history_days = 30;
  double score_half_life_days = 7;  // <= 0: no decay

  double poor_score = 10;
  double poor_points = 5;

  double reject_ratio = 0.5;
  std::uint32_t reject_ratio_min_volume = 20;
  double reject_ratio_points = 3;

  double complaint_rate = 0.003;  // of delivered (accepted) mail
  std::uint32_t complaint_min_delivered = 100;
  double complaint_points = 5;

  double invalid_recipient_ratio = 0.1;
  std::uint32_t invalid_recipient_min_volume = 50;
  double invalid_recipient_points = 3;

  int first_seen_recent_days = 30;
  bool operator==(const ModelSettings&) const = default;
};

// record.score decayed from record.score_at to now: halves every half_life_days.
double decayed_score(const Record& record, std::int64_t now, double half_life_days);

// The sum of the counters of the last `days` Unix days, today included.
Counters totals(const Record& record, std::int64_t now, int days);

// The verdicts of one key's history (an IP, or a sender domain), its network's listing applied
// (`network` may be null). `subject` names the key in a listing's reason ("ip blocked by ...").
std::vector<Verdict> assess(const Record& ip, const Record* network, std::int64_t now,
                            const ModelSettings& settings, std::string_view subject = "ip");

}  // namespace mxgate::reputation
