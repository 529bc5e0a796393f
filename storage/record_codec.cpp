#include "storage/record_codec.hpp"

#include <bit>
#include <cstdint>

namespace mxgate::storage {
namespace {

using reputation::Counters;
using reputation::DayCounters;
using reputation::ListingAction;
using reputation::Record;

constexpr std::size_t kDayBytes = 4 * 7;

template <typename T>
void put(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>(bits & 0xff));
    bits = static_cast<decltype(bits)>(bits >> 8);
  }
}

void put_text(std::string& out, const std::string& text) {
  const std::size_t size = std::min(text.size(), kMaxListingText);
  put(out, static_cast<std::uint16_t>(size));
  out.append(text, 0, size);
}

// A bounds-checked little-endian reader: once a read fails, every later read fails too.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  bool get(T& value) {
    if (!ok_ || bytes_.size() - pos_ < sizeof(T)) return ok_ = false;
    std::make_unsigned_t<T> bits = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      bits |= static_cast<decltype(bits)>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    value = static_cast<T>(bits);
    return true;
  }

  bool get_text(std::string& text) {
    std::uint16_t size = 0;
    if (!get(size) || size > kMaxListingText || bytes_.size() - pos_ < size) return ok_ = false;
    text.assign(bytes_.substr(pos_, size));
    pos_ += size;
    return true;
  }

  std::size_t remaining() const { return ok_ ? bytes_.size() - pos_ : 0; }
  bool ok() const { return ok_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void put_counters(std::string& out, const Counters& c) {
  put(out, c.accepted);
  put(out, c.rejected);
  put(out, c.deferred);
  put(out, c.invalid_recipients);
  put(out, c.auth_failures);
  put(out, c.complaints);
}

bool get_counters(Reader& in, Counters& c) {
  return in.get(c.accepted) && in.get(c.rejected) && in.get(c.deferred) &&
         in.get(c.invalid_recipients) && in.get(c.auth_failures) && in.get(c.complaints);
}

bool get_listing(Reader& in, reputation::Listing& listing) {
  std::uint8_t action = 0;
  if (!in.get(action) || action > static_cast<std::uint8_t>(ListingAction::Block)) return false;
  listing.action = static_cast<ListingAction>(action);
  return in.get(listing.created) && in.get(listing.expires) && in.get_text(listing.reason) &&
         in.get_text(listing.source);
}

bool get_days(Reader& in, std::vector<DayCounters>& days) {
  std::uint16_t count = 0;
  if (!in.get(count) || in.remaining() != count * kDayBytes) return false;
  days.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (!in.get(days[i].day) || !get_counters(in, days[i].counters)) return false;
    if (i > 0 && days[i].day <= days[i - 1].day) return false;
  }
  return true;
}

}  // namespace

void append_record(std::string& out, const Record& record) {
  out.reserve(out.size() + 64 + record.days.size() * kDayBytes);
  put(out, kRecordVersion);
  put(out, record.first_seen);
  put(out, record.last_seen);
  put(out, std::bit_cast<std::uint64_t>(record.score));
  put(out, record.score_at);
  put(out, static_cast<std::uint8_t>(record.listing.action));
  put(out, record.listing.created);
  put(out, record.listing.expires);
  put_text(out, record.listing.reason);
  put_text(out, record.listing.source);
  put(out, static_cast<std::uint16_t>(record.days.size()));
  for (const DayCounters& day : record.days) {
    put(out, day.day);
    put_counters(out, day.counters);
  }
}

std::string encode_record(const Record& record) {
  std::string out;
  append_record(out, record);
  return out;
}

std::optional<Record> decode_record(std::string_view bytes) {
  Reader in(bytes);
  std::uint8_t version = 0;
  if (!in.get(version) || version != kRecordVersion) return std::nullopt;
  Record record;
  std::uint64_t score_bits = 0;
  if (!in.get(record.first_seen) || !in.get(record.last_seen) || !in.get(score_bits) ||
      !in.get(record.score_at) || !get_listing(in, record.listing) || !get_days(in, record.days)) {
    return std::nullopt;
  }
  record.score = std::bit_cast<double>(score_bits);
  return record;
}

}  // namespace mxgate::storage
