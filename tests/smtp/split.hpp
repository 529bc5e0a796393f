// Test helper: every way the tests cut an input into reads (all two-piece splits, one octet at a
// time) so that incremental parsers can be checked to give the same result for each.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mxgate::smtp::testing {

// The input whole, split in two at every position, and in one-octet pieces.
inline std::vector<std::vector<std::string_view>> all_splits(std::string_view input) {
  std::vector<std::vector<std::string_view>> out;
  out.push_back({input});
  for (std::size_t i = 1; i < input.size(); ++i) {
    out.push_back({input.substr(0, i), input.substr(i)});
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  out.push_back(bytes);
  return out;
}

// Printable form of octets for failure messages.
inline std::string show(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace mxgate::smtp::testing
