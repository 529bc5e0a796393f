// Micro-benchmark of DMARC aggregate reports (issue 22), one thread:
//   DmarcRecord/known    DmarcRecorder::record() of a row the period already has (the common
//                        case: a sender's mail repeats): encode, hash, one queued merge
//   DmarcRecord/new      the same for a new row each time (a new source IP)
//   StoreAdd             the reference in the same run: ReputationStore::add(), the counter
//                        update every session already queues for its IP
//   DmarcReport/N        a domain's report of N rows: XML (render_xml) and gzip, per report
//   DmarcReportSign/K    DKIM-signing the message of the 10,000-row report (render_message),
//                        K: 0 RSA-2048, 1 Ed25519 (auth/dkim_sign.hpp); DmarcReport/10000 is
//                        the reference
// The store is flushed every 4096 operations, as the server's maintenance does about once a
// second. benchmarks/README.md "DMARC aggregate reports" has figures.
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "auth/dkim_sign.hpp"

#include "auth/dmarc_report.hpp"
#include "common/gzip.hpp"
#include "policy/dmarc_recorder.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::policy {
namespace {

namespace dr = auth::dmarc_report;

constexpr std::int64_t kNow = 1'796'600'000;
constexpr int kFlushEvery = 4096;

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("mxgate-dmarc-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    store = storage::ReputationStore::open(dir, {});
    recorder = std::make_unique<DmarcRecorder>(*store, registry);
    conf::DmarcReportsConfig config;
    config.enabled = true;
    config.max_rows = config.max_rows_per_domain = 10'000'000;
    recorder->configure(config);
    published.domain = "example.com";
    published.record.p = auth::dmarc::Policy::Reject;
    published.record.rua = {"mailto:dmarc@example.com"};
  }
  ~Fixture() {
    recorder.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  prometheus::Registry registry;
  std::unique_ptr<storage::ReputationStore> store;
  std::unique_ptr<DmarcRecorder> recorder;
  dr::Published published;
};

dr::Row row(std::uint32_t n) {
  dr::Row r;
  r.source_ip = "10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) +
                "." + std::to_string(n & 255);
  r.dkim_aligned = r.spf_aligned = true;
  r.header_from = r.envelope_from = "example.com";
  r.dkim = {{"example.com", "selector1", "pass"}};
  r.spf = {"example.com", "mfrom", "pass"};
  return r;
}

void BM_DmarcRecord(benchmark::State& state) {
  Fixture f;
  const bool fresh = state.range(0) != 0;
  const dr::Row same = row(1);
  std::uint32_t n = 0;
  for (auto _ : state) {
    ++n;
    f.recorder->record(f.published, fresh ? row(n) : same, kNow);
    if (n % kFlushEvery == 0) f.store->flush();
  }
  state.SetLabel(fresh ? "new" : "known");
}
BENCHMARK(BM_DmarcRecord)->Arg(0)->Arg(1);

void BM_StoreAdd(benchmark::State& state) {
  Fixture f;
  const std::string key = "ip:10.0.0.1";
  std::uint32_t n = 0;
  for (auto _ : state) {
    f.store->add(storage::Family::Ip, key, 20'000, reputation::Counters{.accepted = 1}, kNow);
    if (++n % kFlushEvery == 0) f.store->flush();
  }
}
BENCHMARK(BM_StoreAdd);

void BM_DmarcReport(benchmark::State& state) {
  dr::Published published;
  published.domain = "example.com";
  published.record.rua = {"mailto:dmarc@example.com"};
  std::vector<dr::CountedRow> rows;
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(state.range(0)); ++i) {
    rows.push_back({row(i), i + 1});
  }
  dr::Metadata metadata{"mx.example.net", "noreply-dmarc@mx.example.net", "", "example.com.1",
                        kNow, kNow + 86'399, {}};
  std::size_t xml = 0, gz = 0;
  for (auto _ : state) {
    const std::string document = dr::render_xml(metadata, published, rows);
    const std::string packed = common::gzip(document);
    xml = document.size();
    gz = packed.size();
    benchmark::DoNotOptimize(packed.data());
  }
  state.counters["xml_bytes"] = static_cast<double>(xml);
  state.counters["gzip_bytes"] = static_cast<double>(gz);
}
BENCHMARK(BM_DmarcReport)->Arg(100)->Arg(10'000)->Unit(benchmark::kMillisecond);

// A signer with a key made now (RSA-2048 or Ed25519), through a PEM file as the server loads it.
std::shared_ptr<const auth::DkimSigner> make_signer(bool ed25519) {
  auth::DkimSigner::PrivateKey key(
      ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
              : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  const auto path = std::filesystem::temp_directory_path() /
                    ("mxgate-dkim-bench-" + std::to_string(::getpid()) + ".pem");
  std::FILE* file = std::fopen(path.c_str(), "w");
  PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
  auto signer = auth::DkimSigner::load("mx.example.net", "reports", path, "bench");
  std::filesystem::remove(path);
  return signer;
}

void BM_DmarcReportSign(benchmark::State& state) {
  dr::Published published;
  published.domain = "example.com";
  std::vector<dr::CountedRow> rows;
  for (std::uint32_t i = 0; i < 10'000; ++i) rows.push_back({row(i), i + 1});
  dr::Metadata metadata{"mx.example.net", "noreply-dmarc@mx.example.net", "", "example.com.1",
                        kNow, kNow + 86'399, {}};
  const dr::Envelope envelope{"mx.example.net", "noreply-dmarc@mx.example.net",
                              {"dmarc@example.com"}, std::chrono::system_clock::now()};
  const std::string message =
      dr::render_message(envelope, metadata, published.domain,
                         common::gzip(dr::render_xml(metadata, published, rows)));
  const auto signer = make_signer(state.range(0) == 1);
  for (auto _ : state) {
    const std::string field = signer->sign(message, kNow);
    benchmark::DoNotOptimize(field.data());
  }
  state.counters["message_bytes"] = static_cast<double>(message.size());
}
BENCHMARK(BM_DmarcReportSign)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mxgate::policy
