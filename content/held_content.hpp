// The content of one message held while it is judged (issue 17), in bounded memory.
// - ContentBudget: the process-wide bound on held content in memory, over all sessions
//   ([content] memory_budget). Holders take memory from it in steps (kHeldStep) as they grow
//   and give it back when they are cleared, so a message costs one atomic operation per step,
//   not per piece.
// - HeldContent: one message. Up to `memory_per_session` stays in memory (blocks of one step,
//   so what is taken from the budget is what is allocated); once its share is full, or the
//   budget has no room for its next step, the rest goes to a spill file under `spill_dir`
//   (<storage.path>/tmp). The file is opened with O_TMPFILE (or unlinked right after it is
//   made) and O_CLOEXEC: it has no name, so nothing is left behind after a crash, and it is
//   gone once the message ends (clear(), or the destructor).
// - HeldContent::Cursor reads the content back, in order, in views of at most N bytes (memory
//   blocks are viewed in place; the file is read into the cursor's own buffer).
// Failure: cannot create the spill directory or file, disk full, a short read: reported by a
// false return and error(), never thrown. A holder in error keeps nothing more; its content
// must not be relayed.
// Threading: ContentBudget is thread-safe (atomics); a HeldContent and its cursors belong to
// one session. Pure: plain POSIX file I/O, no Asio.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mxgate::content {

// Memory is taken from the budget in steps of this size (the last step of a session's share
// may be smaller).
inline constexpr std::size_t kHeldStep = 64 * 1024;

class ContentBudget {
 public:
  explicit ContentBudget(std::uint64_t limit) : limit_(limit) {}
  ContentBudget(const ContentBudget&) = delete;
  ContentBudget& operator=(const ContentBudget&) = delete;

  // A reload may change the limit; memory already taken stays taken until it is given back.
  void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }

  // Takes `bytes` when the budget has room for all of them; false (nothing taken) otherwise.
  bool try_take(std::uint64_t bytes);
  void give_back(std::uint64_t bytes);
  // Whether a new message may begin: the budget has room for a first step of `step` bytes.
  // Advisory (another session may take the room first); HeldContent::begin() is exact.
  bool try_start(std::uint64_t step = kHeldStep) const { return used() + step <= limit(); }

 private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> used_{0};
};

struct HeldOptions {
  std::uint64_t memory_per_session = 1024 * 1024;  // [content] memory_per_session
  std::string spill_dir;                           // <storage.path>/tmp; made when first needed
  std::size_t step = kHeldStep;
};

class HeldContent {
 public:
  // `budget` outlives the holder.
  HeldContent(ContentBudget& budget, HeldOptions options);
  ~HeldContent();
  HeldContent(const HeldContent&) = delete;
  HeldContent& operator=(const HeldContent&) = delete;

  // Starts a message (after clear()): takes the first step of memory from the budget. false:
  // the budget has no room for it; nothing is held and the message must not begin.
  bool begin();
  // Appends `bytes` after what is held. false: the spill file could not be made or written
  // (error() says why); the holder keeps nothing more.
  bool append(std::string_view bytes);
  // Ends the message: memory goes back to the budget, the spill file is closed (and so gone).
  void clear();

  std::uint64_t size() const { return memory_size_ + spilled_; }
  std::uint64_t memory_bytes() const { return reserved_; }  // taken from the budget
  std::uint64_t spilled_bytes() const { return spilled_; }
  bool spilled() const { return fd_ >= 0; }
  bool failed() const { return static_cast<bool>(error_); }
  const std::error_code& error() const { return error_; }
  // What failed, for the log: "create <dir>", "write", "read".
  const std::string& error_context() const { return error_context_; }

  // Reads the held content from the start. The holder must not change while a cursor is used.
  class Cursor {
   public:
    // The next piece (at most `max` bytes, never empty), or nullopt at the end or on a read
    // error (the holder's failed() then says so). A view stays valid until the next call.
    std::optional<std::string_view> next();

   private:
    friend class HeldContent;
    Cursor(HeldContent& held, std::size_t max) : held_(held), max_(max) {}
    HeldContent& held_;
    std::size_t max_;
    std::size_t block_ = 0;        // the memory block being read
    std::size_t block_at_ = 0;     // offset in it
    std::uint64_t file_at_ = 0;    // offset in the spill file
    std::unique_ptr<char[]> buf_;  // file reads land here
  };
  Cursor read(std::size_t max = kHeldStep) { return Cursor(*this, max); }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t capacity = 0;
    std::size_t used = 0;
  };
  bool grow();  // one more step of memory, when the share and the budget allow it
  std::string_view fill(std::string_view bytes);  // into memory; returns what did not fit
  bool spill(std::string_view bytes);
  bool open_spill_file();
  void fail(int err, std::string context);

  ContentBudget& budget_;
  HeldOptions options_;
  std::vector<Block> blocks_;
  std::uint64_t reserved_ = 0;     // taken from the budget (blocks_' capacity, or about to be)
  std::uint64_t memory_size_ = 0;  // bytes held in blocks_
  std::uint64_t spilled_ = 0;      // bytes in the spill file
  int fd_ = -1;
  std::error_code error_;
  std::string error_context_;
};

}  // namespace mxgate::content
