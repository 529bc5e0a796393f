// Micro-benchmark of the connection-time reputation lookup: try_get_connect (the IP record and
// its /24, two cache-only Gets) against a store of N IPv4 records, N from the environment
// variable MXGATE_BENCH_IPS (default 1,000,000; the target is p99 < 50 µs at 10,000,000).
// The store is filled once through SST ingestion (SstBuilder), so 10 million records load in
// well under a minute. Lookups go to a warmed working set: half present IPs, half absent IPs of
// the same networks. Reported counters: p50_us, p99_us, not_cached (fraction), lookups/s.
// Argument 0: RocksDB alone (no record cache); 1: with the record cache (storage/record_cache)
// of the default share, 1/4 of the memory, which holds part of the working set.
// Run: storage_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "storage/reputation_store.hpp"

namespace mxgate::storage {
namespace {

using address_v4 = boost::asio::ip::address_v4;

constexpr std::uint32_t kFirstAddress = 0x0b000000;  // 11.0.0.0
constexpr std::uint32_t kStride = 3;                 // present: base + 3i; absent: base + 3i + 1
constexpr std::size_t kWorkingSet = 200'000;         // distinct present IPs looked up
constexpr std::size_t kDefaultIps = 1'000'000;
constexpr std::size_t kBlockCache = std::size_t{1} << 30;

reputation::Record sample_record(std::uint32_t i) {
  reputation::Record record;
  record.first_seen = 1'700'000'000 + i;
  record.last_seen = record.first_seen + 86400;
  for (std::uint32_t d = 0; d < 3; ++d) {
    record.days.push_back({19'700 + d, reputation::Counters{.accepted = i % 50, .rejected = d}});
  }
  return record;
}

std::size_t ip_count() {
  const char* text = std::getenv("MXGATE_BENCH_IPS");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : kDefaultIps;
}

address_v4 present_ip(std::size_t i) {
  return address_v4(static_cast<std::uint32_t>(kFirstAddress + kStride * i));
}

// Writes IPs and their /24 networks (both in ascending key order) and ingests them.
void fill(ReputationStore& store, const std::filesystem::path& dir, std::size_t count) {
  auto ips = store.make_sst_builder(Family::Ip, dir / "fill-ip.sst").value();
  auto networks = store.make_sst_builder(Family::Network, dir / "fill-net.sst").value();
  std::string last_network;
  for (std::size_t i = 0; i < count; ++i) {
    const auto address = present_ip(i);
    if ((*ips).add(ip_key(address), sample_record(static_cast<std::uint32_t>(i)))) std::abort();
    std::string network = network_key(address, kDefaultV4NetworkPrefix);
    if (network != last_network) {
      if (networks->add(network, sample_record(static_cast<std::uint32_t>(i)))) std::abort();
      last_network = std::move(network);
    }
  }
  if (ips->finish() || networks->finish()) std::abort();
  if (store.ingest_sst(Family::Ip, {ips->path()}) ||
      store.ingest_sst(Family::Network, {networks->path()})) {
    std::abort();
  }
}

struct BenchStore {
  std::filesystem::path dir;
  std::unique_ptr<ReputationStore> store;
  std::size_t count = 0;
  std::vector<boost::asio::ip::address> lookups;  // the request mix, warmed

  bool record_cache = true;

  BenchStore() {
    std::random_device random_device;
    dir = std::filesystem::temp_directory_path() /
          ("mxgate-storage-bench-" + std::to_string(random_device()));
    store = ReputationStore::open(dir, options());
    count = ip_count();
    fill(*store, dir, count);
    std::mt19937_64 random(42);
    const std::size_t working = std::min(kWorkingSet, count);
    for (std::size_t i = 0; i < 2 * working; ++i) {
      const std::size_t n = random() % count;
      const auto present = present_ip(n);
      lookups.emplace_back(i % 2 == 0 ? present : address_v4(present.to_uint() + 1));
    }
    warm();
  }
  StoreOptions options() const {
    StoreOptions o;
    o.record_cache_bytes = record_cache ? kBlockCache / 4 : 0;
    o.block_cache_bytes = kBlockCache - o.record_cache_bytes;
    return o;
  }
  void warm() {
    for (const auto& address : lookups) store->get_connect(address);
  }
  void use_record_cache(bool on) {
    if (on == record_cache) return;
    record_cache = on;
    store.reset();
    store = ReputationStore::open(dir, options());
    warm();
  }
  ~BenchStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

BenchStore& bench_store() {
  static BenchStore instance;
  return instance;
}

double percentile(std::vector<double>& sorted_values, double p) {
  if (sorted_values.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted_values.size() - 1));
  return sorted_values[index];
}

void BM_TryGetConnect(benchmark::State& state) {
  BenchStore& bench = bench_store();
  bench.use_record_cache(state.range(0) != 0);
  std::vector<double> micros;
  micros.reserve(1 << 20);
  std::size_t i = 0;
  std::size_t not_cached = 0;
  for (auto _ : state) {
    const auto& address = bench.lookups[i++ % bench.lookups.size()];
    const auto start = std::chrono::steady_clock::now();
    ConnectLookup result = bench.store->try_get_connect(address);
    const auto stop = std::chrono::steady_clock::now();
    micros.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
    not_cached += result.complete() ? 0 : 1;
    benchmark::DoNotOptimize(result);
  }
  std::sort(micros.begin(), micros.end());
  state.counters["ips"] = static_cast<double>(bench.count);
  state.counters["p50_us"] = percentile(micros, 0.50);
  state.counters["p99_us"] = percentile(micros, 0.99);
  state.counters["p999_us"] = percentile(micros, 0.999);
  state.counters["not_cached"] = static_cast<double>(not_cached) / static_cast<double>(i);
  state.counters["lookups/s"] =
      benchmark::Counter(static_cast<double>(i), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TryGetConnect)->Arg(0)->Arg(1)->UseRealTime();

void BM_TryGetIp(benchmark::State& state) {
  BenchStore& bench = bench_store();
  bench.use_record_cache(state.range(0) != 0);
  std::size_t i = 0;
  reputation::Record record;
  for (auto _ : state) {
    const std::string key = ip_key(bench.lookups[i++ % bench.lookups.size()]);
    benchmark::DoNotOptimize(bench.store->try_get(Family::Ip, key, record));
  }
  state.counters["lookups/s"] =
      benchmark::Counter(static_cast<double>(i), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TryGetIp)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace mxgate::storage
