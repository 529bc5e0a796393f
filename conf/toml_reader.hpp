// Internal to mxgate_conf (includes toml++; never include it from a public header).
// TableReader reads the values of one TOML table by the rules of fields.hpp (typed,
// range-checked) and turns every problem into a ConfigError that names the file, the line and
// the full dotted key. Keys that were never asked for are reported by finish() as unknown, with
// the valid keys listed.
// Nodes that came from an override carry the option as their source ("-o KEY=VALUE"): their
// errors name the option instead of a file and a line.
#pragma once

#include <toml++/toml.h>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "conf/detail.hpp"
#include "conf/fields.hpp"

namespace mxgate::conf::detail {

inline constexpr std::string_view kOptionPrefix = "-o ";

class TableReader {
 public:
  // `table` may be null (the table is absent: every key keeps its default).
  TableReader(const toml::table* table, std::string prefix, std::string file);

  // The node at `key` (null when absent); marks `key` as known.
  const toml::node* find(std::string_view key);
  std::string key_path(std::string_view key) const;
  [[noreturn]] void fail(const toml::node* node, std::string_view key,
                         const std::string& problem) const;

  // Reads `key` by `rule` (fields.hpp) when it is present, then runs the rule's check, also
  // when it is absent (a default passes). fields(reader, section) reads a whole table.
  template <class T, class Rule>
  void operator()(std::string_view key, T& out, const Rule& rule) {
    read(key, out, rule);
    if constexpr (requires { rule.check(*this, key, out); }) {
      if (rule.check != nullptr) rule.check(*this, key, out);
    }
  }

  // The rules, without their checks.
  void read(std::string_view key, std::string& out, const Text& = {});
  void read(std::string_view key, bool& out, Flag = {});
  void read(std::string_view key, Duration& out, Positive);
  void read(std::string_view key, std::uint64_t& out, const Size& rule);
  template <std::integral Integer>
  void read(std::string_view key, Integer& out, const Int& rule) {
    if (const toml::node* node = find(key)) {
      out = static_cast<Integer>(integer(node, key, rule.min, rule.max));
    }
  }
  void read(std::string_view key, double& out, const Number& rule);
  template <class Enum>
  void read(std::string_view key, Enum& out, const Choice& rule) {
    out = static_cast<Enum>(choice(key, static_cast<std::size_t>(out), rule.names));
  }
  template <class Enum>
  void read(std::string_view key, Enum& out, const Word& rule) {
    out = static_cast<Enum>(word(key, static_cast<std::size_t>(out), rule.names));
  }
  void read(std::string_view key, HostPort& out, const Address& rule);
  void read(std::string_view key, std::vector<HostPort>& out, const Address& rule);
  void read(std::string_view key, std::vector<std::string>& out, const Texts& = {});
  void read(std::string_view key, std::vector<int>& out, const Ints& rule);
  void read(std::string_view key, std::vector<Duration>& out, Waits);
  void read(std::string_view key, reputation::PointsList& out, const Points& rule);
  template <class Section>
  void read(std::string_view key, Section& out, Table) {
    TableReader sub = table(key);
    sub.expect(out);
    fields(sub, out);
    sub.finish();
  }
  template <class T, class Rule>
  void read(std::string_view key, T& out, const Required<Rule>& rule) {
    if (find(key) == nullptr) fail(table_, key, std::string(rule.problem));
    (*this)(key, out, rule.rule);
  }

  // Marks the keys of `section`'s field table as known and reports the first unknown key,
  // before any value is read: a misspelt key is the mistake to report, not the required key it
  // leaves missing or a check it makes fail (`downstreams = [...]` in a [[route]]).
  template <class Section>
  void expect(const Section& section) {
    auto mark = [this](std::string_view key, const auto&, const auto&) { find(key); };
    fields(mark, section);
    finish();
  }

  // A sub-table reader; its table is null when `key` is absent. Fails unless it is a table.
  TableReader table(std::string_view key);
  // Reports the first key that no read/find asked for.
  void finish() const;

  const toml::table* node() const { return table_; }
  const std::string& file() const { return file_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::int64_t integer(const toml::node* node, std::string_view key, std::int64_t min,
                       std::int64_t max) const;
  // The index of the name `key` gives in `names`, or `index` when it is absent.
  std::size_t choice(std::string_view key, std::size_t index,
                     const std::vector<std::string_view>& names);
  std::size_t word(std::string_view key, std::size_t index,
                   const std::vector<std::string_view>& names);
  const toml::array* array(const toml::node* node, std::string_view key) const;

  const toml::table* table_;
  std::string prefix_;
  std::string file_;
  std::vector<std::string> known_;
};

// Builds and validates the whole Config from the document (schema.cpp). `file` names the
// configuration file in errors.
Config read_config(const toml::table& root, const std::string& file);

// "a string", "an integer", ... with the value when it is short: `got "5 minutes"`.
std::string describe_node(const toml::node& node);

// The file and line to report for `node`: the config file and the node's line, or the option
// ("-o KEY=VALUE") and line 0 for a node that came from an override. A null node (or one
// without a source) gives `file` and line 0.
std::pair<std::string, std::uint32_t> location(const toml::node* node, const std::string& file);

}  // namespace mxgate::conf::detail
