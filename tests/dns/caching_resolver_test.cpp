// The cache with a manual clock over a scripted resolver: TTLs and their clamps, negative
// caching (RFC 2308), failures, the LRU bound, coalescing of lookups in flight, and metrics.
#include "dns/caching_resolver.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "dns/metrics.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::dns {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::a_answer;
using testing::FakeResolver;
using testing::negative;

asio::awaitable<Response> ask(Resolver& resolver, std::string name, RecordType type) {
  Response response = co_await resolver.query(std::move(name), type);
  co_return response;
}

struct Harness {
  explicit Harness(CacheSettings settings = {})
      : upstream(context.get_executor()), cache(upstream, clock, settings, &metrics) {}

  // Starts a lookup; its Response lands in `results` (in completion order).
  void spawn(std::string name, RecordType type = RecordType::A) {
    asio::co_spawn(context, ask(cache, std::move(name), type),
                   [this](std::exception_ptr e, Response response) {
                     if (e) std::rethrow_exception(e);
                     results.push_back(std::move(response));
                   });
  }
  // Runs until every queued handler ran (no sleeping: the fake answers at once unless held).
  void settle() {
    context.restart();
    context.poll();
  }
  Response lookup(std::string name, RecordType type = RecordType::A) {
    results.clear();
    spawn(std::move(name), type);
    settle();
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? make_response(Outcome::Error) : results.back();
  }

  asio::io_context context;
  common::ManualClock clock;
  prometheus::Registry registry;
  DnsMetrics metrics{registry};
  FakeResolver upstream;
  CachingResolver cache;
  std::vector<Response> results;
};

TEST(CachingResolver, AnswersFromTheCacheWithinTheTtlAndCountsDown) {
  Harness h;
  h.upstream.set("mx.test", RecordType::A, a_answer(300, {"192.0.2.1"}));
  EXPECT_EQ(h.lookup("mx.test").outcome, Outcome::Answer);
  h.clock.advance(100s);
  const Response again = h.lookup("MX.Test.");  // same key: case and trailing dot do not matter
  EXPECT_EQ(again.outcome, Outcome::Answer);
  EXPECT_EQ(again.ttl, 200u);
  EXPECT_EQ(again.records.at(0).ttl, 200u);
  EXPECT_EQ(h.upstream.calls(), 1);
  EXPECT_EQ(h.metrics.cache_hits.Value(), 1);
  EXPECT_EQ(h.metrics.cache_misses.Value(), 1);
  EXPECT_EQ(h.metrics.cache_entries.Value(), 1);
}

TEST(CachingResolver, AsksAgainWhenTheTtlExpires) {
  Harness h;
  h.upstream.set("mx.test", RecordType::A, a_answer(300, {"192.0.2.1"}));
  h.lookup("mx.test");
  h.clock.advance(299s);
  h.lookup("mx.test");
  EXPECT_EQ(h.upstream.calls(), 1);
  h.clock.advance(1s);
  h.lookup("mx.test");
  EXPECT_EQ(h.upstream.calls(), 2);
}

TEST(CachingResolver, TypesAreCachedApart) {
  Harness h;
  h.upstream.set("mx.test", RecordType::A, a_answer(300, {"192.0.2.1"}));
  h.lookup("mx.test", RecordType::A);
  EXPECT_EQ(h.lookup("mx.test", RecordType::AAAA).outcome, Outcome::NxDomain);
  EXPECT_EQ(h.upstream.calls(), 2);
}

TEST(CachingResolver, ClampsTtlsToMinAndMax) {
  CacheSettings settings;
  settings.min_ttl = 10s;
  settings.max_ttl = 60s;
  Harness h(settings);
  h.upstream.set("short.test", RecordType::A, a_answer(1, {"192.0.2.1"}));
  h.upstream.set("long.test", RecordType::A, a_answer(86400, {"192.0.2.2"}));
  h.upstream.set("zero.test", RecordType::A, a_answer(0, {"192.0.2.3"}));
  h.lookup("short.test");
  h.lookup("long.test");
  h.lookup("zero.test");
  h.clock.advance(9s);
  h.lookup("short.test");
  h.lookup("zero.test");
  EXPECT_EQ(h.upstream.calls(), 3);
  h.clock.advance(51s);  // 60 s: the max
  h.lookup("long.test");
  EXPECT_EQ(h.upstream.calls(), 4);
}

TEST(CachingResolver, ZeroTtlIsNotCachedWithoutAMinimum) {
  Harness h;
  h.upstream.set("zero.test", RecordType::A, a_answer(0, {"192.0.2.3"}));
  h.lookup("zero.test");
  h.lookup("zero.test");
  EXPECT_EQ(h.upstream.calls(), 2);
  EXPECT_EQ(h.cache.size(), 0u);
}

TEST(CachingResolver, NegativeAnswersLiveTheirSoaTtlUpToTheNegativeMax) {  // RFC 2308 §5
  CacheSettings settings;
  settings.max_negative_ttl = 600s;
  Harness h(settings);
  h.upstream.set("nx.test", RecordType::A, negative(Outcome::NxDomain, 3600));
  h.upstream.set("nodata.test", RecordType::MX, negative(Outcome::NoData, 120));
  EXPECT_EQ(h.lookup("nx.test").outcome, Outcome::NxDomain);
  EXPECT_EQ(h.lookup("nodata.test", RecordType::MX).outcome, Outcome::NoData);
  h.clock.advance(119s);
  EXPECT_EQ(h.lookup("nx.test").outcome, Outcome::NxDomain);
  EXPECT_EQ(h.lookup("nodata.test", RecordType::MX).outcome, Outcome::NoData);
  EXPECT_EQ(h.upstream.calls(), 2);
  h.clock.advance(1s);
  h.lookup("nodata.test", RecordType::MX);
  EXPECT_EQ(h.upstream.calls(), 3);
  h.clock.advance(480s);  // 600 s
  h.lookup("nx.test");
  EXPECT_EQ(h.upstream.calls(), 4);
}

TEST(CachingResolver, NegativeAnswerWithoutSoaIsNotCached) {
  Harness h;  // the fake's default for unknown names: NXDOMAIN, TTL 0
  h.lookup("unknown.test");
  h.lookup("unknown.test");
  EXPECT_EQ(h.upstream.calls(), 2);
}

TEST(CachingResolver, FailuresAreCachedBriefly) {
  Harness h;  // failure_ttl 5 s
  h.upstream.set("fail.test", RecordType::A, negative(Outcome::ServFail));
  h.upstream.set("slow.test", RecordType::A, negative(Outcome::Timeout));
  EXPECT_EQ(h.lookup("fail.test").outcome, Outcome::ServFail);
  EXPECT_EQ(h.lookup("slow.test").outcome, Outcome::Timeout);
  h.clock.advance(4s);
  EXPECT_EQ(h.lookup("fail.test").outcome, Outcome::ServFail);
  EXPECT_EQ(h.lookup("slow.test").outcome, Outcome::Timeout);
  EXPECT_EQ(h.upstream.calls(), 2);
  h.clock.advance(1s);
  h.upstream.set("fail.test", RecordType::A, a_answer(60, {"192.0.2.9"}));
  EXPECT_EQ(h.lookup("fail.test").outcome, Outcome::Answer);  // recovered at once
  EXPECT_EQ(h.upstream.calls(), 3);
}

TEST(CachingResolver, FailuresAreNotCachedWhenFailureTtlIsZero) {
  CacheSettings settings;
  settings.failure_ttl = 0s;
  Harness h(settings);
  h.upstream.set("fail.test", RecordType::A, negative(Outcome::ServFail));
  h.lookup("fail.test");
  h.lookup("fail.test");
  EXPECT_EQ(h.upstream.calls(), 2);
}

TEST(CachingResolver, EvictsTheLeastRecentlyUsedBeyondTheBound) {
  CacheSettings settings;
  settings.max_entries = 2;
  Harness h(settings);
  for (const char* name : {"a.test", "b.test", "c.test"}) {
    h.upstream.set(name, RecordType::A, a_answer(300, {"192.0.2.1"}));
  }
  h.lookup("a.test");
  h.lookup("b.test");
  h.lookup("a.test");  // a is now the most recently used
  h.lookup("c.test");  // evicts b
  EXPECT_EQ(h.cache.size(), 2u);
  EXPECT_EQ(h.upstream.calls(), 3);
  h.lookup("a.test");
  h.lookup("c.test");
  EXPECT_EQ(h.upstream.calls(), 3);
  h.lookup("b.test");
  EXPECT_EQ(h.upstream.calls(), 4);
  EXPECT_EQ(h.metrics.cache_evictions.Value(), 2);  // b, then a or c for b
  EXPECT_EQ(h.metrics.cache_entries.Value(), 2);
}

TEST(CachingResolver, UpdateShrinksTheCacheAtOnce) {
  Harness h;
  for (const char* name : {"a.test", "b.test", "c.test"}) {
    h.upstream.set(name, RecordType::A, a_answer(300, {"192.0.2.1"}));
    h.lookup(name);
  }
  CacheSettings smaller;
  smaller.max_entries = 1;
  h.cache.update(smaller);
  EXPECT_EQ(h.cache.size(), 1u);
  h.lookup("c.test");  // the most recent one stayed
  EXPECT_EQ(h.upstream.calls(), 3);
}

TEST(CachingResolver, IdenticalLookupsInFlightShareOneQuery) {
  Harness h;
  h.upstream.set("mx.test", RecordType::A, a_answer(300, {"192.0.2.1"}));
  h.upstream.hold();
  h.spawn("mx.test");
  h.spawn("MX.test.");
  h.spawn("mx.test");
  h.spawn("other.test");  // a different question is not coalesced
  h.settle();
  EXPECT_TRUE(h.results.empty());
  EXPECT_EQ(h.upstream.calls(), 2);
  EXPECT_EQ(h.cache.in_flight(), 2u);
  h.upstream.release();
  h.settle();
  ASSERT_EQ(h.results.size(), 4u);
  int answers = 0;
  for (const Response& r : h.results) answers += r.outcome == Outcome::Answer ? 1 : 0;
  EXPECT_EQ(answers, 3);
  EXPECT_EQ(h.cache.in_flight(), 0u);
  EXPECT_EQ(h.metrics.cache_coalesced.Value(), 2);
  EXPECT_EQ(h.metrics.cache_misses.Value(), 2);
  h.lookup("mx.test");  // and the answer was cached
  EXPECT_EQ(h.upstream.calls(), 2);
}

TEST(CachingResolver, CoalescedFailureIsSharedToo) {
  CacheSettings settings;
  settings.failure_ttl = 0s;
  Harness h(settings);
  h.upstream.set("slow.test", RecordType::A, negative(Outcome::Timeout));
  h.upstream.hold();
  h.spawn("slow.test");
  h.spawn("slow.test");
  h.settle();
  h.upstream.release();
  h.settle();
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_EQ(h.results[0].outcome, Outcome::Timeout);
  EXPECT_EQ(h.results[1].outcome, Outcome::Timeout);
  EXPECT_EQ(h.upstream.calls(), 1);
}

TEST(CachingResolver, DestroyedWithLookupsInFlightCompletesTheWaitersWithError) {
  asio::io_context context;
  common::ManualClock clock;
  FakeResolver upstream(context.get_executor());
  upstream.hold();
  std::vector<Response> results;
  auto done = [&](std::exception_ptr e, Response r) {
    if (e) std::rethrow_exception(e);
    results.push_back(std::move(r));
  };
  {
    CachingResolver cache(upstream, clock, {});
    asio::co_spawn(context, ask(cache, "a.test", RecordType::A), done);
    asio::co_spawn(context, ask(cache, "a.test", RecordType::A), done);
    context.poll();
    EXPECT_EQ(cache.in_flight(), 1u);
  }
  context.restart();
  context.poll();
  ASSERT_EQ(results.size(), 1u);  // the waiter
  EXPECT_EQ(results[0].outcome, Outcome::Error);
  upstream.release();  // the leader finishes without touching the destroyed cache
  context.restart();
  context.poll();
  EXPECT_EQ(results.size(), 2u);
}

TEST(CacheLifetime, PolicyTable) {
  CacheSettings s;
  s.min_ttl = 5s;
  s.max_ttl = 3600s;
  s.max_negative_ttl = 900s;
  s.failure_ttl = 7s;
  struct Case {
    Outcome outcome;
    std::uint32_t ttl;
    std::chrono::seconds expected;
  };
  const Case cases[] = {
      {Outcome::Answer, 300, 300s},    {Outcome::Answer, 1, 5s},   {Outcome::Answer, 99999, 3600s},
      {Outcome::NxDomain, 3600, 900s}, {Outcome::NoData, 60, 60s}, {Outcome::NoData, 0, 0s},
      {Outcome::ServFail, 0, 7s},      {Outcome::Refused, 0, 7s},  {Outcome::Timeout, 0, 7s},
      {Outcome::Error, 0, 7s},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(cache_lifetime(negative(c.outcome, c.ttl), s), c.expected)
        << to_string(c.outcome) << " " << c.ttl;
  }
}

}  // namespace
}  // namespace mxgate::dns
