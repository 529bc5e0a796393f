// The reputation record of one key (an IP, a network, a sender domain or an authenticated
// domain): what mxgate has seen from it, day by day, plus any manual listing and a decayed
// score. Pure data: storage/ persists it (RocksDB, merge operator for the counters), the
// reputation model (model.hpp) reads it. Times are Unix seconds (UTC); a "day" is the Unix
// day number (seconds / 86400).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mxgate::reputation {

// What happened, counted per day. Every transaction outcome adds to these.
struct Counters {
  std::uint32_t accepted = 0;         // messages relayed (the downstream said 250)
  std::uint32_t rejected = 0;         // messages or recipients refused with 5xx
  std::uint32_t deferred = 0;         // refused with 4xx
  std::uint32_t invalid_recipients = 0;  // RCPTs answered 550 5.1.1 (unknown user)
  std::uint32_t auth_failures = 0;    // SPF/DKIM/DMARC failures
  std::uint32_t complaints = 0;       // feedback reports (complaints) about delivered mail

  Counters& operator+=(const Counters& other);
  bool operator==(const Counters&) const = default;
};

struct DayCounters {
  std::uint32_t day = 0;  // Unix day
  Counters counters;
  bool operator==(const DayCounters&) const = default;
};

enum class ListingAction : std::uint8_t { None = 0, Allow = 1, Block = 2 };

struct Listing {
  ListingAction action = ListingAction::None;
  std::string reason;            // shown to the sender on the portal and in logs
  std::string source;            // "manual", "import:<file>", "admin-api", ...
  std::int64_t created = 0;      // Unix seconds
  std::int64_t expires = 0;      // Unix seconds; 0: never
  bool active(std::int64_t now) const {
    return action != ListingAction::None && (expires == 0 || now < expires);
  }
  bool operator==(const Listing&) const = default;
};

struct Record {
  std::int64_t first_seen = 0;  // 0: never seen (a listing can exist without traffic)
  std::int64_t last_seen = 0;
  std::vector<DayCounters> days;  // ascending by day, at most the configured history
  Listing listing;
  double score = 0;               // decayed score as of score_at (higher is worse)
  std::int64_t score_at = 0;
  bool operator==(const Record&) const = default;
};

}  // namespace mxgate::reputation
