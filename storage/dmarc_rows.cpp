#include "storage/dmarc_rows.hpp"

#include <rocksdb/merge_operator.h>

#include <limits>

#include "storage/store_impl.hpp"

namespace mxgate::storage {
namespace {

constexpr std::size_t kBeginBytes = 8;

void put_u64_le(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// A sum that sticks at the maximum instead of wrapping.
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

class CountMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    const std::uint64_t before = existing ? decode_count({existing->data(), existing->size()}) : 0;
    *new_value = encode_count(saturating_add(before, decode_count({value.data(), value.size()})));
    return true;
  }
  const char* Name() const override { return "mxgate.dmarc_count"; }
};

}  // namespace

std::string dmarc_period_prefix(std::int64_t begin) {
  std::string out;
  const auto value = static_cast<std::uint64_t>(begin);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

std::string dmarc_key(std::int64_t begin, std::string_view domain, DmarcEntry entry,
                      std::string_view row) {
  std::string key = dmarc_period_prefix(begin);
  key.append(domain);
  key.push_back('\0');
  key.push_back(static_cast<char>(entry));
  key.append(row);
  return key;
}

std::optional<DmarcKey> parse_dmarc_key(std::string_view key) {
  if (key.size() < kBeginBytes + 2) return std::nullopt;
  std::uint64_t begin = 0;
  for (std::size_t i = 0; i < kBeginBytes; ++i) {
    begin = (begin << 8) | static_cast<unsigned char>(key[i]);
  }
  const std::string_view rest = key.substr(kBeginBytes);
  const auto end = rest.find('\0');
  if (end == std::string_view::npos || end == 0 || end + 1 >= rest.size()) return std::nullopt;
  DmarcKey parsed;
  parsed.begin = static_cast<std::int64_t>(begin);
  parsed.domain = rest.substr(0, end);
  const char tag = rest[end + 1];
  if (tag == static_cast<char>(DmarcEntry::Policy) && end + 2 == rest.size()) {
    parsed.entry = DmarcEntry::Policy;
  } else if (tag == static_cast<char>(DmarcEntry::Row)) {
    parsed.entry = DmarcEntry::Row;
    parsed.row = rest.substr(end + 2);
  } else {
    return std::nullopt;
  }
  return parsed;
}

std::string encode_count(std::uint64_t count) {
  std::string out;
  put_u64_le(out, count);
  return out;
}

std::uint64_t decode_count(std::string_view value) {
  if (value.size() != 8) return 0;
  std::uint64_t count = 0;
  for (int i = 7; i >= 0; --i) count = (count << 8) | static_cast<unsigned char>(value[i]);
  return count;
}

std::shared_ptr<rocksdb::MergeOperator> make_count_merge_operator() {
  return std::make_shared<CountMergeOperator>();
}

// --- ReputationStore's DMARC rows ----------------------------------------------------------

boost::system::error_code ReputationStore::add_dmarc(std::string_view key, std::string_view value,
                                                     DmarcEntry entry) {
  if (impl_->options.read_only || impl_->dmarc == nullptr) {
    return make_error_code(Error::read_only);
  }
  // The pending batch, as add(): no I/O on the worker; flush() writes it, unsynced.
  const std::lock_guard lock(impl_->batch_mutex);
  if (impl_->pending >= impl_->options.max_pending_adds) {
    impl_->dropped.fetch_add(1, std::memory_order_relaxed);
    return make_error_code(Error::full);
  }
  const auto status = entry == DmarcEntry::Row
                          ? impl_->batch->Merge(impl_->dmarc, to_slice(key), to_slice(value))
                          : impl_->batch->Put(impl_->dmarc, to_slice(key), to_slice(value));
  if (!status.ok()) return status_error(status, "batch_dmarc");
  ++impl_->pending;
  return {};
}

boost::system::error_code ReputationStore::for_each_dmarc(std::string_view prefix,
                                                          const DocVisitor& visit) {
  if (impl_->dmarc == nullptr) return {};
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // a report walks a period once
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->dmarc));
  for (it->Seek(to_slice(prefix)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!visit(key, {it->value().data(), it->value().size()})) break;
  }
  return status_error(it->status(), "for_each_dmarc");
}

boost::system::error_code ReputationStore::erase_dmarc_before(std::int64_t begin) {
  if (impl_->options.read_only || impl_->dmarc == nullptr) {
    return make_error_code(Error::read_only);
  }
  const std::string from(kBeginBytes, '\0');
  const std::string to = dmarc_period_prefix(begin);
  rocksdb::WriteOptions write;
  write.sync = true;  // a period reported must not be reported again after a crash
  return status_error(impl_->db->DeleteRange(write, impl_->dmarc, to_slice(from), to_slice(to)),
                      "erase_dmarc");
}

}  // namespace mxgate::storage
