// Internal: finds the next <CR> or <LF> in a buffer with memchr, remembering where each one is
// so that a buffer full of one kind (bare <LF> lines, say) is still scanned in linear time.
// Used by the DATA decoder and the dot-stuffer. Pure, header-only.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace mxgate::smtp::detail {

class EolScanner {
 public:
  explicit EolScanner(std::string_view input) : input_(input) {}

  // Position of the first <CR> or <LF> at or after `from`; input.size() when there is none.
  std::size_t next(std::size_t from) {
    if (!cr_valid_ || cr_ < from) {
      cr_ = find(from, '\r');
      cr_valid_ = true;
    }
    if (!lf_valid_ || lf_ < from) {
      lf_ = find(from, '\n');
      lf_valid_ = true;
    }
    return cr_ < lf_ ? cr_ : lf_;
  }

 private:
  std::size_t find(std::size_t from, char c) const {
    if (from >= input_.size()) return input_.size();
    const void* p = std::memchr(input_.data() + from, c, input_.size() - from);
    return p == nullptr ? input_.size()
                        : static_cast<std::size_t>(static_cast<const char*>(p) - input_.data());
  }

  std::string_view input_;
  std::size_t cr_ = 0;
  std::size_t lf_ = 0;
  bool cr_valid_ = false;
  bool lf_valid_ = false;
};

}  // namespace mxgate::smtp::detail
