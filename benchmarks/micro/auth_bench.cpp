// Micro-benchmark of email authentication (issue 5), one thread:
//   DkimVerify/rsa2048, DkimVerify/ed25519   a whole message's signature checked from its bytes
//       and its key record's text (parse the signature and the key, canonicalize and hash the
//       body and the header, verify): the python3-dkim vectors of tests/auth/dkim_vectors.hpp
//   DkimVerifyParsedKey/rsa2048, /ed25519   the same with the key parsed once, as a key cache
//       would hold it (OpenSSL 3's d2i_PUBKEY costs far more than an RSA verification)
//   GatewayMessage/rsa2048, /ed25519   what the gateway does per message: the content through
//       a MessageScanner (header held, body hashed as it streams), then verify_signatures_now()
//       with the key record in the DNS cache and its parsed key in the DkimKeyCache
//   DkimBodyHash/relaxed, /simple   a 100 KiB HTML body canonicalized and hashed in 64 KiB
//       chunks (bytes/s)
//   SpfWarm   check_mail_from() answered from a warm DNS cache (CachingResolver over the
//       scripted resolver): a record with ip4, include (ip4, a) and mx, the client matching the
//       included a: 4 DNS-querying terms, 6 lookups
// benchmarks/micro/auth_speed.sh runs it next to `openssl speed` verify for the same key types
// and prints the ratios.
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "auth/dkim_canon.hpp"
#include "auth/dkim_key.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/message_auth.hpp"
#include "auth/spf.hpp"
#include "common/clock.hpp"
#include "dns/caching_resolver.hpp"
#include "tests/auth/dkim_vectors.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth {
namespace {

namespace asio = boost::asio;

void BM_DkimVerify(benchmark::State& state, std::string_view signature, std::string_view record) {
  const std::string message = std::string(signature) + std::string(vectors::kUnsignedMessage);
  const DkimMessage split = split_message(message);
  for (auto _ : state) {
    const DkimVerdict verdict = verify_dkim_message(split, 0, record);
    if (verdict.status != DkimStatus::Pass) state.SkipWithError("the vector did not verify");
    benchmark::DoNotOptimize(verdict);
  }
  state.SetItemsProcessed(state.iterations());
}
// HTML lines of words, attributes and indentation, as a newsletter's.
std::string html_body(std::size_t size) {
  std::string body;
  for (std::size_t n = 0; body.size() < size; ++n) {
    body += "    <td class=\"item\" style=\"padding: 4px 8px\"><a href=\"https://shop.example/p/";
    body += std::to_string(n);
    body += "\">Product number " + std::to_string(n) + " is on sale \t today</a></td>  \r\n";
  }
  return body;
}

void BM_DkimBodyHash(benchmark::State& state, DkimCanon canon) {
  const std::string body = html_body(100 * 1024);
  for (auto _ : state) {
    DkimBodyHasher hasher(DkimBodyHashKey{canon, std::nullopt});
    for (std::size_t at = 0; at < body.size(); at += 65536) {
      hasher.update(std::string_view(body).substr(at, 65536));
    }
    benchmark::DoNotOptimize(hasher.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK_CAPTURE(BM_DkimBodyHash, relaxed, DkimCanon::Relaxed);
BENCHMARK_CAPTURE(BM_DkimBodyHash, simple, DkimCanon::Simple);

BENCHMARK_CAPTURE(BM_DkimVerify, rsa2048, vectors::kRsa2048RelaxedSignature, vectors::kRsaRecord);
BENCHMARK_CAPTURE(BM_DkimVerify, ed25519, vectors::kEdRelaxedSignature, vectors::kEdRecord);

void BM_DkimVerifyParsedKey(benchmark::State& state, std::string_view signature,
                            std::string_view record) {
  const std::string message = std::string(signature) + std::string(vectors::kUnsignedMessage);
  const DkimMessage split = split_message(message);
  const auto key = parse_dkim_key(record);
  const std::string_view field = split.fields[0];
  const auto parsed = parse_dkim_signature(field.substr(field.find(':') + 1));
  if (!key.key || !parsed.signature) {
    state.SkipWithError("the vector did not parse");
    return;
  }
  for (auto _ : state) {
    const DkimBodyDigest digest = dkim_body_digest(body_hash_key(*parsed.signature), split.body);
    const DkimVerdict verdict = verify_dkim(split.fields, 0, *parsed.signature, *key.key, digest);
    if (verdict.status != DkimStatus::Pass) state.SkipWithError("the vector did not verify");
    benchmark::DoNotOptimize(verdict);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_DkimVerifyParsedKey, rsa2048, vectors::kRsa2048RelaxedSignature,
                  vectors::kRsaRecord);
BENCHMARK_CAPTURE(BM_DkimVerifyParsedKey, ed25519, vectors::kEdRelaxedSignature,
                  vectors::kEdRecord);

dns::Response txt(const char* name, std::string_view text) {
  dns::Response r = dns::make_response(dns::Outcome::Answer);
  r.ttl = 3600;
  r.records.push_back(
      dns::Record{name, dns::RecordType::TXT, 3600, dns::TxtData{{std::string(text)}}});
  return r;
}

void BM_GatewayMessage(benchmark::State& state, std::string_view signature,
                       const char* key_name, std::string_view record) {
  const std::string message = std::string(signature) + std::string(vectors::kUnsignedMessage);
  asio::io_context io;
  dns::testing::FakeResolver upstream(io.get_executor());
  upstream.set(key_name, dns::RecordType::TXT, txt(key_name, record));
  common::SteadyClock clock;
  dns::CachingResolver cache(upstream, clock, dns::CacheSettings{});
  DkimKeyCache keys;
  auto warm = [&]() -> asio::awaitable<void> { (void)co_await cache.txt(key_name); };
  asio::co_spawn(io, warm(), asio::detached);
  io.run();
  std::string passed_on;
  for (auto _ : state) {
    MessageScanner scanner("mx.example.net");
    passed_on.clear();
    scanner.feed(message, passed_on);
    scanner.finish(passed_on);
    const auto checks = scanner.verify_signatures_now(cache, keys, {});
    if (!checks || checks->size() != 1 || (*checks)[0].verdict.status != DkimStatus::Pass) {
      state.SkipWithError("the vector did not verify from the cache");
    }
    benchmark::DoNotOptimize(checks);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_GatewayMessage, rsa2048, vectors::kRsa2048RelaxedSignature,
                  "rsa2048._domainkey.example.org", vectors::kRsaRecord);
BENCHMARK_CAPTURE(BM_GatewayMessage, ed25519, vectors::kEdRelaxedSignature,
                  "ed._domainkey.example.org", vectors::kEdRecord);

void BM_SpfWarm(benchmark::State& state) {
  asio::io_context io;
  dns::testing::FakeResolver upstream(io.get_executor());
  upstream.set("example.org", dns::RecordType::TXT,
               txt("example.org", "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net mx -all"));
  upstream.set("_spf.example.net", dns::RecordType::TXT,
               txt("_spf.example.net", "v=spf1 ip4:198.51.100.0/24 a:out.example.net ~all"));
  upstream.set("out.example.net", dns::RecordType::A, dns::testing::a_answer(3600, {"203.0.113.7"}));
  common::SteadyClock clock;
  dns::CachingResolver cache(upstream, clock, dns::CacheSettings{});
  const spf::Identity identity{*common::parse_ip("203.0.113.7"), "out.example.net",
                               "news@example.org"};
  const spf::Options options;  // named: GCC 12 miscompiles a braced temporary in co_await
  spf::Evaluation last;
  auto evaluate = [&]() -> asio::awaitable<void> {
    last = co_await spf::check_mail_from(cache, identity, options);
  };
  asio::co_spawn(io, evaluate(), asio::detached);  // warms the cache
  io.run();
  const int asked = upstream.calls();
  for (auto _ : state) {
    asio::co_spawn(io, evaluate(), asio::detached);
    io.restart();
    io.run();
  }
  if (last.result != spf::Result::Pass) state.SkipWithError("expected pass");
  if (upstream.calls() != asked) state.SkipWithError("a lookup missed the cache");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpfWarm);

}  // namespace
}  // namespace mxgate::auth
