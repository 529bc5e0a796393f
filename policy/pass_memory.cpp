#include "policy/pass_memory.hpp"

#include <functional>

namespace mxgate::policy {

PassMemory::Stripe& PassMemory::stripe(const std::string& key) const {
  return stripes_[std::hash<std::string>{}(key) % kStripes];
}

void PassMemory::remember(const std::string& key, Clock::time_point until) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  if (s.until.size() >= per_stripe_ && s.until.count(key) == 0) make_room(s, Clock::now());
  s.until.insert_or_assign(key, until);
}

// Full: expired entries go; if that is not enough, an eighth of the stripe (arbitrary ones; a
// forgotten client only waits through one more greet pause).
void PassMemory::make_room(Stripe& s, Clock::time_point now) {
  std::erase_if(s.until, [now](const auto& entry) { return entry.second <= now; });
  for (std::size_t n = per_stripe_ / 8 + 1; n > 0 && !s.until.empty(); --n) {
    s.until.erase(s.until.begin());
  }
}

bool PassMemory::passed(const std::string& key, Clock::time_point now) const {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  auto it = s.until.find(key);
  if (it == s.until.end()) return false;
  if (it->second > now) return true;
  s.until.erase(it);
  return false;
}

std::size_t PassMemory::size() const {
  std::size_t total = 0;
  for (auto& s : stripes_) {
    std::lock_guard lock(s.mutex);
    total += s.until.size();
  }
  return total;
}

}  // namespace mxgate::policy
