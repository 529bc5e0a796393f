// libFuzzer target of the content parser (content/message_parser.hpp). The input's first four
// bytes choose the options (byte 0: SMTPUTF8, small limits) and the sizes of the pieces the rest
// is fed in (bytes 1-3, cycled); the rest is the message. The same message fed whole must give
// the same result (the parser's contract); every accessor is read after finish().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "content/message_parser.hpp"

namespace {

using mxgate::content::MessageParser;

std::string summary(const MessageParser& p) {
  std::string out;
  for (const auto& f : p.findings()) {
    out += std::string(mxgate::content::finding_name(f.finding)) + " " + f.detail + "\n";
  }
  for (const auto& d : p.linked_domains()) out += d.domain + (d.ip ? " ip " : " ") + d.url + "\n";
  const auto& b = p.bulk();
  out += std::to_string(b.list_id) + std::to_string(b.list_unsubscribe) +
         std::to_string(b.precedence_bulk) + std::to_string(b.https_unsubscribe) +
         std::to_string(b.one_click) + std::to_string(b.bulk_by_header()) + "\n";
  for (const auto& f : p.header()) out += f.name + ":" + f.value + "\n";
  out += std::to_string(p.linked_domains_dropped()) + " " + std::to_string(p.parts()) + " " +
         std::to_string(p.decoded_bytes()) + " " + std::to_string(p.header_done()) + "\n";
  return out;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  mxgate::content::ParseOptions options;
  options.smtputf8 = (data[0] & 1) != 0;
  if ((data[0] & 2) != 0) {
    options.limits = {.max_depth = 3,
                      .max_parts = 5,
                      .max_header_fields = 8,
                      .max_header_bytes = 300,
                      .max_line_length = 200,  // raised to the parser's minimum
                      .max_decoded_bytes = 2000,
                      .max_uri_domains = 3};
  }
  const std::size_t sizes[3] = {data[1] + 1u, data[2] + 1u, data[3] + 1u};
  const std::string_view message(reinterpret_cast<const char*>(data) + 4, size - 4);

  MessageParser pieces(options);
  std::size_t at = 0;
  for (std::size_t i = 0; at < message.size(); ++i) {
    const std::size_t n = sizes[i % 3];
    pieces.feed(message.substr(at, n));
    at += n;
  }
  pieces.finish();
  pieces.finish();  // a second finish changes nothing
  MessageParser whole(options);
  whole.feed(message);
  whole.finish();
  check(summary(pieces) == summary(whole));

  check(pieces.linked_domains().size() <= options.limits.max_uri_domains);
  check(pieces.parts() >= 1 && pieces.parts() <= options.limits.max_parts);
  check(pieces.decoded_bytes() <= options.limits.max_decoded_bytes);
  check(pieces.findings().size() <= mxgate::content::kFindingCount);
  (void)mxgate::content::decode_header_value(message.substr(0, 512));
  for (const auto& f : pieces.header()) {
    (void)mxgate::content::decode_header_value(f.value);
    check(pieces.field(f.name) != nullptr && pieces.field_count(f.name) >= 1);
  }
  for (const auto& d : pieces.linked_domains()) {
    if (!d.ip) check(mxgate::content::registrable_domain(d.domain) == d.domain);
  }
  return 0;
}
