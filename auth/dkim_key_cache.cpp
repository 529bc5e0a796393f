#include "auth/dkim_key_cache.hpp"

#include <fmt/format.h>

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

FetchedKey key_from_lookup(const dns::Lookup<dns::TxtRecord>& lookup, DkimKeyCache& keys) {
  FetchedKey out;
  if (dns::is_failure(lookup.outcome)) {
    out.problem = DkimVerdict{DkimStatus::TempError,
                              fmt::format("key lookup failed: {}", dns::to_string(lookup.outcome))};
    return out;
  }
  if (!lookup.ok()) {
    out.problem = DkimVerdict{DkimStatus::PermError, "no key record"};
    return out;
  }
  out.parsed = keys.get(lookup.records.front().text);
  if (!out.parsed->key) out.problem = DkimVerdict{DkimStatus::PermError, out.parsed->error};
  return out;
}

}  // namespace mxgate::auth
