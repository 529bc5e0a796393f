// Helpers shared by the libFuzzer targets of tests/fuzz: a check that aborts with its place
// (libFuzzer and the regression binaries both report an abort as a failure), a view of the input as
// text, and the split of an input into pieces of sizes taken from its first octets, so that every
// incremental parser can be checked to give the same result for the pieces as for the whole.
// Header-only; no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace mxgate::fuzz {

// Aborts, naming the broken check's place, unless `ok`.
inline void check(bool ok, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed at %s:%d\n", file, line);
  std::abort();
}

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// `input` cut into pieces whose sizes cycle through `sizes` (each at least 1).
inline std::vector<std::string_view> pieces(std::string_view input,
                                            const std::vector<std::size_t>& sizes) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0, i = 0; at < input.size(); ++i) {
    const std::size_t n = sizes.empty() ? input.size() : sizes[i % sizes.size()];
    out.push_back(input.substr(at, n));
    at += n;
  }
  return out;
}

// The piece sizes read from `count` octets at the front of the input (1..256 each).
inline std::vector<std::size_t> piece_sizes(const std::uint8_t* data, std::size_t count) {
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < count; ++i) sizes.push_back(std::size_t{data[i]} + 1);
  return sizes;
}

}  // namespace mxgate::fuzz
