#include "storage/counts.hpp"

#include <algorithm>
#include <limits>

namespace mxgate::storage {

namespace {

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool get_varint(std::string_view& in, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

template <typename T>
bool get_as(std::string_view& in, T& out) {
  std::uint64_t v = 0;
  if (!get_varint(in, v) || v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

void put_entry(std::string& out, std::string_view id, const reputation::Record& delta) {
  out.push_back(id[0]);
  put_varint(out, id.size() - 1);
  out.append(id.substr(1));
  put_varint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(0, delta.first_seen)));
  put_varint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(0, delta.last_seen)));
  put_varint(out, delta.days.size());
  for (const auto& day : delta.days) {
    const auto& c = day.counters;
    for (const std::uint32_t v : {day.day, c.accepted, c.rejected, c.deferred,
                                  c.invalid_recipients, c.auth_failures, c.complaints}) {
      put_varint(out, v);
    }
  }
}

}  // namespace

CountsAggregator::CountsAggregator(std::size_t max_keys, unsigned history_days)
    : max_keys_(max_keys), history_days_(history_days) {}

bool CountsAggregator::add(Family family, std::string_view key, std::string_view operand) {
  auto patch = decode_patch(operand);
  std::string id(1, static_cast<char>(family));
  id += key;
  const std::lock_guard lock(mutex_);
  if (!patch || (patches_.size() >= max_keys_ && !patches_.contains(id))) {
    ++dropped_;
    return false;
  }
  const auto [it, fresh] = patches_.try_emplace(std::move(id));
  if (fresh) {
    it->second = std::move(*patch);
  } else {
    combine_patches(it->second, *patch, history_days_);
  }
  return true;
}

std::string CountsAggregator::take() {
  std::unordered_map<std::string, Patch> patches;
  {
    const std::lock_guard lock(mutex_);
    patches.swap(patches_);
  }
  std::string out;
  for (const auto& [id, patch] : patches) put_entry(out, id, patch.delta);
  return out;
}

std::size_t CountsAggregator::size() const {
  const std::lock_guard lock(mutex_);
  return patches_.size();
}

std::uint64_t CountsAggregator::dropped() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

bool decode_counts(std::string_view batch, const CountsVisitor& visit) {
  Patch patch;
  while (!batch.empty()) {
    const auto family = static_cast<std::uint8_t>(batch[0]);
    batch.remove_prefix(1);
    std::size_t size = 0;
    if (family >= kFamilyCount || !get_as(batch, size) || batch.size() < size) return false;
    const auto key = batch.substr(0, size);
    batch.remove_prefix(size);
    auto& delta = patch.delta;
    std::size_t days = 0;
    if (!get_as(batch, delta.first_seen) || !get_as(batch, delta.last_seen) ||
        !get_as(batch, days) || days > kMaxCountsDays) {
      return false;
    }
    delta.days.resize(days);
    for (std::size_t i = 0; i < days; ++i) {
      auto& day = delta.days[i];
      auto& c = day.counters;
      for (std::uint32_t* v : {&day.day, &c.accepted, &c.rejected, &c.deferred,
                               &c.invalid_recipients, &c.auth_failures, &c.complaints}) {
        if (!get_as(batch, *v)) return false;
      }
      if (i > 0 && day.day <= delta.days[i - 1].day) return false;  // strictly ascending
    }
    visit(static_cast<Family>(family), key, patch);
  }
  return true;
}

}  // namespace mxgate::storage
