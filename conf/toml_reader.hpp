// Internal to mxgate_conf (includes toml++; never include it from a public header).
// TableReader reads typed, range-checked values out of one TOML table and turns every problem
// into a ConfigError that names the file, the line and the full dotted key. Keys that were
// never asked for are reported by finish() as unknown, with the valid keys listed.
// Nodes that came from an override (-o) carry no source file of this config: their errors
// name the file "-o" and line 0.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "conf/detail.hpp"

namespace mxgate::conf::detail {

inline constexpr std::string_view kOverrideFile = "-o";

class TableReader {
 public:
  // `table` may be null (the table is absent: every key keeps its default).
  TableReader(const toml::table* table, std::string prefix, std::string file);

  // The node at `key` (null when absent); marks `key` as known.
  const toml::node* find(std::string_view key);
  std::string key_path(std::string_view key) const;
  [[noreturn]] void fail(const toml::node* node, std::string_view key,
                         const std::string& problem) const;

  void read(std::string_view key, std::string& out);
  void read(std::string_view key, bool& out);
  void read_positive(std::string_view key, Duration& out);
  void read_size(std::string_view key, std::uint64_t& out, std::uint64_t min);
  void read(std::string_view key, HostPort& out, const PortRule& rule);
  void read(std::string_view key, std::vector<HostPort>& out, const PortRule& rule);
  void read(std::string_view key, std::vector<std::string>& out);
  // An integer or a float within [min, max].
  void read_number(std::string_view key, double& out, double min, double max);
  // An array of integers, each within [min, max].
  void read_ints(std::string_view key, std::vector<int>& out, int min, int max);
  // A string that must be one of `choices`; returns its index (or leaves `index` unchanged).
  void read_choice(std::string_view key, std::size_t& index,
                   const std::vector<std::string_view>& choices);
  template <class Int>
  void read_int(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    if (const toml::node* node = find(key)) out = static_cast<Int>(integer(node, key, min, max));
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

// The file and line to report for `node`: the config file and the node's line, or "-o" and
// line 0 for a node that came from an override. A null node gives `file` and line 0.
std::pair<std::string, std::uint32_t> location(const toml::node* node, const std::string& file);

}  // namespace mxgate::conf::detail
