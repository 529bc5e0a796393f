#include "storage/listing_bulk.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "storage/merge.hpp"
#include "storage/record_codec.hpp"

namespace mxgate::storage {

using boost::system::error_code;

namespace {
constexpr std::size_t kMaxIpKeyBytes = 18;  // tag, prefix length, 16 address bytes
constexpr std::size_t kMaxDomainKeyBytes = 255;

bool domain_family(Family family) {
  return family == Family::SenderDomain || family == Family::LinkedDomain;
}
}  // namespace

// A buffered listing without heap allocations of its own: a key of up to kMaxIpKeyBytes inline
// (every IP and network key, short domains), a longer domain key and the reason in text_.
struct ListingBulkWriter::Entry {
  std::array<char, kMaxIpKeyBytes> key;  // zero after key_size; unused for a long key
  std::uint8_t key_size;
  std::uint64_t key_at;  // a long key's offset into text_
  Family family;
  reputation::ListingAction action;
  std::uint16_t reason_size;
  std::uint32_t source;  // index into sources_
  std::uint32_t arrival;
  std::uint64_t reason_at;  // offset into text_
  std::int64_t created;
  std::int64_t expires;

  bool inline_key() const { return key_size <= kMaxIpKeyBytes; }
  std::string_view key_view(const std::string& text) const {
    return inline_key() ? std::string_view{key.data(), key_size}
                        : std::string_view{text}.substr(key_at, key_size);
  }
};

namespace {

using Entry = ListingBulkWriter::Entry;

// The key bytes from `at` as a big-endian number: comparing these compares bytes as unsigned
// char, RocksDB's bytewise order.
std::uint64_t key_word(const Entry& e, std::size_t at) {
  std::uint64_t word = 0;
  std::memcpy(&word, e.key.data() + at, sizeof word);
  return __builtin_bswap64(word);
}

// Sorting millions of entries: whole-word compares instead of memcmp calls. Bytes past key_size
// are zero, so a key that is a prefix of another sorts first through key_size; that order is
// the bytewise one, which a long (domain) key is compared in directly.
bool less(const Entry& a, const Entry& b, const std::string& text) {
  static_assert(kMaxIpKeyBytes == 18, "two words and two bytes");
  if (a.family != b.family) return a.family < b.family;
  if (!a.inline_key() || !b.inline_key()) {
    const int order = a.key_view(text).compare(b.key_view(text));
    return order != 0 ? order < 0 : a.arrival < b.arrival;
  }
  for (std::size_t at : {std::size_t{0}, std::size_t{8}}) {
    const auto wa = key_word(a, at), wb = key_word(b, at);
    if (wa != wb) return wa < wb;
  }
  const auto ta =
      static_cast<unsigned char>(a.key[16]) << 8 | static_cast<unsigned char>(a.key[17]);
  const auto tb =
      static_cast<unsigned char>(b.key[16]) << 8 | static_cast<unsigned char>(b.key[17]);
  if (ta != tb) return ta < tb;
  if (a.key_size != b.key_size) return a.key_size < b.key_size;
  return a.arrival < b.arrival;
}

bool same_key(const Entry& a, const Entry& b, const std::string& text) {
  return a.family == b.family && a.key_view(text) == b.key_view(text);
}

}  // namespace

ListingBulkWriter::ListingBulkWriter(StoreOptions options, std::filesystem::path dir,
                                     std::size_t chunk_entries)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      chunk_entries_(std::max<std::size_t>(1, chunk_entries)) {}

ListingBulkWriter::~ListingBulkWriter() = default;

error_code ListingBulkWriter::add(Family family, std::string_view key,
                                  const reputation::Listing& listing) {
  const bool ip = family == Family::Ip || family == Family::Network;
  if ((!ip && !domain_family(family)) || key.empty() ||
      key.size() > (ip ? kMaxIpKeyBytes : kMaxDomainKeyBytes)) {
    return make_error_code(Error::other);
  }
  if (entries_.size() >= chunk_entries_) {
    if (auto ec = flush_chunk()) return ec;
  }
  if (sources_.empty() || sources_.back() != listing.source) sources_.push_back(listing.source);
  // The record codec keeps at most kMaxListingText bytes of a reason; keep no more here.
  const std::string_view reason = std::string_view(listing.reason).substr(0, kMaxListingText);
  Entry entry{};
  entry.key_size = static_cast<std::uint8_t>(key.size());
  if (entry.inline_key()) {
    std::memcpy(entry.key.data(), key.data(), key.size());
  } else {
    entry.key_at = text_.size();
    text_.append(key);
  }
  entry.family = family;
  entry.action = listing.action;
  entry.reason_size = static_cast<std::uint16_t>(reason.size());
  entry.source = static_cast<std::uint32_t>(sources_.size() - 1);
  entry.arrival = static_cast<std::uint32_t>(entries_.size());
  entry.reason_at = text_.size();
  entry.created = listing.created;
  entry.expires = listing.expires;
  text_.append(reason);
  entries_.push_back(entry);
  ++added_;
  return {};
}

error_code ListingBulkWriter::finish() { return flush_chunk(); }

reputation::Listing ListingBulkWriter::listing_of(const Entry& entry) const {
  reputation::Listing listing;
  listing.action = entry.action;
  listing.reason.assign(text_, entry.reason_at, entry.reason_size);
  listing.source = sources_[entry.source];
  listing.created = entry.created;
  listing.expires = entry.expires;
  return listing;
}

error_code ListingBulkWriter::write_family(const Entry* begin, const Entry* end) {
  const auto path =
      dir_ / (std::string(family_name(begin->family)) + "-" + std::to_string(chunks_) + ".sst");
  auto builder = make_sst_builder(options_, path);
  if (!builder) return builder.error();
  BulkFile file{begin->family, path, 0};
  for (const Entry* it = begin; it != end; ++it) {
    // Sorted by arrival within a key: only the last of a run is written.
    if (it + 1 != end && same_key(*it, *(it + 1), text_)) continue;
    if (auto ec = (*builder)->add_patch(it->key_view(text_), listing_patch(listing_of(*it)))) {
      return ec;
    }
    ++file.entries;
  }
  if (auto ec = (*builder)->finish()) return ec;
  written_ += file.entries;
  files_.push_back(std::move(file));
  return {};
}

error_code ListingBulkWriter::flush_chunk() {
  if (entries_.empty()) return {};
  std::sort(entries_.begin(), entries_.end(),
            [this](const Entry& a, const Entry& b) { return less(a, b, text_); });
  const Entry* begin = entries_.data();
  const Entry* const end = begin + entries_.size();
  while (begin != end) {
    const Entry* family_end = std::find_if(
        begin, end, [family = begin->family](const Entry& e) { return e.family != family; });
    if (auto ec = write_family(begin, family_end)) return ec;
    begin = family_end;
  }
  ++chunks_;
  entries_.clear();
  text_.clear();
  sources_.clear();
  return {};
}

}  // namespace mxgate::storage
