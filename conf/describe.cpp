// describe(): the effective configuration as TOML, one `key = value` line per field, written
// through the same field tables as the loader reads (fields.hpp), section by section in the
// order of conf/mxgate.toml. The output loads again with load_config() to the same Config.
// Pure; never fails.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <concepts>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/fields.hpp"

namespace mxgate::conf::detail {
namespace {

// Visits one table: its `key = value` lines, then its sub-tables as sections of their own.
class Writer {
 public:
  explicit Writer(std::string name) : name_(std::move(name)) {}

  template <class T, class Rule>
  void operator()(std::string_view key, const T& value, const Rule& rule) {
    if constexpr (std::is_same_v<Rule, Table>) {
      after_ += section(name_ + "." + std::string(key), value);
    } else if constexpr (std::is_same_v<Rule, Points>) {
      if (!value.empty()) after_ += section(name_ + "." + std::string(key), value);
    } else if constexpr (requires { rule.problem; }) {
      (*this)(key, value, rule.rule);  // Required
    } else {
      lines_ += std::string(key) + " = " + format(value, rule) + "\n";
    }
  }

  // "[name]" ("[[name]]" for an entry of an array of tables), its lines, then its sub-tables.
  template <class S>
  static std::string section(std::string name, const S& value, bool entry = false) {
    Writer w(std::move(name));
    fields(w, value);
    const std::string header = entry ? "[[" + w.name_ + "]]" : "[" + w.name_ + "]";
    return "\n" + header + "\n" + w.lines_ + w.after_;
  }

 private:
  static std::string format(const std::string& value, const auto&) { return quote(value); }
  static std::string format(bool value, Flag) { return value ? "true" : "false"; }
  static std::string format(Duration value, const auto&) { return quote(format_duration(value)); }
  static std::string format(std::uint64_t value, const Size&) { return quote(format_size(value)); }
  template <std::integral T>
  static std::string format(T value, const Int&) {
    return std::to_string(static_cast<std::uint64_t>(value));
  }
  static std::string format(int value, const Ints&) { return std::to_string(value); }
  // The shortest text that reads back as the same double ({:g} kept 6 digits).
  static std::string format(double value, const Number&) { return fmt::format("{}", value); }
  template <class E>
  requires std::is_enum_v<E>
  static std::string format(E value, const auto& rule) {
    return quote(rule.names.at(static_cast<std::size_t>(value)));
  }
  static std::string format(const HostPort& value, const Address&) { return quote(value.text()); }
  template <class T>
  static std::string format(const std::vector<T>& values, const auto& rule) {
    std::vector<std::string> texts;
    for (const T& value : values) texts.push_back(format(value, rule));
    return fmt::format("[{}]", fmt::join(texts, ", "));
  }

  std::string name_;
  std::string lines_;
  std::string after_;
};

template <class S>
std::string entries(const std::string& name, const std::vector<S>& values) {
  std::string out;
  for (const auto& value : values) out += Writer::section(name, value, true);
  return out;
}

}  // namespace
}  // namespace mxgate::conf::detail

namespace mxgate::conf {

std::string describe(const Config& c) {
  using detail::entries;
  using detail::Writer;
  std::string out = "# Effective configuration" +
                    (c.source.empty() ? std::string() : " of " + c.source.string()) + "\n";
  out += Writer::section("server", c.server) + Writer::section("tls", c.tls) +
         entries("tls.certificates", c.tls.certificates) +
         Writer::section("http", c.http) + Writer::section("feedback", c.feedback) +
         Writer::section("admin", c.admin) + Writer::section("portal", c.portal) +
         Writer::section("relay", c.relay) + Writer::section("queue", c.queue) +
         Writer::section("outbound", c.outbound) +
         Writer::section("dmarc_reports", c.dmarc_reports);
  out += entries("route", c.routes);
  out += Writer::section("storage", c.storage) + Writer::section("dns", c.dns);
  out += entries("dnsbl", c.dnsbls);
  out += entries("milter", c.milters);
  out += Writer::section("pregreet", c.pregreet) + Writer::section("auth", c.auth) +
         Writer::section("content", c.content) + Writer::section("throttle", c.throttle);
  out += entries("limit", c.throttle.limits);
  out += Writer::section("reputation", c.reputation) + Writer::section("fleet", c.fleet);
  for (const auto& check : c.checks) {
    out += Writer::section("checks." + std::string(check.name), check);
  }
  out += Writer::section("log", c.log);
  out += Writer::section("greylist", c.greylist);
  return out;
}

}  // namespace mxgate::conf
