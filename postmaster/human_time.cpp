#include "postmaster/human_time.hpp"

#include <fmt/format.h>

#include <array>
#include <ctime>
#include <string_view>

namespace mxgate::postmaster {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

struct Unit {
  std::int64_t seconds;
  std::string_view name;
  std::int64_t slack;  // half the next smaller unit: 59 minutes 40 seconds reads "1 hour"
};
// Largest first; a unit is used from (one of it - slack) up, so that rounding never says
// "0 days" nor "60 minutes".
constexpr Unit kUnits[] = {{86400, "day", 1800}, {3600, "hour", 30}, {60, "minute", 0}};
constexpr std::int64_t kJustNow = 60;

}  // namespace

std::string human_date(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{} {} {}, {:02}:{:02} UTC", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min);
}

std::string relative_time(std::int64_t at, std::int64_t now) {
  const std::int64_t delta = at - now;
  const std::int64_t span = delta < 0 ? -delta : delta;
  if (span < kJustNow) return "just now";
  for (const auto& unit : kUnits) {
    if (span + unit.slack < unit.seconds) continue;
    const std::int64_t n = (span + unit.seconds / 2) / unit.seconds;
    const auto amount = fmt::format("{} {}{}", n, unit.name, n == 1 ? "" : "s");
    return delta > 0 ? "in " + amount : amount + " ago";
  }
  return "just now";
}

}  // namespace mxgate::postmaster
