// libFuzzer target of DKIM tag lists and the base64 they carry (auth/dkim_tags.hpp; RFC 6376
// §3.2, §2.4; RFC 4648 §4). The input is a tag list as found in a DKIM-Signature field, a key
// record or a DMARC record. Checked: a parsed list has valid, distinct names and values without
// surrounding white space, and written again as "name=value;" it parses to the same list;
// remove_fws() and tag_lower() are idempotent; colon lists hold no colon and no edge white
// space; any bytes, base64-encoded, decode to themselves, and what decodes, encoded again,
// decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim_tags.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
using mxgate::fuzz::check;

std::string encode_base64(std::string_view octets) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < octets.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint8_t>(octets[i]) << 16;
    if (i + 1 < octets.size()) group |= static_cast<std::uint8_t>(octets[i + 1]) << 8;
    if (i + 2 < octets.size()) group |= static_cast<std::uint8_t>(octets[i + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += i + 1 < octets.size() ? kAlphabet[(group >> 6) & 63] : '=';
    out += i + 2 < octets.size() ? kAlphabet[group & 63] : '=';
  }
  return out;
}

bool edge_fws(std::string_view s) {
  return !s.empty() && (auth::is_fws(s.front()) || auth::is_fws(s.back()));
}

void check_list(const auth::TagList& list) {
  std::string again;
  for (const auto& tag : list.tags) {
    check(!tag.name.empty() && !edge_fws(tag.value) && !edge_fws(tag.name));
    check(tag.value.find(';') == std::string::npos);
    check(list.find(tag.name) == &tag.value);  // names are distinct: find() gets this one
    again += tag.name + "=" + tag.value + ";";
    for (const auto& item : auth::split_colon_list(tag.value)) {
      check(item.find(':') == std::string::npos && !edge_fws(item));
    }
  }
  const auto reparsed = auth::parse_tag_list(again);
  check(reparsed.list.has_value() && reparsed.list->tags.size() == list.tags.size());
  for (std::size_t i = 0; i < list.tags.size(); ++i) {
    check(reparsed.list->tags[i].name == list.tags[i].name);
    check(reparsed.list->tags[i].value == list.tags[i].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = mxgate::fuzz::text(data, size);
  const auth::TagListResult parsed = auth::parse_tag_list(input);
  check(parsed.list.has_value() == parsed.error.empty());
  if (parsed.list) check_list(*parsed.list);

  const std::string compact = auth::remove_fws(input);
  check(auth::remove_fws(compact) == compact);
  const std::string lower = auth::tag_lower(input);
  check(auth::tag_lower(lower) == lower && auth::tag_iequals(input, lower));

  check(auth::decode_base64(encode_base64(input)) == std::string(input));
  if (const auto decoded = auth::decode_base64(input)) {
    check(decoded->size() <= input.size());
    check(auth::decode_base64(encode_base64(*decoded)) == decoded);
  }
  return 0;
}
