// The findings of one message: each kind at most once, with the detail of its first occurrence,
// in the order found. Callers ask wants() before building a detail string, so a message that
// repeats a fault on every line costs one string, not one per line. Not thread-safe.
#pragma once

#include <bitset>
#include <string>
#include <vector>

#include "content/findings.hpp"

namespace mxgate::content {

class FindingList {
 public:
  bool wants(Finding f) const { return !seen_.test(static_cast<std::size_t>(f)); }
  void raise(Finding f, std::string detail) {
    if (!wants(f)) return;
    seen_.set(static_cast<std::size_t>(f));
    list_.push_back({f, std::move(detail)});
  }
  const std::vector<FindingDetail>& list() const { return list_; }

 private:
  std::bitset<kFindingCount> seen_;
  std::vector<FindingDetail> list_;
};

// `text` made safe to show in a detail: at most `max` bytes, bytes outside printable ASCII as
// '?'.
inline std::string printable(std::string_view text, std::size_t max = 64) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (c < ' ' || c > '~') c = '?';
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace mxgate::content
