#include "relay/verify_cache.hpp"

namespace mxgate::relay {

VerifyCache::VerifyCache(std::size_t capacity, prometheus::Gauge* entries)
    : capacity_(capacity), gauge_(entries) {}

std::optional<bool> VerifyCache::find(const std::string& address, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    erase(it);
    return std::nullopt;
  }
  return it->second.exists;
}

void VerifyCache::store(const std::string& address, bool exists, TimePoint now, Duration ttl) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(address); it != entries_.end()) erase(it);
  ages_.push_back(address);
  entries_.emplace(address, Entry{exists, now + ttl, std::prev(ages_.end())});
  trim();
}

void VerifyCache::set_capacity(std::size_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = capacity;
  trim();
}

std::size_t VerifyCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void VerifyCache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  ages_.erase(it->second.age);
  entries_.erase(it);
  if (gauge_ != nullptr) gauge_->Set(static_cast<double>(entries_.size()));
}

void VerifyCache::trim() {
  while (entries_.size() > capacity_ && !ages_.empty()) erase(entries_.find(ages_.front()));
  if (gauge_ != nullptr) gauge_->Set(static_cast<double>(entries_.size()));
}

}  // namespace mxgate::relay
