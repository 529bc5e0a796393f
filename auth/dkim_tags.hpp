// DKIM tag lists (RFC 6376 §3.2) and the base64 they carry (§2.4, RFC 4648 §4). A tag list is
// "name=value; name=value[;]", used by the DKIM-Signature field (§3.5), the key record
// (§3.6.1) and, with the same grammar, DMARC records (RFC 7489 §6.3). Names are case-sensitive
// (§3.2); folding white space (SP, HTAB, CR, LF) around names, "=" and values is dropped, white
// space inside a value is kept as sent. Lenient where it is harmless: empty specs (";;", a
// trailing "; ") are skipped and octets >= 0x80 are accepted in values. Strict where it matters:
// a spec without "=", a bad tag name, a control character or a repeated tag makes the whole
// list invalid (§3.2: "the entire tag-list is invalid").
// Pure: no I/O, never throws on network data; thread-safe (no state).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::auth {

struct Tag {
  std::string name;
  std::string value;  // FWS around it removed, inner white space kept
};

struct TagList {
  std::vector<Tag> tags;  // in the order written

  // The value of `name` (case-sensitive), or nullptr when the tag is absent.
  const std::string* find(std::string_view name) const;
};

struct TagListResult {
  std::optional<TagList> list;  // set on success
  std::string error;            // otherwise why, e.g. "tag \"d\" appears twice"
};

TagListResult parse_tag_list(std::string_view text);

// True for the folding white space of tag lists: SP, HTAB, CR, LF.
constexpr bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// `text` without any FWS octet ("b=", "bh=" and "p=" values may be folded anywhere, §3.5).
std::string remove_fws(std::string_view text);

// Decodes base64 (RFC 4648 §4) ignoring FWS anywhere. "=" padding is optional but may appear
// only at the end; any other octet outside the alphabet, or a length no encoding can have,
// gives nullopt.
std::optional<std::string> decode_base64(std::string_view text);
// Encodes base64 (RFC 4648 §4) with "=" padding, on one line.
std::string encode_base64(std::string_view octets);

// The colon-separated items of `value` (h=, q=, t= and s= lists), each with FWS trimmed.
// "a : b:c" gives {"a", "b", "c"}; an empty value gives one empty item.
std::vector<std::string> split_colon_list(std::string_view value);

// ASCII lower case and case-insensitive equality: DKIM compares header field names, algorithm
// names and domains without regard to case.
std::string tag_lower(std::string_view text);
bool tag_iequals(std::string_view a, std::string_view b);

}  // namespace mxgate::auth
