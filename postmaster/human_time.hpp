// Times as a person reads them on the portal's pages: "6 December 2026, 22:58 UTC" and
// "in 3 days" / "2 hours ago". The JSON keeps RFC 3339 (record_text.hpp, format_time).
// Threading: pure functions. Failure: none.
#pragma once

#include <cstdint>
#include <string>

namespace mxgate::postmaster {

// "6 December 2026, 22:58 UTC" (always UTC: a sender may be anywhere).
std::string human_date(std::int64_t unix_seconds);
// How far `at` is from `now`, rounded to the nearest unit: "in 3 days", "2 hours ago",
// "in 1 minute"; "just now" within a minute either way.
std::string relative_time(std::int64_t at, std::int64_t now);

}  // namespace mxgate::postmaster
