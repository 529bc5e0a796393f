// Micro-benchmarks of the pure SMTP library: command parsing, command-line framing, DATA
// decoding and dot-stuffing. Run: smtp_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <string_view>

#include "smtp/command.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"

namespace mxgate::smtp {
namespace {

constexpr std::size_t kMessageSize = 100 * 1024;

constexpr std::array<std::string_view, 6> kCommands = {
    "EHLO mail-ed1-f41.google.com",
    "MAIL FROM:<bounces+12345-abcd=example.net@mailer.example.com> SIZE=48213 BODY=8BITMIME",
    "RCPT TO:<first.last@example.net>",
    "RCPT TO:<\"john doe\"@[IPv6:2001:db8::1]>",
    "DATA",
    "QUIT",
};

// A 100 KiB message on the wire: 76-octet lines, every tenth one starting with a stuffed dot.
std::string wire_message() {
  std::string wire = "Subject: benchmark\r\n\r\n";
  for (std::size_t i = 0; wire.size() < kMessageSize; ++i) {
    if (i % 10 == 0) wire += "..";
    wire += std::string(74, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  return wire + ".\r\n";
}

void BM_ParseCommand(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    ParseResult r = parse_command(kCommands[i++ % kCommands.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCommand);

void BM_LineFramer(benchmark::State& state) {
  std::string input;
  std::size_t lines = 0;
  while (input.size() < 64 * 1024) {
    input += std::string(kCommands[lines++ % kCommands.size()]) + "\r\n";
  }
  for (auto _ : state) {
    LineFramer framer(LineEndings::Reject);
    std::string_view rest = input;
    while (true) {
      const FrameResult r = framer.next(rest);
      rest.remove_prefix(r.consumed);
      if (r.event == FrameEvent::NeedMore) break;
      benchmark::DoNotOptimize(r.line);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(lines));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(input.size()));
}
BENCHMARK(BM_LineFramer);

// Arg: read size (0 = the whole message in one feed).
void BM_DataDecoder(benchmark::State& state) {
  const std::string wire = wire_message();
  const auto read_size = static_cast<std::size_t>(state.range(0));
  const auto policy = state.range(1) == 0 ? LineEndings::Reject : LineEndings::Normalize;
  std::string out;
  out.reserve(wire.size());
  for (auto _ : state) {
    out.clear();
    DataDecoder decoder(DataDecoder::Mode::Dot, 10 << 20, policy);
    std::string_view rest = wire;
    while (!rest.empty()) {
      const std::size_t n = read_size == 0 ? rest.size() : std::min(read_size, rest.size());
      const DataDecoder::Result r = decoder.feed(rest.substr(0, n), out);
      rest.remove_prefix(r.consumed);
      if (r.done) break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DataDecoder)
    ->ArgNames({"read", "normalize"})
    ->Args({0, 0})
    ->Args({16384, 0})
    ->Args({1460, 0})
    ->Args({0, 1});

void BM_DotStuffer(benchmark::State& state) {
  DataDecoder decoder(DataDecoder::Mode::Dot, 10 << 20, LineEndings::Reject);
  std::string content;
  decoder.feed(wire_message(), content);
  std::string out;
  out.reserve(content.size() * 2);
  for (auto _ : state) {
    out.clear();
    DotStuffer stuffer;
    stuffer.feed(content, out);
    stuffer.end(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(content.size()));
}
BENCHMARK(BM_DotStuffer);

}  // namespace
}  // namespace mxgate::smtp
