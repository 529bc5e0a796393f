#include "auth/dkim_key_cache.hpp"

namespace mxgate::auth {

std::shared_ptr<const DkimKeyResult> DkimKeyCache::get(std::string_view record) {
  if (const auto found = index_.find(record); found != index_.end()) {
    ++hits_;
    lru_.splice(lru_.begin(), lru_, found->second);
    return found->second->parsed;
  }
  ++misses_;
  auto parsed = std::make_shared<const DkimKeyResult>(parse_dkim_key(record));
  if (max_entries_ == 0) return parsed;
  lru_.push_front(Entry{std::string(record), parsed});
  index_.emplace(std::string_view(lru_.front().record), lru_.begin());
  while (index_.size() > max_entries_) {
    index_.erase(std::string_view(lru_.back().record));
    lru_.pop_back();
  }
  return parsed;
}

}  // namespace mxgate::auth
