#include "storage/counts.hpp"

namespace mxgate::storage {

namespace {

void put32(std::string& out, std::size_t value) {
  const auto v = static_cast<std::uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

bool get32(std::string_view& in, std::uint32_t& value) {
  if (in.size() < 4) return false;
  value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(in[i]);
  in.remove_prefix(4);
  return true;
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
  for (const auto& [id, patch] : patches) {
    out.push_back(id[0]);
    put32(out, id.size() - 1);
    out.append(id, 1);
    const std::string encoded = encode_patch(patch);
    put32(out, encoded.size());
    out += encoded;
  }
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
  while (!batch.empty()) {
    const auto family = static_cast<std::uint8_t>(batch[0]);
    batch.remove_prefix(1);
    std::uint32_t size = 0;
    if (family >= kFamilyCount || !get32(batch, size) || batch.size() < size) return false;
    const auto key = batch.substr(0, size);
    batch.remove_prefix(size);
    if (!get32(batch, size) || batch.size() < size) return false;
    visit(static_cast<Family>(family), key, batch.substr(0, size));
    batch.remove_prefix(size);
  }
  return true;
}

}  // namespace mxgate::storage
