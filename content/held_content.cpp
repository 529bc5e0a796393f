#include "content/held_content.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mxgate::content {

bool ContentBudget::try_take(std::uint64_t bytes) {
  std::uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used + bytes > limit()) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void ContentBudget::give_back(std::uint64_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

HeldContent::HeldContent(ContentBudget& budget, HeldOptions options)
    : budget_(budget), options_(std::move(options)) {
  if (options_.step == 0) options_.step = kHeldStep;
}

HeldContent::~HeldContent() { clear(); }

void HeldContent::clear() {
  blocks_.clear();
  if (reserved_ > 0) budget_.give_back(reserved_);
  reserved_ = 0;
  memory_size_ = 0;
  spilled_ = 0;
  if (fd_ >= 0) ::close(fd_);  // the file has no name: closing it frees its blocks
  fd_ = -1;
  error_.clear();
  error_context_.clear();
}

bool HeldContent::begin() {
  clear();
  const auto first = std::min<std::uint64_t>(options_.step, options_.memory_per_session);
  if (first == 0) return true;  // everything spills; no memory asked for
  if (!budget_.try_take(first)) return false;
  reserved_ = first;
  return true;
}

bool HeldContent::append(std::string_view bytes) {
  if (failed()) return false;
  if (bytes.empty()) return true;
  // Once anything spilled, the rest follows it: the file is the tail of the message.
  if (fd_ < 0) bytes = fill(bytes);
  if (bytes.empty()) return true;
  return spill(bytes);
}

// Copies as much of `bytes` as memory takes, growing by steps while the session's share and
// the budget allow.
std::string_view HeldContent::fill(std::string_view bytes) {
  while (!bytes.empty()) {
    if (blocks_.empty() || blocks_.back().used == blocks_.back().capacity) {
      if (!grow()) break;
    }
    Block& block = blocks_.back();
    const auto n = std::min(bytes.size(), block.capacity - block.used);
    std::memcpy(block.data.get() + block.used, bytes.data(), n);
    block.used += n;
    memory_size_ += n;
    bytes.remove_prefix(n);
  }
  return bytes;
}

bool HeldContent::grow() {
  std::uint64_t allocated = 0;
  for (const auto& block : blocks_) allocated += block.capacity;
  if (allocated == reserved_) {
    const auto step =
        std::min<std::uint64_t>(options_.step, options_.memory_per_session - reserved_);
    if (step == 0 || !budget_.try_take(step)) return false;
    reserved_ += step;
  }
  const auto size = static_cast<std::size_t>(reserved_ - allocated);
  blocks_.push_back(Block{std::make_unique_for_overwrite<char[]>(size), size, 0});
  return true;
}

bool HeldContent::spill(std::string_view bytes) {
  if (fd_ < 0 && !open_spill_file()) return false;
  while (!bytes.empty()) {
    const auto n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(n < 0 ? errno : ENOSPC, "write");
      return false;
    }
    spilled_ += static_cast<std::uint64_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A file without a name: O_TMPFILE where the file system has it, else a unique name unlinked
// at once.
bool HeldContent::open_spill_file() {
  std::error_code ec;
  std::filesystem::create_directories(options_.spill_dir, ec);
  if (ec) {
    fail(ec.value(), "create " + options_.spill_dir);
    return false;
  }
  fd_ = ::open(options_.spill_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ >= 0) return true;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    fail(errno, "create " + options_.spill_dir);
    return false;
  }
  std::string name = options_.spill_dir + "/held-XXXXXX";
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) {
    fail(errno, "create " + options_.spill_dir);
    return false;
  }
  ::unlink(name.c_str());
  return true;
}

void HeldContent::fail(int err, std::string context) {
  if (!error_) {
    error_ = std::error_code(err, std::generic_category());
    error_context_ = std::move(context);
  }
}

std::optional<std::string_view> HeldContent::Cursor::next() {
  while (block_ < held_.blocks_.size()) {
    const Block& block = held_.blocks_[block_];
    if (block_at_ < block.used) {
      const auto n = std::min(max_, block.used - block_at_);
      std::string_view piece(block.data.get() + block_at_, n);
      block_at_ += n;
      return piece;
    }
    ++block_;
    block_at_ = 0;
  }
  if (held_.fd_ < 0 || held_.failed() || file_at_ >= held_.spilled_) return std::nullopt;
  if (!buf_) buf_ = std::make_unique_for_overwrite<char[]>(max_);
  const auto want =
      static_cast<std::size_t>(std::min<std::uint64_t>(max_, held_.spilled_ - file_at_));
  for (;;) {
    const auto n = ::pread(held_.fd_, buf_.get(), want, static_cast<off_t>(file_at_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      held_.fail(n < 0 ? errno : EIO, "read");
      return std::nullopt;
    }
    file_at_ += static_cast<std::uint64_t>(n);
    return std::string_view(buf_.get(), static_cast<std::size_t>(n));
  }
}

}  // namespace mxgate::content
