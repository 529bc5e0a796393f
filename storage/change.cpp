#include "storage/change.hpp"

namespace mxgate::storage {

std::string encode_change(const Change& change) {
  std::string out;
  out.reserve(6 + change.key.size() + change.value.size());
  out.push_back(static_cast<char>(change.kind));
  out.push_back(static_cast<char>(change.family));
  const auto size = static_cast<std::uint32_t>(change.key.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(size >> shift));
  out += change.key;
  out += change.value;
  return out;
}

std::optional<Change> decode_change(std::string_view bytes) {
  if (bytes.size() < 6) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(bytes[0]);
  const auto family = static_cast<std::uint8_t>(bytes[1]);
  if (kind < static_cast<std::uint8_t>(Change::Kind::SetListing) ||
      kind > static_cast<std::uint8_t>(Change::Kind::EraseDoc) || family >= kFamilyCount) {
    return std::nullopt;
  }
  std::uint32_t size = 0;
  for (int i = 2; i < 6; ++i) size = (size << 8) | static_cast<std::uint8_t>(bytes[i]);
  if (bytes.size() - 6 < size) return std::nullopt;
  Change change;
  change.kind = static_cast<Change::Kind>(kind);
  change.family = static_cast<Family>(family);
  change.key = std::string(bytes.substr(6, size));
  change.value = std::string(bytes.substr(6 + size));
  return change;
}

}  // namespace mxgate::storage
