#include "auth/dkim_tags.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <set>

namespace mxgate::auth {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim_fws(std::string_view text) {
  while (!text.empty() && is_fws(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_fws(text.back())) text.remove_suffix(1);
  return text;
}

// tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_" (§3.2)
bool valid_tag_name(std::string_view name) {
  if (name.empty() || !is_alpha(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

// VALCHAR = %x21-3A / %x3C-7E, with FWS between runs (§3.2); 8-bit octets tolerated.
bool valid_tag_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto octet = static_cast<unsigned char>(c);
    return is_fws(c) || (octet > 0x20 && octet != 0x7f);
  });
}

// The 6-bit value of a base64 character, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

const std::string* TagList::find(std::string_view name) const {
  for (const Tag& tag : tags) {
    if (tag.name == name) return &tag.value;
  }
  return nullptr;
}

TagListResult parse_tag_list(std::string_view text) {
  TagListResult result;
  TagList list;
  std::set<std::string_view> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view spec = trim_fws(text.substr(start, end - start));
    start = end + 1;
    if (spec.empty()) continue;
    const auto equals = spec.find('=');
    if (equals == std::string_view::npos) {
      result.error = "tag without \"=\"";
      return result;
    }
    const std::string_view name = trim_fws(spec.substr(0, equals));
    const std::string_view value = trim_fws(spec.substr(equals + 1));
    if (!valid_tag_name(name)) {
      result.error = "malformed tag name";
      return result;
    }
    if (!valid_tag_value(value)) {
      result.error = fmt::format("control character in tag \"{}\"", name);
      return result;
    }
    if (!seen.insert(name).second) {
      result.error = fmt::format("tag \"{}\" appears twice", name);
      return result;
    }
    list.tags.push_back(Tag{std::string(name), std::string(value)});
  }
  result.list = std::move(list);
  return result;
}

std::string remove_fws(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (!is_fws(c)) out.push_back(c);
  }
  return out;
}

std::string encode_base64(std::string_view octets) {
  std::string out(4 * ((octets.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(octets.data()),
                                static_cast<int>(octets.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int pending = 0;       // 6-bit groups in `bits`
  std::size_t data = 0;  // significant characters
  std::size_t padding = 0;
  for (char c : text) {
    if (is_fws(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = base64_value(c);
    if (value < 0 || padding > 0) return std::nullopt;  // data after padding too
    ++data;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++pending == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      pending = 0;
    }
  }
  // A final group of 1 character cannot encode an octet; padding must fill the group.
  if (pending == 1 || padding > 2) return std::nullopt;
  if (padding > 0 && (data + padding) % 4 != 0) return std::nullopt;
  if (pending == 2) {
    out.push_back(static_cast<char>((bits >> 4) & 0xff));
  } else if (pending == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xff));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

std::vector<std::string> split_colon_list(std::string_view value) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const auto end = value.find(':', start);
    items.emplace_back(trim_fws(value.substr(start, end - start)));
    if (end == std::string_view::npos) return items;
    start = end + 1;
  }
}

std::string tag_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool tag_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace mxgate::auth
