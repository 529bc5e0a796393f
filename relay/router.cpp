#include "relay/router.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace mxgate::relay {
namespace {

constexpr std::size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII-lowercases `domain` into `out` and drops one trailing dot; empty when too long.
std::string_view normalize(std::string_view domain, std::array<char, kMaxDomain>& out) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.size() > out.size()) return {};
  std::transform(domain.begin(), domain.end(), out.begin(), lower);
  return {out.data(), domain.size()};
}

std::string normalize_owned(std::string_view domain) {
  std::string out(domain);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

using Table = std::vector<std::pair<std::string, std::size_t>>;

// The route of `key` in a table sorted by name (the first route wins a duplicate).
std::optional<std::size_t> find(const Table& table, std::string_view key) {
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  if (it == table.end() || it->first != key) return std::nullopt;
  return it->second;
}

void sort_table(Table& table) {
  // Stable so that, for a domain listed twice, the earlier route comes first.
  std::stable_sort(table.begin(), table.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace

Router::Router(std::vector<conf::Route> routes, std::vector<conf::HostPort> quarantine)
    : routes_(std::move(routes)) {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    for (const auto& domain : routes_[i].domains) {
      std::string key = normalize_owned(domain);
      if (key.empty() || key == ".") continue;
      (key.front() == '.' ? suffixes_ : exact_).emplace_back(std::move(key), i);
    }
  }
  sort_table(exact_);
  sort_table(suffixes_);
  if (!quarantine.empty()) {
    quarantine_ = routes_.size();
    routes_.push_back(conf::Route{{}, std::move(quarantine), false});
  }
}

std::optional<std::size_t> Router::route_for(const smtp::Path& recipient) const {
  if (recipient.domain.empty()) {
    if (recipient.postmaster() && !routes_.empty()) return 0;
    return std::nullopt;
  }
  if (recipient.domain.front() == '[') return std::nullopt;  // address literal: not ours
  std::array<char, kMaxDomain> buffer;
  const std::string_view domain = normalize(recipient.domain, buffer);
  if (domain.empty()) return std::nullopt;
  if (auto exact = find(exact_, domain)) return exact;
  // Longest ".suffix" first: "a.b.example.com" tries ".b.example.com", ".example.com", ".com".
  for (std::size_t dot = domain.find('.'); dot != std::string_view::npos;
       dot = domain.find('.', dot + 1)) {
    if (auto suffix = find(suffixes_, domain.substr(dot))) return suffix;
  }
  return std::nullopt;
}

}  // namespace mxgate::relay
