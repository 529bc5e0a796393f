// libFuzzer target of what the log reads back (issue 20): any line given to line_to_json()
// (common/log_json.hpp), and any client value escaped into a line, give one line of JSON (no
// raw control byte, an object); a message's content gives a Message-ID of bounded size
// (content/message_id.hpp), the same for any split of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.hpp"
#include "common/log_json.hpp"
#include "content/message_id.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_json_line(const std::string& json) {
  check(json.size() >= 2 && json.front() == '{' && json.back() == '}');
  for (const char c : json) check(static_cast<unsigned char>(c) >= 0x20);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_json_line(mxgate::common::line_to_json("t", "info", input));
  std::string line = "event";
  mxgate::common::append_kv(line, "value", input);
  check_json_line(mxgate::common::line_to_json("t", "info", line));

  mxgate::content::MessageIdReader whole, split;
  whole.feed(input);
  split.feed(input.substr(0, size / 2));
  split.feed(input.substr(size / 2));
  check(whole.id() == split.id());
  check(whole.id().size() <= mxgate::content::kMaxMessageId);
  return 0;
}
