// libFuzzer target of the milter codec's reading side (milter/protocol.hpp): the bytes a filter
// sends. The first byte chooses where the stream is cut in two; the packets must be the same as
// when it is fed whole, every packet is read as a negotiation and as a response, and what is
// read keeps its invariants (a reply code is 4xx or 5xx, a macro stage exists).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>
#include <vector>

#include "milter/protocol.hpp"

namespace {

namespace milter = mxgate::milter;

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<milter::Packet> packets(std::string_view first, std::string_view second) {
  milter::PacketReader reader(4096);
  std::vector<milter::Packet> out;
  for (const auto piece : {first, second}) {
    reader.feed(piece);
    while (auto packet = reader.next()) out.push_back(std::move(*packet));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = data[0] % (input.size() + 1);
  const auto split = packets(input.substr(0, cut), input.substr(cut));
  check(split == packets(input, {}));
  for (const auto& packet : split) {
    if (auto negotiation = milter::parse_negotiation(packet)) {
      check(packet.data.size() >= 12);
    }
    const auto response = milter::parse_response(packet);
    if (!response) continue;
    if (const auto* reply = std::get_if<milter::ReplyCode>(&*response)) {
      check(reply->code >= 400 && reply->code <= 599 && !reply->lines.empty());
    }
    (void)milter::ends_step(*response);
  }
  return 0;
}
