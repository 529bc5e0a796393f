// The linked-domain note's codec, its column family's compaction filter, and the store's two
// members that read and write it (linked_note.hpp, reputation_store.hpp).
#include "storage/linked_note.hpp"

#include <rocksdb/compaction_filter.h>

#include <chrono>
#include <cstring>

#include "storage/reputation_store.hpp"
#include "storage/store_impl.hpp"

namespace mxgate::storage {
namespace {

constexpr std::int64_t kFutureSlackSeconds = 86400;

// `text` cut to at most `cap` bytes, not inside a UTF-8 sequence.
std::string_view capped(std::string_view text, std::size_t cap) {
  if (text.size() <= cap) return text;
  std::size_t end = cap;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

void put_u16(std::string& out, std::size_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
}

void put_text(std::string& out, std::string_view text, std::size_t cap) {
  const auto cut = capped(text, cap);
  put_u16(out, cut.size());
  out.append(cut);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool i64(std::int64_t& out) {
    if (bytes_.size() < 8) return false;
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(bytes_[i]);
    out = static_cast<std::int64_t>(v);
    bytes_.remove_prefix(8);
    return true;
  }
  bool text(std::string& out, std::size_t cap) {
    if (bytes_.size() < 2) return false;
    const std::size_t size =
        static_cast<unsigned char>(bytes_[0]) | static_cast<unsigned char>(bytes_[1]) << 8;
    if (size > cap || bytes_.size() < 2 + size) return false;
    out.assign(bytes_.substr(2, size));
    bytes_.remove_prefix(2 + size);
    return true;
  }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

std::int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Drops notes nobody will be shown again, so that the column family stays about as large as
// the set of IPs refused for a linked domain in the last week.
class ExpiredNoteFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    const auto note = decode_note({value.data(), value.size()});
    return !note || note->at < wall_now() - kLinkedDomainNoteSeconds;
  }
  const char* Name() const override { return "mxgate.ExpiredNoteFilter"; }
};

}  // namespace

std::string encode_note(const LinkedDomainNote& note) {
  std::string out;
  out.push_back(static_cast<char>(kNoteVersion));
  const auto at = static_cast<std::uint64_t>(note.at);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((at >> (8 * i)) & 0xff));
  put_text(out, note.domain, kMaxNoteDomain);
  put_text(out, note.listed_by, kMaxNoteText);
  put_text(out, note.reason, kMaxNoteText);
  return out;
}

std::optional<LinkedDomainNote> decode_note(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != kNoteVersion) return std::nullopt;
  Reader reader(bytes.substr(1));
  LinkedDomainNote note;
  if (!reader.i64(note.at) || !reader.text(note.domain, kMaxNoteDomain) ||
      !reader.text(note.listed_by, kMaxNoteText) || !reader.text(note.reason, kMaxNoteText) ||
      !reader.empty()) {
    return std::nullopt;
  }
  return note;
}

bool linked_domain_note_shown(const LinkedDomainNote& note, std::int64_t now) {
  return note.at > 0 && note.at >= now - kLinkedDomainNoteSeconds &&
         note.at <= now + kFutureSlackSeconds;
}

const rocksdb::CompactionFilter* expired_note_filter() {
  static const ExpiredNoteFilter filter;  // RocksDB keeps the pointer: it must outlive every DB
  return &filter;
}

boost::system::error_code ReputationStore::note_linked_domain(std::string_view ip_key,
                                                              const LinkedDomainNote& note) {
  if (impl_->options.read_only || impl_->notes == nullptr) {
    return make_error_code(Error::read_only);
  }
  const std::string value = encode_note(note);
  // The session's pending batch, as add(): no I/O on the worker; flush() writes it, unsynced.
  const std::lock_guard lock(impl_->batch_mutex);
  if (impl_->pending >= impl_->options.max_pending_adds) {
    impl_->dropped.fetch_add(1, std::memory_order_relaxed);
    return make_error_code(Error::full);
  }
  const auto status = impl_->batch->Put(impl_->notes, to_slice(ip_key), value);
  if (!status.ok()) return status_error(status, "batch_note");
  ++impl_->pending;
  return {};
}

std::optional<LinkedDomainNote> ReputationStore::linked_domain_note(std::string_view ip_key) {
  if (impl_->notes == nullptr) return std::nullopt;  // a read-only store made before issue 17
  std::string value;
  const auto status =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->notes, to_slice(ip_key), &value);
  if (!status.ok()) {
    if (!status.IsNotFound()) status_error(status, "get_note");
    return std::nullopt;
  }
  return decode_note(value);
}

}  // namespace mxgate::storage
