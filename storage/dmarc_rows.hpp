// The rows of DMARC aggregate reports (issue 22, RFC 7489 §7.2) as ReputationStore keeps them,
// in their own column family (kDmarcFamilyName). Keys (the period's begin as big-endian Unix
// seconds first, so that a period is one key range and periods sort by time):
//   be64 begin | policy domain | 0x00 | 'P'          the domain's policy record (a Put: the last
//                                                    one seen in the period wins)
//   be64 begin | policy domain | 0x00 | 'R' | row    the number of messages of that row: a u64
//                                                    little-endian, summed by a merge
// The payloads (policy, row) are auth::dmarc_report's encodings; storage reads them as bytes.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rocksdb {
class MergeOperator;
}

namespace mxgate::storage {

inline constexpr std::string_view kDmarcFamilyName = "dmarc_rows";

enum class DmarcEntry : char { Policy = 'P', Row = 'R' };

std::string dmarc_period_prefix(std::int64_t begin);  // every key of the period starts so
std::string dmarc_key(std::int64_t begin, std::string_view domain, DmarcEntry entry,
                      std::string_view row = {});

struct DmarcKey {
  std::int64_t begin = 0;
  std::string_view domain;
  DmarcEntry entry = DmarcEntry::Row;
  std::string_view row;  // Row only
};
// nullopt for bytes that are no such key (disk garbage, another version).
std::optional<DmarcKey> parse_dmarc_key(std::string_view key);

std::string encode_count(std::uint64_t count);
std::uint64_t decode_count(std::string_view value);  // 0 for anything but 8 bytes

// The family's merge operator: counts add (saturating at the u64 maximum).
std::shared_ptr<rocksdb::MergeOperator> make_count_merge_operator();

}  // namespace mxgate::storage
