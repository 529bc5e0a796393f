// Parsers and formatters for the value types of the configuration: durations, byte sizes,
// host:port addresses (RFC 3986 §3.2.2 brackets for IPv6) and domain names (RFC 1035 §2.3.1
// LDH labels). Pure functions; failures are std::invalid_argument with a fix-it message.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "conf/config.hpp"
#include "conf/detail.hpp"

namespace mxgate::conf {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

// Largest first: format_* pick the first unit that divides the value exactly.
constexpr std::array<Unit, 5> kDurationUnits{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

constexpr std::array<Unit, 9> kSizeUnits{{{"TiB", 1ull << 40},
                                          {"GiB", 1ull << 30},
                                          {"MiB", 1ull << 20},
                                          {"KiB", 1ull << 10},
                                          {"TB", 1'000'000'000'000},
                                          {"GB", 1'000'000'000},
                                          {"MB", 1'000'000},
                                          {"KB", 1'000},
                                          {"B", 1}}};

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits "<digits><unit>" into the number and the unit; nullopt when there are no digits or
// the number does not fit.
struct NumberAndUnit {
  std::uint64_t number;
  std::string_view unit;
};
std::optional<NumberAndUnit> split_number(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc{} || end != text.data() + digits) return std::nullopt;
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return NumberAndUnit{number, unit};
}

template <std::size_t N>
std::optional<std::uint64_t> scale(const NumberAndUnit& n, const std::array<Unit, N>& units,
                                   bool ignore_case) {
  for (const Unit& u : units) {
    if (ignore_case ? equals_ignore_case(n.unit, u.name) : n.unit == u.name) {
      if (n.number > std::numeric_limits<std::int64_t>::max() / u.factor) return std::nullopt;
      return n.number * u.factor;
    }
  }
  return std::nullopt;
}

template <std::size_t N>
std::string format_with_units(std::uint64_t value, const std::array<Unit, N>& units,
                              std::size_t binary_count) {
  if (value == 0) return "0";
  for (std::size_t i = 0; i < binary_count; ++i) {
    if (value % units[i].factor == 0) {
      return std::to_string(value / units[i].factor) + std::string(units[i].name);
    }
  }
  return std::to_string(value);
}

[[noreturn]] void bad_address(std::string_view text, std::string_view why) {
  throw std::invalid_argument("invalid address " + detail::quote(text) + ": " + std::string(why) +
                              "; expected host:port such as \"127.0.0.1:25\" or \"[::1]:25\"");
}

std::uint16_t parse_port(std::string_view text, std::string_view port, std::string_view zero) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty()) bad_address(text, "missing port after ':'");
  if (ec != std::errc{} || end != port.data() + port.size() || !is_digit(port.front())) {
    bad_address(text, "the port must be a number");
  }
  if (value > 65535 || (value == 0 && zero.empty())) {
    bad_address(text, zero.empty() ? "the port must be 1..65535"
                                   : "the port must be 0..65535 (0 " + std::string(zero) + ")");
  }
  return static_cast<std::uint16_t>(value);
}

bool is_ip(int family, const std::string& host) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(family, host.c_str(), buffer.data()) == 1;
}

void check_host(std::string_view text, const std::string& host) {
  if (host.empty()) bad_address(text, "missing host (use 0.0.0.0 or [::] for every address)");
  bool numeric =
      std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
  if (numeric) {
    if (!is_ip(AF_INET, host)) bad_address(text, "not a valid IPv4 address");
    return;
  }
  if (auto problem = detail::domain_problem(host)) bad_address(text, "host name " + *problem);
}

}  // namespace

std::string HostPort::text() const {
  std::string out = host.find(':') == std::string::npos ? host : "[" + host + "]";
  return out + ":" + std::to_string(port);
}

HostPort parse_host_port(std::string_view text) { return detail::parse_host_port(text, {}); }

Duration parse_duration(std::string_view text) {
  std::string_view digits = text;
  bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  std::optional<std::uint64_t> ms;
  if (auto n = split_number(digits)) ms = scale(*n, kDurationUnits, false);
  if (!ms) {
    throw std::invalid_argument("expected a duration such as \"30s\" or \"5m\", got " +
                                detail::quote(text) + " (units: ms, s, m, h, d)");
  }
  auto value = static_cast<Duration::rep>(*ms);
  return Duration(negative ? -value : value);
}

std::vector<LimitConfig> ThrottleConfig::default_limits() {
  using K = LimitConfig::Key;
  using C = LimitConfig::Count;
  using std::chrono::hours;
  using std::chrono::minutes;
  // Generous: they stop floods, not senders. No limit on the bare envelope sender domain: a
  // forger could spend a victim domain's allowance (the (IP, domain) pair is safe).
  return {
      {"ip-connections", K::Ip, C::Connections, 120, minutes(1), 60},
      {"network-connections", K::Network, C::Connections, 600, minutes(1), 300},
      {"ip-messages", K::Ip, C::Messages, 1000, hours(1), 200},
      {"network-messages", K::Network, C::Messages, 5000, hours(1), 1000},
      {"ip-recipients", K::Ip, C::Recipients, 5000, hours(1), 1000},
      {"ip-sender-domain-messages", K::IpSenderDomain, C::Messages, 500, hours(1), 100},
      {"auth-domain-messages", K::AuthDomain, C::Messages, 50000, hours(1), 5000},
  };
}

std::string format_duration(Duration duration) {
  if (duration.count() == 0) return "0s";
  auto magnitude =
      static_cast<std::uint64_t>(duration.count() < 0 ? -duration.count() : duration.count());
  std::string out = format_with_units(magnitude, kDurationUnits, kDurationUnits.size());
  return duration.count() < 0 ? "-" + out : out;
}

std::uint64_t parse_size(std::string_view text) {
  std::optional<std::uint64_t> bytes;
  if (auto n = split_number(text))
    bytes = n->unit.empty() ? n->number : scale(*n, kSizeUnits, true);
  if (!bytes) {
    throw std::invalid_argument(
        "expected a size in bytes such as 10485760 or \"10MiB\", got " + detail::quote(text) +
        " (units: B, KiB, MiB, GiB, TiB = powers of 1024; KB, MB, GB, TB = powers of 1000)");
  }
  return *bytes;
}

std::string format_size(std::uint64_t bytes) {
  return format_with_units(bytes, kSizeUnits, 4);  // binary units only, else plain bytes
}

std::string to_string(LineEndings line_endings) {
  return line_endings == LineEndings::Normalize ? "normalize" : "reject";
}

namespace detail {

HostPort parse_host_port(std::string_view text, const PortRule& rule) {
  std::string host;
  std::optional<std::string_view> port;  // the text after the separating ':'
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) bad_address(text, "missing ']' after the IPv6 address");
    host = std::string(text.substr(1, close - 1));
    if (!is_ip(AF_INET6, host)) bad_address(text, "not a valid IPv6 address inside [ ]");
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') bad_address(text, "expected ':' after ']'");
    if (!rest.empty()) port = rest.substr(1);
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    host = std::string(text);
    if (!rule.default_port || !is_ip(AF_INET6, host)) {
      bad_address(text, "an IPv6 address needs brackets, e.g. \"[::1]:25\"");
    }
  } else {
    std::size_t colon = text.find(':');
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    check_host(text, host);
  }
  if (!port && !rule.default_port) bad_address(text, "missing port");
  std::uint16_t number = port ? parse_port(text, *port, rule.zero) : *rule.default_port;
  return HostPort{std::move(host), number};
}

std::optional<std::string> domain_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 253) return "is longer than 253 characters";
  if (name.back() == '.') return "ends with '.'; remove the trailing dot";
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = std::min(name.find('.', start), name.size());
    std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return "has an empty label (\"..\" or a leading '.')";
    if (label.size() > 63) return "has a label longer than 63 characters";
    for (char c : label) {
      bool ok = is_digit(c) || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!ok) return "may hold only letters, digits, '-' and '.' (write IDNs as xn--)";
    }
    if (label.front() == '-' || label.back() == '-')
      return "has a label that starts or ends with '-'";
    start = dot + 1;
  }
  return std::nullopt;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          std::array<char, 8> hex{};
          std::snprintf(hex.data(), hex.size(), "\\u%04X", byte);
          out += hex.data();
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace detail
}  // namespace mxgate::conf
