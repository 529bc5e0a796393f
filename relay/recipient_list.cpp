#include "relay/recipient_list.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "conf/config.hpp"

namespace mxgate::relay {
namespace {

constexpr std::string_view kKey = "relay.recipient_list";
constexpr std::size_t kMaxAddress = 254;  // RFC 5321 §4.5.3.1.3 (path) less the brackets

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// Why `entry` is not an address or a catch-all, or empty when it is one.
std::string problem(std::string_view entry) {
  if (entry.size() > kMaxAddress) return "is longer than 254 characters";
  const auto at = entry.rfind('@');
  if (at == std::string_view::npos) return "is neither an address (bob@example.net) nor @domain";
  if (at + 1 == entry.size()) return "has no domain after '@'";
  const bool bad = std::any_of(entry.begin(), entry.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',';
  });
  if (bad) return "contains a space, a control character or one of < > ,";
  return {};
}

}  // namespace

std::string normalize_address(std::string_view address) {
  std::string out(address);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool RecipientList::known(std::string_view address) const {
  const std::string normal = normalize_address(address);
  if (addresses_.contains(normal)) return true;
  const auto at = normal.rfind('@');
  return at != std::string::npos && domains_.contains(normal.substr(at + 1));
}

void RecipientList::add_address(std::string address) { addresses_.insert(std::move(address)); }

void RecipientList::add_domain(std::string domain) { domains_.insert(std::move(domain)); }

RecipientList parse_recipient_list(std::string_view text, const std::string& file) {
  RecipientList list;
  std::uint32_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const std::string_view entry = trim(line);
    if (entry.empty()) continue;
    if (auto why = problem(entry); !why.empty()) {
      throw conf::ConfigError(file, number, std::string(kKey),
                              "\"" + std::string(entry) + "\" " + why);
    }
    std::string normal = normalize_address(entry);
    if (normal.front() == '@') {
      list.add_domain(normal.substr(1));
    } else {
      list.add_address(std::move(normal));
    }
  }
  return list;
}

RecipientList load_recipient_list(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    throw conf::ConfigError(path, 0, std::string(kKey), "cannot read the recipient list");
  }
  return parse_recipient_list(text.str(), path);
}

}  // namespace mxgate::relay
