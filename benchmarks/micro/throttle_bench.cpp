// Micro-benchmark of throttling (issue 6): decisions per second against a Throttle whose state
// table holds a million active keys, on one thread and on two (the two workers of this
// machine), every thread picking keys at random so that the stripes' locks are shared:
//   ConnectDecision   Throttle::connect(): the IP and network connection limits (two GCRA
//                     checks and two charges)
//   MailDecision      Throttle::mail(): hygiene, the IP and network ramps, the anomaly rule,
//                     and three message limits (IP, network, IP + sender domain)
//   TableUpdate       one StateTable::update() (the primitive every rule uses)
// Rates are far above the load: every decision admits and charges, none is refused.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "throttle/throttle.hpp"

namespace mxgate::throttle {
namespace {

constexpr std::size_t kKeys = 1'000'000;
constexpr std::int64_t kNow = 20'421LL * 86'400 * 1'000'000;

conf::ThrottleConfig bench_config() {
  conf::ThrottleConfig config;
  for (auto& limit : config.limits) limit.rate = limit.burst = 100'000'000;
  config.ramp_floor = 100'000'000;
  config.max_keys = 8 * kKeys;
  return config;
}

std::string ip_key(std::size_t i) { return "ip" + std::to_string(i); }
std::string network_key(std::size_t i) { return "net" + std::to_string(i / 256); }

// One Throttle for all threads and runs, filled once with a million IPs (and their networks).
Throttle& shared_throttle() {
  static Throttle* throttle = [] {
    auto* t = new Throttle(bench_config());
    for (std::size_t i = 0; i < kKeys; ++i) {
      Subject s;
      s.ip = ip_key(i);
      s.network = network_key(i);
      t->connect(s, kNow);
    }
    return t;
  }();
  return *throttle;
}

std::vector<Subject> subjects(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 random(seed);
  std::vector<Subject> out(count);
  for (auto& s : out) {
    const std::size_t i = random() % kKeys;
    s.ip = ip_key(i);
    s.network = network_key(i);
    s.sender_domain = "sender" + std::to_string(i % 1000) + ".example";
    s.ip_history.first_seen = 1;  // established: the anomaly rule runs
  }
  return out;
}

void BM_ConnectDecision(benchmark::State& state) {
  auto& throttle = shared_throttle();
  const auto picks = subjects(state.thread_index() + 1, 4096);
  std::size_t n = 0;
  for (auto _ : state) {
    auto decision = throttle.connect(picks[n++ % picks.size()], kNow);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) state.counters["keys"] = throttle.table().size();
}
BENCHMARK(BM_ConnectDecision)->Threads(1)->Threads(2)->UseRealTime();

void BM_MailDecision(benchmark::State& state) {
  auto& throttle = shared_throttle();
  const auto picks = subjects(state.thread_index() + 100, 4096);
  std::size_t n = 0;
  for (auto _ : state) {
    auto decision = throttle.mail(picks[n++ % picks.size()], kNow);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) state.counters["keys"] = throttle.table().size();
}
BENCHMARK(BM_MailDecision)->Threads(1)->Threads(2)->UseRealTime();

void BM_TableUpdate(benchmark::State& state) {
  auto& table = shared_throttle().table();
  std::vector<std::string> keys;
  std::mt19937_64 random(state.thread_index() + 7);
  for (int i = 0; i < 4096; ++i) keys.push_back("L|ip-connections|" + ip_key(random() % kKeys));
  std::size_t n = 0;
  for (auto _ : state) {
    const auto r = table.update(keys[n++ % keys.size()], kNow, [](Value& v, bool) {
      ++v.b;
      return std::pair{kNow + 3'600'000'000LL, v.b};
    });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TableUpdate)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace mxgate::throttle
