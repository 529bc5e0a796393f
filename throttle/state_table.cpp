#include "throttle/state_table.hpp"

#include <boost/container_hash/hash.hpp>

#include <algorithm>

namespace mxgate::throttle {

std::size_t StateTable::IndexHash::operator()(std::uint32_t i) const {
  return (*this)(std::string_view((*entries)[i].key));
}

std::size_t StateTable::IndexHash::operator()(std::string_view key) const {
  return boost::hash_range(key.begin(), key.end());
}

bool StateTable::IndexEqual::operator()(std::string_view key, std::uint32_t i) const {
  return (*entries)[i].key == key;
}

bool StateTable::IndexEqual::operator()(std::uint32_t i, std::string_view key) const {
  return (*entries)[i].key == key;
}

StateTable::Stripe::Stripe()
    : index(0, IndexHash{&entries}, IndexEqual{&entries}) {}

// Swaps the last entry into slot i; the index follows.
void StateTable::Stripe::remove(std::uint32_t i) {
  const auto last = static_cast<std::uint32_t>(entries.size() - 1);
  index.erase(i);
  if (i != last) {
    index.erase(last);
    entries[i] = std::move(entries[last]);
    index.insert(i);
  }
  entries.pop_back();
}

void StateTable::Stripe::make_room(std::size_t cap, std::int64_t now_us) {
  if (entries.size() < cap) return;
  for (std::size_t i = entries.size(); i-- > 0;) {
    if (entries[i].expires_us <= now_us) remove(static_cast<std::uint32_t>(i));
  }
  while (entries.size() >= cap && !entries.empty()) {
    std::uint32_t victim = 0;
    for (std::size_t s = 0; s < kSample; ++s) {
      random ^= random << 13, random ^= random >> 7, random ^= random << 17;
      const auto candidate = static_cast<std::uint32_t>(random % entries.size());
      if (s == 0 || entries[candidate].used_us < entries[victim].used_us) victim = candidate;
    }
    remove(victim);
    ++evictions;
  }
}

StateTable::StateTable(std::size_t max_keys)
    : max_keys_(max_keys), stripe_cap_(std::max<std::size_t>(1, max_keys / kStripes)) {}

StateTable::Stripe& StateTable::stripe_for(std::string_view key) const {
  // The high bits pick the stripe; the set inside uses the hash again (its own mixing).
  const std::size_t h = boost::hash_range(key.begin(), key.end());
  return stripes_[(h >> 32) % kStripes];
}

void StateTable::apply(std::string_view key, std::int64_t now_us, void* context, Step step) {
  Stripe& stripe = stripe_for(key);
  std::lock_guard lock(stripe.mutex);
  auto found = stripe.index.find(key);
  if (found == stripe.index.end()) {
    Value value;
    const std::int64_t expires = step(context, value, true);
    if (expires <= now_us) return;
    stripe.make_room(stripe_cap_, now_us);
    stripe.entries.push_back(Entry{std::string(key), value, expires, now_us});
    stripe.index.insert(static_cast<std::uint32_t>(stripe.entries.size() - 1));
    return;
  }
  const std::uint32_t i = *found;
  Entry& entry = stripe.entries[i];
  const bool expired = entry.expires_us <= now_us;
  if (expired) entry.value = Value{};
  const std::int64_t expires = step(context, entry.value, expired);
  if (expires <= now_us) {
    stripe.remove(i);
    return;
  }
  entry.expires_us = expires;
  entry.used_us = now_us;
}

std::optional<Value> StateTable::get(std::string_view key, std::int64_t now_us) const {
  Stripe& stripe = stripe_for(key);
  std::lock_guard lock(stripe.mutex);
  auto found = stripe.index.find(key);
  if (found == stripe.index.end()) return std::nullopt;
  const Entry& entry = stripe.entries[*found];
  if (entry.expires_us <= now_us) return std::nullopt;
  return entry.value;
}

std::size_t StateTable::size() const {
  std::size_t n = 0;
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe.mutex);
    n += stripe.entries.size();
  }
  return n;
}

std::uint64_t StateTable::evictions() const {
  std::uint64_t n = 0;
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe.mutex);
    n += stripe.evictions;
  }
  return n;
}

void StateTable::sweep(std::int64_t now_us) {
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe.mutex);
    for (std::size_t i = stripe.entries.size(); i-- > 0;) {
      if (stripe.entries[i].expires_us <= now_us) stripe.remove(static_cast<std::uint32_t>(i));
    }
  }
}

std::vector<Entry> StateTable::snapshot(std::int64_t now_us) const {
  std::vector<Entry> out;
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe.mutex);
    for (const auto& entry : stripe.entries) {
      if (entry.expires_us > now_us) out.push_back(entry);
    }
  }
  return out;
}

void StateTable::restore(const std::vector<Entry>& entries, std::int64_t now_us) {
  for (const auto& entry : entries) {
    if (entry.expires_us <= now_us) continue;
    apply(entry.key, now_us, const_cast<Entry*>(&entry),
          [](void* context, Value& value, bool) -> std::int64_t {
            const auto* saved = static_cast<const Entry*>(context);
            value = saved->value;
            return saved->expires_us;
          });
  }
}

}  // namespace mxgate::throttle
