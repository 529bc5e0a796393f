#include "reputation/sender_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace mxgate::reputation {


namespace {

constexpr std::size_t kMaxDomain = 255;  // RFC 1035 §2.3.4
constexpr std::size_t kMaxLabel = 63;

// Words that name access networks rather than servers (postscreen/SpamAssassin-style lists).
constexpr std::array<std::string_view, 22> kGenericWords{
    "dynamic", "dyn",   "dhcp",     "pool",      "dsl",     "adsl",     "vdsl",   "xdsl",
    "cable",   "ppp",   "pppoe",    "dialup",    "dial",    "dip",      "broadband",
    "residential",     "cust",     "customer",  "client",  "subscriber", "unassigned", "nat"};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return c >= 'a' && c <= 'z'; }

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The host part: every label but the last two (the registered domain, approximately).
std::string_view host_part(std::string_view name) {
  std::size_t cut = name.size();
  for (int dots = 0; dots < 2; ++dots) {
    const auto dot = name.rfind('.', cut - 1);
    if (dot == std::string_view::npos || cut == 0) return {};
    cut = dot;
  }
  return name.substr(0, cut);
}

// Runs of decimal digits, as numbers (runs longer than 3 digits are not octets: skipped as -1).
std::vector<int> decimal_runs(std::string_view text) {
  std::vector<int> runs;
  for (std::size_t i = 0; i < text.size();) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    int value = 0;
    while (j < text.size() && is_digit(text[j])) value = value * 10 + (text[j++] - '0');
    runs.push_back(j - i <= 3 ? value : -1);
    i = j;
  }
  return runs;
}

bool contains_sequence(const std::vector<int>& runs, const std::array<int, 4>& octets) {
  return std::search(runs.begin(), runs.end(), octets.begin(), octets.end()) != runs.end();
}

std::optional<std::string> embedded_v4(const common::IpBytes& ip, std::string_view host) {
  const auto& b = ip.bytes;
  const std::array<int, 4> forward{b[0], b[1], b[2], b[3]};
  const std::array<int, 4> reverse{b[3], b[2], b[1], b[0]};
  const auto runs = decimal_runs(host);
  if (contains_sequence(runs, forward) || contains_sequence(runs, reverse)) {
    return fmt::format("the name embeds the address {}", common::ip_text(ip));
  }
  const auto hex = fmt::format("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
  if (host.find(hex) != std::string_view::npos) {
    return fmt::format("the name embeds the address {} in hex", common::ip_text(ip));
  }
  return std::nullopt;
}

// IPv6: the interface identifier's hex groups (without leading zeros) appear in order,
// separated by dots, dashes or colons.
std::optional<std::string> embedded_v6(const common::IpBytes& ip, std::string_view host) {
  const auto& b = ip.bytes;
  std::string groups;
  int nonzero = 0;
  for (int i = 8; i < 16; i += 2) {
    const int group = (b[i] << 8) | b[i + 1];
    nonzero += group != 0;
    groups += fmt::format("{:x}-", group);
  }
  groups.pop_back();
  std::string normalized(host);
  std::replace(normalized.begin(), normalized.end(), '.', '-');
  std::replace(normalized.begin(), normalized.end(), ':', '-');
  // Mostly-zero identifiers ("::1") would match too much.
  if (nonzero >= 2 && normalized.find(groups) != std::string::npos) {
    return fmt::format("the name embeds the address {}", common::ip_text(ip));
  }
  return std::nullopt;
}

// A label token (split on '-', '_' and digits) that is a generic word.
std::optional<std::string_view> generic_word(std::string_view host) {
  std::string_view word;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    const bool letter = i < host.size() && is_alpha(host[i]);
    if (letter) {
      if (word.empty()) word = host.substr(i, 0);
      word = std::string_view(word.data(), word.size() + 1);
      continue;
    }
    if (!word.empty() &&
        std::find(kGenericWords.begin(), kGenericWords.end(), word) != kGenericWords.end()) {
      return word;
    }
    word = {};
  }
  return std::nullopt;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
}

bool is_localhost(std::string_view name) {
  return name == "localhost" || name.ends_with(".localhost") || name.ends_with(".localdomain") ||
         name == "localhost.localdomain" || name.ends_with(".local");
}

HeloVerdict problem(HeloProblem kind, std::string reason) {
  return HeloVerdict{kind, false, std::move(reason)};
}

HeloVerdict judge_literal(std::string_view literal, const common::IpBytes& client) {
  std::string_view inner = literal.substr(1, literal.size() - 2);
  // RFC 5321 §4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr (tag case-insensitive).
  const bool v6_tag = inner.size() > 5 && lowercase(inner.substr(0, 5)) == "ipv6:";
  if (v6_tag) inner.remove_prefix(5);
  auto claimed = common::parse_ip(inner);
  if (!claimed || (claimed->family == 6) != v6_tag) {
    return problem(HeloProblem::BadLiteral, "the address literal is not an address");
  }
  if (claimed->family != client.family || claimed->bytes != client.bytes) {
    return problem(HeloProblem::LiteralMismatch,
                   fmt::format("the literal {} is not the client's address {}",
                               common::ip_text(*claimed), common::ip_text(client)));
  }
  return HeloVerdict{HeloProblem::None, true, {}};
}

}  // namespace

std::optional<std::string> generic_ptr_reason(const common::IpBytes& address,
                                              std::string_view ptr_name) {
  const std::string name = lowercase(ptr_name);
  const std::string_view host = host_part(name);
  if (host.empty()) return std::nullopt;
  auto embedded = address.family == 4 ? embedded_v4(address, host) : embedded_v6(address, host);
  if (embedded) return embedded;
  if (auto word = generic_word(host)) {
    return fmt::format("the name has the word \"{}\" of access networks", *word);
  }
  return std::nullopt;
}

HeloVerdict judge_helo(std::string_view helo, const common::IpBytes& client,
                       std::string_view our_hostname) {
  if (helo.empty()) return problem(HeloProblem::Empty, "no name given");
  if (helo.front() == '[' && helo.back() == ']' && helo.size() > 2) {
    return judge_literal(helo, client);
  }
  const std::string name = lowercase(helo);
  if (common::parse_ip(name)) {
    return problem(HeloProblem::BareAddress, "an address without [brackets]");
  }
  if (name.size() > kMaxDomain) return problem(HeloProblem::BadSyntax, "longer than 255 octets");
  const auto labels = split(name, '.');
  if (!std::all_of(labels.begin(), labels.end(), valid_label)) {
    return problem(HeloProblem::BadSyntax, "not a valid host name");
  }
  if (is_localhost(name)) return problem(HeloProblem::Localhost, "a local-only name");
  if (labels.size() < 2 || std::all_of(labels.back().begin(), labels.back().end(), is_digit)) {
    return problem(HeloProblem::NotFqdn, "not a fully qualified domain name");
  }
  if (!our_hostname.empty() && name == lowercase(our_hostname)) {
    return problem(HeloProblem::ClaimsToBeUs, "our own host name");
  }
  return HeloVerdict{};
}

bool helo_matches_ptr(std::string_view helo, std::string_view ptr_name) {
  const std::string h = lowercase(helo);
  const std::string p = lowercase(ptr_name);
  if (h.empty() || p.empty()) return false;
  if (h == p) return true;
  const auto dot = h.find('.');
  if (dot == std::string::npos) return false;
  const std::string_view parent = std::string_view(h).substr(dot + 1);
  if (parent.find('.') == std::string_view::npos) return false;  // never match on a TLD
  return p.size() > parent.size() && p.ends_with(parent) && p[p.size() - parent.size() - 1] == '.';
}

}  // namespace mxgate::reputation
