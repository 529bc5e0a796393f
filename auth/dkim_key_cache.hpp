// DkimKeyCache: parsed key records by their text, so that a key seen again (a sender's mail
// keeps coming) skips parse_dkim_key: with OpenSSL 3, decoding an RSA public key costs several
// times the verification itself (benchmarks/README.md, "Email authentication"). Keyed by the
// record's text, so a key that changes in DNS is parsed anew; the DNS cache decides how long a
// record is believed. Bounded, least recently used out first. One per worker: not thread-safe.
// key_from_lookup turns a key record lookup into a key or the verdict RFC 6376 §6.1.2 gives,
// for DKIM signatures and ARC's alike.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/dkim_key.hpp"
#include "auth/dkim_verify.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth {

class DkimKeyCache {
 public:
  explicit DkimKeyCache(std::size_t max_entries = 1000) : max_entries_(max_entries) {}

  // The parsed record: from the cache, or parsed now (and kept, failures included: a bad
  // record is as stable as a good one).
  std::shared_ptr<const DkimKeyResult> get(std::string_view record);

  std::size_t size() const { return index_.size(); }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string record;
    std::shared_ptr<const DkimKeyResult> parsed;
  };
  std::size_t max_entries_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

// What a signature's key record lookup gave (RFC 6376 §6.1.2 steps 3-5): a lookup that failed
// for a temporary reason is temperror ("TEMPFAIL"), no record or a record that is no usable key
// permerror ("PERMFAIL"); otherwise the parsed key. Of several TXT records, the first is used.
struct FetchedKey {
  std::shared_ptr<const DkimKeyResult> parsed;  // holds a key when `problem` is empty
  std::optional<DkimVerdict> problem;
};
FetchedKey key_from_lookup(const dns::Lookup<dns::TxtRecord>& lookup, DkimKeyCache& keys);

}  // namespace mxgate::auth
