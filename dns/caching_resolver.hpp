// CachingResolver: a Resolver in front of another one (normally the worker's AresResolver) that
// reuses answers for as long as their TTL allows and never asks the same question twice at
// once. Keys are (normalized name, type).
//   - Answers live their TTL (the smallest of the RRset and the CNAMEs followed, RFC 2181
//     §5.2), clamped to [min_ttl, max_ttl].
//   - NXDOMAIN and NODATA live min(SOA TTL, SOA MINIMUM) (RFC 2308 §5), clamped to
//     [min_ttl, max_negative_ttl]; a negative reply without an SOA is not cached (RFC 2308 §5
//     "SHOULD NOT"), nor is one whose TTL is 0.
//   - ServFail, Refused, Timeout and Error live failure_ttl (default 5 s; 0 disables): long
//     enough that a dead or failing server is not asked again by every new session, short
//     enough to recover at once (RFC 2308 §7.1 allows up to 5 minutes for SERVFAIL).
//   - At most max_entries entries; the least recently used goes first.
//   - A lookup that finds the same question in flight waits for that query's Response.
// A Response served from the cache carries its remaining TTL (records' TTLs capped by it).
// Failure: never adds any; it passes on what the upstream Resolver returns.
// Threading: one per worker, no locks; its upstream, clock and metrics outlive it, and it
// outlives every lookup in progress.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/unordered/unordered_flat_map.hpp>

#include "common/clock.hpp"
#include "dns/resolver.hpp"

namespace mxgate::dns {

struct DnsMetrics;

struct CacheSettings {
  std::size_t max_entries = 10000;  // per worker; 0 disables caching (coalescing stays)
  std::chrono::seconds min_ttl{0};
  std::chrono::seconds max_ttl{86400};
  std::chrono::seconds max_negative_ttl{10800};  // RFC 2308 §5: "one to three hours"
  std::chrono::seconds failure_ttl{5};
};

// How long `response` may be cached under `settings` (0: not at all). Pure.
std::chrono::seconds cache_lifetime(const Response& response, const CacheSettings& settings);

class CachingResolver final : public Resolver {
 public:
  CachingResolver(Resolver& upstream, const common::Clock& clock, CacheSettings settings,
                  DnsMetrics* metrics = nullptr);
  ~CachingResolver() override;
  CachingResolver(const CachingResolver&) = delete;
  CachingResolver& operator=(const CachingResolver&) = delete;

  boost::asio::awaitable<Response> query(std::string name, RecordType type) override;
  std::optional<Response> peek(const std::string& name, RecordType type) override;  // a hit

  // New limits (after a config reload): entries beyond max_entries are evicted now; entries
  // keep the expiry they were given.
  void update(CacheSettings settings);
  void clear();

  std::size_t size() const { return entries_.size(); }
  std::size_t in_flight() const { return flights_.size(); }

  struct Flight;  // a query in progress and the lookups waiting for it (caching_resolver.cpp)

 private:
  struct Key {
    std::string name;
    RecordType type{};
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Entry {
    Key key;
    Response response;
    common::Clock::time_point stored, expires;
  };
  using Lru = std::list<Entry>;  // most recently used first

  std::optional<Response> cached(const Key& key);
  void store(const Key& key, const Response& response);
  void evict_beyond(std::size_t limit);
  void erase(Lru::iterator it);

  Resolver& upstream_;
  const common::Clock& clock_;
  CacheSettings settings_;
  DnsMetrics* metrics_;
  Lru lru_;
  // Open addressing: a hit touches one group of slots instead of walking a node chain (the
  // node-based map's find was the largest single cost of a session with every check on).
  boost::unordered_flat_map<Key, Lru::iterator, KeyHash> entries_;
  std::unordered_map<Key, std::shared_ptr<Flight>, KeyHash> flights_;

  boost::asio::awaitable<Response> ask_upstream(Key key);
};

}  // namespace mxgate::dns
