// Serialization of reputation::Record for RocksDB values. Layout (all integers little-endian,
// fixed width; doubles as their IEEE-754 bits):
//   u8 version (1) | i64 first_seen | i64 last_seen | f64 score | i64 score_at
//   | u8 listing action | i64 created | i64 expires | u16 len, reason | u16 len, source
//   | u16 day count | per day: u32 day, u32 x 6 counters (accepted, rejected, deferred,
//     invalid_recipients, auth_failures, complaints)
// Values come from disk: decode never crashes or throws on garbage, it returns nullopt (wrong
// version, short or trailing bytes, unknown listing action, days not strictly ascending).
// Listing texts longer than kMaxListingText are truncated on encode. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "reputation/record.hpp"

namespace mxgate::storage {

inline constexpr std::uint8_t kRecordVersion = 1;
inline constexpr std::size_t kMaxListingText = 1024;

// Appends the encoding of `record` to `out`.
void append_record(std::string& out, const reputation::Record& record);
std::string encode_record(const reputation::Record& record);

std::optional<reputation::Record> decode_record(std::string_view bytes);

}  // namespace mxgate::storage
