// Micro-benchmark of the DNS cache (dns::CachingResolver, issue 4): lookups per second answered
// from warm entries, through the whole co_await path a check takes (Resolver::a()/ptr()/mx() ->
// CachingResolver::query() -> normalize, hash, LRU splice, TTL ageing, copy -> decode into a
// Lookup), on an io_context with the real steady clock and the Prometheus hit counter.
// The upstream is tests/dns/fake_resolver.hpp (scripted, answers at once), so the miss and
// coalescing cases measure the cache's own bookkeeping, not a DNS server.
//
//   CachedA/PTR/MX/NxDomain   one coroutine awaiting lookups back to back over N warm names
//                             (N = 1,000 and 16,000 clients: 6,000 and 96,000 entries, the
//                             latter near dns.cache_entries' default of 100,000 per worker)
//   CachedAPeek               Resolver::peek_a(): the synchronous hit a check's `now` path takes
//                             (no coroutine at all)
//   CachedASpawned            one co_spawn per lookup (how a check that must fetch starts), polled
//   SessionLookups            the lookups of one fully checked SMTP session on warm entries:
//                             PTR, A of the PTR name, two DNSBL A (not listed: cached NXDOMAIN),
//                             MX of the sender domain, RHSBL A of it (NXDOMAIN); items = lookups
//   Miss                      cache off (max_entries 0): every lookup goes to the upstream
//   Coalesced                 16 lookups of one name in flight: one upstream query, 15 joined
//
// Run: build/benchmarks/micro/dns_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "dns/caching_resolver.hpp"
#include "dns/metrics.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::dns {
namespace {

namespace asio = boost::asio;
using testing::a_answer;
using testing::FakeResolver;
using testing::negative;

constexpr std::uint32_t kTtl = 86400;         // answers outlive any run
constexpr std::uint32_t kNegativeTtl = 3600;  // SOA MINIMUM of the fake zones (RFC 2308)

std::string host_name(std::size_t i) { return "mail-" + std::to_string(i) + ".senders.test"; }
std::string domain_name(std::size_t i) { return "domain-" + std::to_string(i) + ".test"; }

// 198.18.0.0/15 (RFC 2544, benchmarking): up to 131,072 distinct addresses.
common::IpBytes client_ip(std::size_t i) {
  common::IpBytes ip;
  ip.family = 4;
  ip.bytes[0] = 198;
  ip.bytes[1] = static_cast<std::uint8_t>(18 + ((i >> 16) & 1));
  ip.bytes[2] = static_cast<std::uint8_t>((i >> 8) & 0xff);
  ip.bytes[3] = static_cast<std::uint8_t>(i & 0xff);
  return ip;
}

Response ptr_answer(const std::string& target) {
  Response r = make_response(Outcome::Answer);
  r.ttl = kTtl;
  r.records.push_back(Record{"ptr", RecordType::PTR, kTtl, NameData{target}});
  return r;
}

Response mx_answer(const std::string& domain) {
  Response r = make_response(Outcome::Answer);
  r.ttl = kTtl;
  r.records.push_back(Record{domain, RecordType::MX, kTtl, MxData{10, "mx1." + domain}});
  r.records.push_back(Record{domain, RecordType::MX, kTtl, MxData{20, "mx2." + domain}});
  return r;
}

// The names every case looks up: for client i, its PTR (-> mail-i.senders.test, which resolves
// back to it), DNSBL/DNSWL names (NXDOMAIN: not listed), its sender domain's MX and the domain's
// RHSBL name (NXDOMAIN).
struct Names {
  std::vector<common::IpBytes> ips;
  std::vector<std::string> hosts, dnsbl, dnswl, domains, rhsbl;

  explicit Names(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto ip = client_ip(i);
      const std::string reversed = reversed_labels(ip);
      ips.push_back(ip);
      hosts.push_back(host_name(i));
      dnsbl.push_back(reversed + ".bl.bench.test");
      dnswl.push_back(reversed + ".wl.bench.test");
      domains.push_back(domain_name(i));
      rhsbl.push_back(domain_name(i) + ".dbl.bench.test");
    }
  }
};

// The server's default (conf: dns.cache_entries = 100000 per worker).
CacheSettings server_defaults() {
  CacheSettings settings;
  settings.max_entries = 100000;
  return settings;
}

struct World {
  explicit World(std::size_t n, CacheSettings settings = server_defaults())
      : names(n), upstream(context.get_executor()), cache(upstream, clock, settings, &metrics) {
    for (std::size_t i = 0; i < n; ++i) {
      upstream.set(reverse_name(names.ips[i]), RecordType::PTR, ptr_answer(names.hosts[i]));
      upstream.set(names.hosts[i], RecordType::A, a_answer(kTtl, {common::ip_text(names.ips[i]).c_str()}));
      upstream.set(names.domains[i], RecordType::MX, mx_answer(names.domains[i]));
    }
    // Everything else (DNSBL, DNSWL, RHSBL names) is NXDOMAIN with an SOA-derived TTL.
    upstream.missing = negative(Outcome::NxDomain, kNegativeTtl);
  }

  // Runs `work` to completion on the io_context.
  void run(asio::awaitable<void> work) {
    asio::co_spawn(context, std::move(work), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    context.restart();
    context.run();
  }

  asio::io_context context;
  prometheus::Registry registry;
  DnsMetrics metrics{registry};
  common::SteadyClock clock;
  Names names;
  FakeResolver upstream;
  CachingResolver cache;
};

// One lookup of each kind per client: fills the cache.
asio::awaitable<void> warm(World& w) {
  const Names& n = w.names;
  for (std::size_t i = 0; i < n.ips.size(); ++i) {
    benchmark::DoNotOptimize(co_await w.cache.ptr(n.ips[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.hosts[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.dnsbl[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.dnswl[i]));
    benchmark::DoNotOptimize(co_await w.cache.mx(n.domains[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.rhsbl[i]));
  }
}

void check_warm(benchmark::State& state, World& w, double misses_before) {
  const double misses = w.metrics.cache_misses.Value() - misses_before;
  if (misses != 0) state.SkipWithError("a measured lookup missed the cache");
  state.counters["entries"] = static_cast<double>(w.cache.size());
}

enum class Kind { A, Ptr, Mx, NxDomain };

asio::awaitable<void> lookups(benchmark::State& state, World& w, Kind kind) {
  const Names& n = w.names;
  const std::size_t size = n.ips.size();
  std::size_t i = 0;
  for (auto _ : state) {
    switch (kind) {
      case Kind::A:
        benchmark::DoNotOptimize(co_await w.cache.a(n.hosts[i]));
        break;
      case Kind::Ptr:
        benchmark::DoNotOptimize(co_await w.cache.ptr(n.ips[i]));
        break;
      case Kind::Mx:
        benchmark::DoNotOptimize(co_await w.cache.mx(n.domains[i]));
        break;
      case Kind::NxDomain:
        benchmark::DoNotOptimize(co_await w.cache.a(n.dnsbl[i]));
        break;
    }
    if (++i == size) i = 0;
  }
}

template <Kind kind>
void BM_Cached(benchmark::State& state) {
  World w(static_cast<std::size_t>(state.range(0)));
  w.run(warm(w));
  const double misses = w.metrics.cache_misses.Value();
  w.run(lookups(state, w, kind));
  check_warm(state, w, misses);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Cached<Kind::A>)->Name("CachedA")->Arg(1000)->Arg(16000);
BENCHMARK(BM_Cached<Kind::Ptr>)->Name("CachedPTR")->Arg(1000)->Arg(16000);
BENCHMARK(BM_Cached<Kind::Mx>)->Name("CachedMX")->Arg(1000)->Arg(16000);
BENCHMARK(BM_Cached<Kind::NxDomain>)->Name("CachedNxDomain")->Arg(1000)->Arg(16000);

// The synchronous hit a check answered from the cache takes (PendingCheck::now).
void BM_CachedAPeek(benchmark::State& state) {
  World w(static_cast<std::size_t>(state.range(0)));
  w.run(warm(w));
  const double misses = w.metrics.cache_misses.Value();
  const std::size_t size = w.names.hosts.size();
  std::size_t i = 0;
  for (auto _ : state) {
    auto lookup = w.cache.peek_a(w.names.hosts[i]);
    if (!lookup) state.SkipWithError("a warm name was not cached");
    benchmark::DoNotOptimize(lookup);
    if (++i == size) i = 0;
  }
  check_warm(state, w, misses);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedAPeek)->Name("CachedAPeek")->Arg(1000)->Arg(16000);

asio::awaitable<void> one_a(World& w, std::size_t i) {
  benchmark::DoNotOptimize(co_await w.cache.a(w.names.hosts[i]));
}

// A co_spawn per lookup, as the pipeline starts each check: adds the spawn and the handler.
void BM_CachedASpawned(benchmark::State& state) {
  World w(static_cast<std::size_t>(state.range(0)));
  w.run(warm(w));
  const double misses = w.metrics.cache_misses.Value();
  const std::size_t size = w.names.ips.size();
  std::size_t i = 0;
  for (auto _ : state) {
    asio::co_spawn(w.context, one_a(w, i), asio::detached);
    w.context.restart();
    w.context.poll();
    if (++i == size) i = 0;
  }
  check_warm(state, w, misses);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedASpawned)->Name("CachedASpawned")->Arg(1000)->Arg(16000);

constexpr int kLookupsPerSession = 6;

asio::awaitable<void> sessions(benchmark::State& state, World& w) {
  const Names& n = w.names;
  const std::size_t size = n.ips.size();
  std::size_t i = 0;
  for (auto _ : state) {
    auto ptr = co_await w.cache.ptr(n.ips[i]);
    benchmark::DoNotOptimize(co_await w.cache.a(ptr.records.front().name));
    benchmark::DoNotOptimize(co_await w.cache.a(n.dnsbl[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.dnswl[i]));
    benchmark::DoNotOptimize(co_await w.cache.mx(n.domains[i]));
    benchmark::DoNotOptimize(co_await w.cache.a(n.rhsbl[i]));
    if (++i == size) i = 0;
  }
}

void BM_SessionLookups(benchmark::State& state) {
  World w(static_cast<std::size_t>(state.range(0)));
  w.run(warm(w));
  const double misses = w.metrics.cache_misses.Value();
  w.run(sessions(state, w));
  check_warm(state, w, misses);
  state.SetItemsProcessed(state.iterations() * kLookupsPerSession);
  state.counters["sessions"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SessionLookups)->Name("SessionLookups")->Arg(1000)->Arg(16000);

// Cache off: every lookup opens a flight and asks the (instant) upstream.
void BM_Miss(benchmark::State& state) {
  CacheSettings settings;
  settings.max_entries = 0;
  World w(1000, settings);
  w.run(lookups(state, w, Kind::A));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Miss)->Name("Miss");

// 16 lookups of one name while its query is in flight: one upstream query, 15 join it.
void BM_Coalesced(benchmark::State& state) {
  constexpr int kWaiters = 16;
  CacheSettings settings;
  settings.max_entries = 0;  // so that every iteration starts with a miss
  World w(1000, settings);
  std::size_t i = 0;
  for (auto _ : state) {
    w.upstream.hold();
    for (int k = 0; k < kWaiters; ++k) asio::co_spawn(w.context, one_a(w, i), asio::detached);
    w.context.restart();
    w.context.poll();  // all parked: the leader on the upstream, the others on its flight
    w.upstream.release();
    w.context.restart();
    w.context.poll();
    if (++i == 1000) i = 0;
  }
  if (w.cache.in_flight() != 0) state.SkipWithError("a flight did not land");
  state.SetItemsProcessed(state.iterations() * kWaiters);
  state.counters["coalesced"] =
      w.metrics.cache_coalesced.Value() / static_cast<double>(state.iterations() * kWaiters);
}
BENCHMARK(BM_Coalesced)->Name("Coalesced");

}  // namespace
}  // namespace mxgate::dns
