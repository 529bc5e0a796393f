#include "reputation/dnsbl.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace mxgate::reputation {
namespace {

std::string_view trim_dot(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  return text;
}

std::optional<int> number(std::string_view text) {
  int value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > 255) {
    return std::nullopt;
  }
  return value;
}

// One octet pattern into `allowed`: "7", "[2..11]", "[2;4;10..12]".
bool parse_octet(std::string_view text, std::array<bool, 256>& allowed) {
  if (text.empty()) return false;
  if (text.front() != '[') {
    auto value = number(text);
    if (!value) return false;
    allowed[static_cast<std::size_t>(*value)] = true;
    return true;
  }
  if (text.size() < 3 || text.back() != ']') return false;
  text = text.substr(1, text.size() - 2);
  for (;;) {
    const auto semicolon = text.find(';');
    const auto item = text.substr(0, semicolon);
    const auto dots = item.find("..");
    auto low = number(item.substr(0, dots));
    auto high = dots == std::string_view::npos ? low : number(item.substr(dots + 2));
    if (!low || !high || *low > *high) return false;
    for (int v = *low; v <= *high; ++v) allowed[static_cast<std::size_t>(v)] = true;
    if (semicolon == std::string_view::npos) return true;
    text.remove_prefix(semicolon + 1);
  }
}

}  // namespace

std::string dnsbl_query_name(const common::IpBytes& address, std::string_view zone) {
  std::string name;
  const auto& b = address.bytes;
  if (address.family == 4) {
    name = fmt::format("{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
  } else {
    constexpr std::string_view kHex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      if (!name.empty()) name += '.';
      name += kHex[b[static_cast<std::size_t>(i)] & 0xf];
      name += '.';
      name += kHex[b[static_cast<std::size_t>(i)] >> 4];
    }
  }
  return name + "." + std::string(trim_dot(zone));
}

std::string rhsbl_query_name(std::string_view domain, std::string_view zone) {
  return std::string(trim_dot(domain)) + "." + std::string(trim_dot(zone));
}

std::string uri_query_name(std::string_view domain_or_ip, std::string_view zone) {
  if (const auto address = common::parse_ip(domain_or_ip)) return dnsbl_query_name(*address, zone);
  return rhsbl_query_name(domain_or_ip, zone);
}

std::optional<ReturnFilter> ReturnFilter::parse(std::string_view text, std::string* error) {
  ReturnFilter filter;
  filter.text_ = std::string(text);
  std::size_t start = 0;
  for (std::size_t octet = 0; octet < 4; ++octet) {
    // Dots inside "[..]" are part of a range, not separators.
    std::size_t end = start;
    int depth = 0;
    while (end < text.size() && (depth > 0 || text[end] != '.')) {
      depth += text[end] == '[' ? 1 : text[end] == ']' ? -1 : 0;
      ++end;
    }
    if (!parse_octet(text.substr(start, end - start), filter.allowed_[octet]) ||
        (octet < 3 && end >= text.size()) || (octet == 3 && end != text.size())) {
      if (error != nullptr) {
        *error = fmt::format("\"{}\" is not a return-code pattern; write it like "
                             "\"127.0.0.2\", \"127.0.0.[2..11]\" or \"127.0.0.[2;4;10..12]\"",
                             text);
      }
      return std::nullopt;
    }
    start = end + 1;
  }
  return filter;
}

bool ReturnFilter::matches(const std::array<std::uint8_t, 4>& answer) const {
  for (std::size_t i = 0; i < 4; ++i) {
    if (!allowed_[i][answer[i]]) return false;
  }
  return true;
}

DnsblResult judge_dnsbl_answer(const std::vector<std::array<std::uint8_t, 4>>& answers,
                               const std::vector<ReturnFilter>& filters) {
  bool listed = false;
  for (const auto& answer : answers) {
    const bool error =
        answer[0] != 127 || (answer[1] == 255 && answer[2] == 255);  // RFC 5782 §2.1; 127.255.255.x
    if (error) return DnsblResult::ZoneError;
    const bool counts =
        filters.empty() ||
        std::any_of(filters.begin(), filters.end(), [&](const auto& f) { return f.matches(answer); });
    listed = listed || counts;
  }
  return listed ? DnsblResult::Listed : DnsblResult::NotListed;
}

DnsblResult judge_uri_answer(const std::vector<std::array<std::uint8_t, 4>>& answers,
                             const std::vector<ReturnFilter>& filters) {
  constexpr std::array<std::uint8_t, 4> kIpQueriesProhibited{127, 0, 1, 255};  // Spamhaus DBL
  constexpr std::array<std::uint8_t, 4> kQueryRefused{127, 0, 0, 1};           // SURBL, URIBL
  for (const auto& answer : answers) {
    if (answer == kIpQueriesProhibited || answer == kQueryRefused) return DnsblResult::ZoneError;
  }
  return judge_dnsbl_answer(answers, filters);
}

}  // namespace mxgate::reputation
