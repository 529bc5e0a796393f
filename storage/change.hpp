// storage::Change: a decision written to the reputation store (a listing set or lifted, a
// record replaced or deleted, a document written or removed), in the form fleet mode ships it
// to the other nodes (issue 19). ReputationStore tells its change observer about each one it
// wrote; apply() writes one that came from another node without telling anyone.
// Counters (add()) and scores are not decisions: the fleet shares them its own way.
// Pure (encode/decode), thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/key_codec.hpp"

namespace mxgate::storage {

struct Change {
  enum class Kind : std::uint8_t {
    SetListing = 1,  // value: the listing patch (merge.hpp), merged into the record
    ClearListing,    // value: the same, of an empty listing
    EraseRecord,     // value: empty
    PutRecord,       // value: the whole record (record_codec.hpp), replacing it
    PutDoc,          // value: the document; family unused
    EraseDoc,        // family unused
  };
  Kind kind = Kind::SetListing;
  Family family = Family::Ip;
  std::string key;
  std::string value;
  friend bool operator==(const Change&, const Change&) = default;
};

// One byte kind, one byte family, the key's length (4 bytes, big-endian), the key, the value.
std::string encode_change(const Change& change);
std::optional<Change> decode_change(std::string_view bytes);  // nullopt: not one

}  // namespace mxgate::storage
