#include "dns/caching_resolver.hpp"

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <utility>
#include <vector>

#include "dns/message.hpp"
#include "dns/metrics.hpp"

namespace mxgate::dns {

namespace asio = boost::asio;
using Handler = asio::any_completion_handler<void(Response)>;
using std::chrono::seconds;

namespace {

// A lookup waiting for a flight: where it runs, and how to resume it.
struct Waiter {
  asio::any_io_executor executor;
  Handler handler;
};

// Resumes a waiting lookup from its executor's queue, never from inside the query that
// finished (which is still running its own coroutine).
void post_response(Waiter waiter, Response response) {
  asio::post(waiter.executor,
             [handler = std::move(waiter.handler), response = std::move(response)]() mutable {
               std::move(handler)(std::move(response));
             });
}

seconds clamp_ttl(std::uint32_t ttl, seconds low, seconds high) {
  return std::min(std::max(seconds(ttl), low), high);  // std::clamp is UB when low > high
}

std::uint32_t aged(std::uint32_t ttl, seconds age) {
  const auto elapsed = static_cast<std::uint64_t>(std::max<seconds::rep>(age.count(), 0));
  return ttl > elapsed ? static_cast<std::uint32_t>(ttl - elapsed) : 0;
}

}  // namespace

// One query to the upstream and the lookups that joined it. Shared by the leading coroutine
// and the cache: if the cache goes first (owner = nullptr), the leader still completes safely.
struct CachingResolver::Flight {
  CachingResolver* owner = nullptr;
  Key key;
  std::vector<Waiter> waiters;
  bool landed = false;

  // The query's result reaches the cache (unless `cache` is false) and every waiter.
  void land(const Response& response, bool cache) {
    if (landed) return;
    landed = true;
    if (owner != nullptr) {
      if (cache) owner->store(key, response);
      const auto registered = owner->flights_.find(key);
      if (registered != owner->flights_.end() && registered->second.get() == this) {
        owner->flights_.erase(registered);
      }
    }
    for (Waiter& waiter : waiters) post_response(std::move(waiter), response);
    waiters.clear();
  }
};

namespace {

// Lands a flight with Error if its leader ends without a result (an exception, or the frame
// destroyed), so no joined lookup waits forever.
struct LandOnExit {
  std::shared_ptr<CachingResolver::Flight> flight;
  ~LandOnExit() { flight->land(make_response(Outcome::Error), false); }
};

template <typename Token>
auto async_join(CachingResolver::Flight& flight, asio::any_io_executor executor, Token&& token) {
  return asio::async_initiate<Token, void(Response)>(
      [&flight](auto handler, asio::any_io_executor ex) {
        flight.waiters.push_back(Waiter{std::move(ex), Handler(std::move(handler))});
      },
      token, std::move(executor));
}

}  // namespace

seconds cache_lifetime(const Response& response, const CacheSettings& settings) {
  switch (response.outcome) {
    case Outcome::Answer:
      return clamp_ttl(response.ttl, settings.min_ttl, settings.max_ttl);
    case Outcome::NxDomain:
    case Outcome::NoData:
      if (response.ttl == 0) return seconds(0);  // no SOA: RFC 2308 §5 "SHOULD NOT be cached"
      return clamp_ttl(response.ttl, settings.min_ttl, settings.max_negative_ttl);
    case Outcome::ServFail:
    case Outcome::Refused:
    case Outcome::Timeout:
    case Outcome::Error:
      break;
  }
  return std::max(settings.failure_ttl, seconds(0));
}

std::size_t CachingResolver::KeyHash::operator()(const Key& key) const {
  return std::hash<std::string>{}(key.name) * 31 + static_cast<std::size_t>(key.type);
}

CachingResolver::CachingResolver(Resolver& upstream, const common::Clock& clock,
                                 CacheSettings settings, DnsMetrics* metrics)
    : upstream_(upstream), clock_(clock), settings_(settings), metrics_(metrics) {}

CachingResolver::~CachingResolver() {
  for (auto& [key, flight] : flights_) {
    flight->owner = nullptr;
    for (Waiter& waiter : flight->waiters) {
      post_response(std::move(waiter), make_response(Outcome::Error));
    }
    flight->waiters.clear();
  }
  clear();
}

asio::awaitable<Response> CachingResolver::query(std::string name, RecordType type) {
  std::optional<std::string> normalized = normalize_name(name);
  if (!normalized) {  // the upstream refuses it (Error) and counts it
    Response refused = co_await upstream_.query(std::move(name), type);
    co_return refused;
  }
  Key key{std::move(*normalized), type};
  std::optional<Response> hit = cached(key);
  if (hit) {
    if (metrics_ != nullptr) metrics_->cache_hits.Increment();
    co_return std::move(*hit);
  }
  const auto flying = flights_.find(key);
  if (flying != flights_.end()) {
    if (metrics_ != nullptr) metrics_->cache_coalesced.Increment();
    const std::shared_ptr<Flight> flight = flying->second;  // keeps it alive while we wait
    asio::any_io_executor executor = co_await asio::this_coro::executor;
    Response joined = co_await async_join(*flight, std::move(executor), asio::use_awaitable);
    co_return joined;
  }
  if (metrics_ != nullptr) metrics_->cache_misses.Increment();
  Response asked = co_await ask_upstream(std::move(key));
  co_return asked;
}

std::optional<Response> CachingResolver::peek(const std::string& name, RecordType type) {
  std::optional<std::string> normalized = normalize_name(name);
  if (!normalized) return std::nullopt;
  std::optional<Response> hit = cached(Key{std::move(*normalized), type});
  if (hit && metrics_ != nullptr) metrics_->cache_hits.Increment();
  return hit;
}

asio::awaitable<Response> CachingResolver::ask_upstream(Key key) {
  auto flight = std::make_shared<Flight>();
  flight->owner = this;
  flight->key = key;
  flights_.emplace(key, flight);
  LandOnExit guard{flight};
  Response response = co_await upstream_.query(key.name, key.type);
  flight->land(response, true);  // touches the cache only if it still exists
  co_return response;
}

std::optional<Response> CachingResolver::cached(const Key& key) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  const Lru::iterator entry = found->second;
  const common::Clock::time_point now = clock_.now();
  if (now >= entry->expires) {
    erase(entry);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  // TTLs count down while cached, as a recursive resolver's do (RFC 1035 §7.4).
  const seconds age = std::chrono::duration_cast<seconds>(now - entry->stored);
  Response response = entry->response;
  response.ttl = aged(response.ttl, age);
  for (Record& record : response.records) record.ttl = aged(record.ttl, age);
  return response;
}

void CachingResolver::store(const Key& key, const Response& response) {
  const seconds lifetime = cache_lifetime(response, settings_);
  if (lifetime <= seconds(0) || settings_.max_entries == 0) return;
  if (const auto found = entries_.find(key); found != entries_.end()) erase(found->second);
  const common::Clock::time_point now = clock_.now();
  lru_.push_front(Entry{key, response, now, now + lifetime});
  entries_.emplace(key, lru_.begin());
  if (metrics_ != nullptr) metrics_->cache_entries.Increment();
  evict_beyond(settings_.max_entries);
}

void CachingResolver::evict_beyond(std::size_t limit) {
  while (entries_.size() > limit) {
    erase(std::prev(lru_.end()));
    if (metrics_ != nullptr) metrics_->cache_evictions.Increment();
  }
}

void CachingResolver::erase(Lru::iterator entry) {
  entries_.erase(entry->key);
  lru_.erase(entry);
  if (metrics_ != nullptr) metrics_->cache_entries.Decrement();
}

void CachingResolver::update(CacheSettings settings) {
  settings_ = settings;
  evict_beyond(settings_.max_entries);
}

void CachingResolver::clear() {
  if (metrics_ != nullptr) metrics_->cache_entries.Decrement(static_cast<double>(entries_.size()));
  entries_.clear();
  lru_.clear();
}

}  // namespace mxgate::dns
