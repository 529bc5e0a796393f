// libFuzzer target of what fleet mode reads from Redis (issue 19): a decision
// (storage/change.hpp) and a batch of history counters (storage/counts.hpp), both written by
// other nodes. The first byte chooses which. A decision read back encodes to the same bytes;
// the counters read from a batch, folded by an aggregator and taken again, read back whole
// and equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/change.hpp"
#include "storage/counts.hpp"

namespace {

namespace storage = mxgate::storage;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Entry {
  storage::Family family;
  std::string key;
  mxgate::reputation::Record delta;
};

std::vector<Entry> read(std::string_view batch, bool& whole) {
  std::vector<Entry> out;
  whole = storage::decode_counts(batch, [&](storage::Family family, std::string_view key,
                                            const storage::Patch& patch) {
    out.push_back({family, std::string(key), patch.delta});
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    if (const auto change = storage::decode_change(bytes)) {
      check(storage::encode_change(*change) == bytes);
    }
    return 0;
  }
  bool whole = false;
  const auto entries = read(bytes, whole);
  if (!whole) return 0;
  // Distinct keys only: the aggregator folds repeated ones.
  storage::CountsAggregator counts(entries.size() + 1, 1'000'000);
  for (const auto& e : entries) {
    storage::Patch patch;
    patch.delta = e.delta;
    check(counts.add(e.family, e.key, storage::encode_patch(patch)));
  }
  const auto again = read(counts.take(), whole);
  check(whole);
  check(again.size() <= entries.size());
  if (again.size() == entries.size() && entries.size() == 1) {
    check(again[0].key == entries[0].key && again[0].family == entries[0].family);
    check(again[0].delta.days == entries[0].delta.days);
  }
  return 0;
}
