// TableReader: typed access to one TOML table with errors that say where and how to fix.
#include "conf/toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mxgate::conf::detail {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "[server]", "[[route]]", or "the top level".
std::string table_name(const std::string& prefix) {
  if (prefix.empty()) return "the top level";
  std::size_t bracket = prefix.find('[');
  if (bracket != std::string::npos) return "[[" + prefix.substr(0, bracket) + "]]";
  return "[" + prefix + "]";
}

}  // namespace

std::string describe_node(const toml::node& node) {
  if (const auto* s = node.as_string()) return "the string " + quote(s->get());
  if (const auto* i = node.as_integer()) return "the integer " + std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_floating_point()) return "a float";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date or time";
}

std::pair<std::string, std::uint32_t> location(const toml::node* node, const std::string& file) {
  if (node == nullptr) return {file, 0};
  const toml::source_region& source = node->source();
  if (!source.path || source.path->empty()) return {file, 0};
  if (source.path->starts_with(kOptionPrefix)) return {*source.path, 0};
  return {*source.path, source.begin.line};
}

TableReader::TableReader(const toml::table* table, std::string prefix, std::string file)
    : table_(table), prefix_(std::move(prefix)), file_(std::move(file)) {}

const toml::node* TableReader::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_ != nullptr ? table_->get(key) : nullptr;
}

std::string TableReader::key_path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void TableReader::fail(const toml::node* node, std::string_view key,
                       const std::string& problem) const {
  auto [file, line] = location(node, file_);
  throw ConfigError(file, line, key_path(key), problem);
}

void TableReader::read(std::string_view key, std::string& out, const Text&) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  const auto* s = node->as_string();
  if (s == nullptr) fail(node, key, "expected a string in quotes, got " + describe_node(*node));
  out = s->get();
}

void TableReader::read(std::string_view key, bool& out, Flag) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  const auto* b = node->as_boolean();
  if (b == nullptr) fail(node, key, "expected true or false, got " + describe_node(*node));
  out = b->get();
}

std::int64_t TableReader::integer(const toml::node* node, std::string_view key, std::int64_t min,
                                  std::int64_t max) const {
  const auto* i = node->as_integer();
  if (i == nullptr) fail(node, key, "expected an integer, got " + describe_node(*node));
  if (i->get() < min || i->get() > max) {
    fail(node, key,
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
             std::to_string(i->get()));
  }
  return i->get();
}

void TableReader::read(std::string_view key, double& out, const Number& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  double value = 0;
  if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else {
    fail(node, key, "expected a number, got " + describe_node(*node));
  }
  if (!(value >= rule.min && value <= rule.max)) {
    fail(node, key,
         fmt::format("must be between {:.10g} and {:.10g}, got {}", rule.min, rule.max,
                     describe_node(*node)));
  }
  out = value;
}

void TableReader::read(std::string_view key, std::vector<int>& out, const Ints& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  const auto* a = node->as_array();
  if (a == nullptr)
    fail(node, key, "expected an array of integers such as [24], got " + describe_node(*node));
  std::vector<int> values;
  for (const toml::node& element : *a) {
    values.push_back(static_cast<int>(integer(&element, key, rule.min, rule.max)));
  }
  out = std::move(values);
}

std::size_t TableReader::choice(std::string_view key, std::size_t index,
                                const std::vector<std::string_view>& names) {
  const toml::node* node = find(key);
  if (node == nullptr) return index;
  const auto* s = node->as_string();
  const auto it = s == nullptr ? names.end() : std::find(names.begin(), names.end(), s->get());
  if (it == names.end()) {
    std::string list;
    for (auto name : names) list += (list.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    fail(node, key, "expected one of " + list + ", got " + describe_node(*node));
  }
  return static_cast<std::size_t>(it - names.begin());
}

// Read as a string first: not a string is "expected a string in quotes".
std::size_t TableReader::word(std::string_view key, std::size_t index,
                              const std::vector<std::string_view>& names) {
  std::string text(names.at(index));
  read(key, text);
  const auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end()) {
    std::string list;
    for (std::size_t i = 0; i < names.size(); ++i) {
      list += (i == 0 ? "" : i + 1 < names.size() ? ", " : " or ") + quote(names[i]);
    }
    fail(find(key), key, "expected " + list + ", got " + quote(text));
  }
  return static_cast<std::size_t>(it - names.begin());
}

void TableReader::read(std::string_view key, Duration& out, Positive) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  Duration value{};
  if (const auto* i = node->as_integer()) {
    constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000;
    if (i->get() > kMaxSeconds) fail(node, key, "is too long; use a duration such as \"30s\"");
    value = std::chrono::seconds(i->get());
  } else if (const auto* s = node->as_string()) {
    try {
      value = parse_duration(s->get());
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
  } else {
    fail(node, key, "expected a duration such as \"30s\" or \"5m\", got " + describe_node(*node));
  }
  if (value.count() <= 0) {
    fail(node, key, "must be greater than zero, e.g. \"30s\"; got " + describe_node(*node));
  }
  out = value;
}

void TableReader::read(std::string_view key, std::uint64_t& out, const Size& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  std::uint64_t value = 0;
  if (const auto* i = node->as_integer()) {
    value = i->get() < 0 ? 0 : static_cast<std::uint64_t>(i->get());
  } else if (const auto* s = node->as_string()) {
    try {
      value = parse_size(s->get());
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
  } else {
    fail(node, key, "expected a size such as \"10MiB\" or 10485760, got " + describe_node(*node));
  }
  if (value < rule.min) {
    fail(node, key,
         "must be at least " + std::to_string(rule.min) + " bytes, got " + describe_node(*node));
  }
  out = value;
}

void TableReader::read(std::string_view key, HostPort& out, const Address& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  const auto* s = node->as_string();
  if (s == nullptr) {
    fail(node, key, "expected a \"host:port\" string, got " + describe_node(*node));
  }
  try {
    out = parse_host_port(s->get(), rule.port);
  } catch (const std::invalid_argument& e) {
    fail(node, key, e.what());
  }
}

const toml::array* TableReader::array(const toml::node* node, std::string_view key) const {
  const auto* a = node->as_array();
  if (a == nullptr)
    fail(node, key, "expected an array such as [\"a\", \"b\"], got " + describe_node(*node));
  for (const toml::node& element : *a) {
    if (!element.is_string()) {
      fail(&element, key,
           "expected an array of strings, got an element that is " + describe_node(element));
    }
  }
  return a;
}

void TableReader::read(std::string_view key, std::vector<HostPort>& out, const Address& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  std::vector<HostPort> values;
  for (const toml::node& element : *array(node, key)) {
    try {
      values.push_back(parse_host_port(element.as_string()->get(), rule.port));
    } catch (const std::invalid_argument& e) {
      fail(&element, key, e.what());
    }
  }
  out = std::move(values);
}

void TableReader::read(std::string_view key, std::vector<std::string>& out, const Texts&) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  std::vector<std::string> values;
  for (const toml::node& element : *array(node, key)) values.push_back(element.as_string()->get());
  out = std::move(values);
}

void TableReader::read(std::string_view key, std::vector<Duration>& out, Waits) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  std::vector<std::string> texts;
  read(key, texts);
  if (texts.empty()) fail(node, key, "must list at least one wait, e.g. [\"1m\", \"1h\"]");
  out.clear();
  for (const auto& text : texts) {
    try {
      out.push_back(parse_duration(text));
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
    if (out.back() <= Duration::zero()) fail(node, key, "waits must be positive");
  }
}

void TableReader::read(std::string_view key, reputation::PointsList& out, const Points& rule) {
  TableReader sub = table(key);
  if (sub.table_ == nullptr) return;
  if (!out.empty()) sub.expect(out);  // else the message below says more than "unknown key"
  fields(sub, out);
  if (out.empty() && !sub.table_->empty()) {
    const auto first = sub.table_->begin();
    sub.fail(&first->second, first->first.str(),
             "check " + std::string(rule.check) +
                 " has no points to set (its scores come from elsewhere)");
  }
  sub.finish();
}

TableReader TableReader::table(std::string_view key) {
  const toml::node* node = find(key);
  if (node != nullptr && !node->is_table()) {
    fail(node, key, "expected a table [" + key_path(key) + "], got " + describe_node(*node));
  }
  return TableReader(node != nullptr ? node->as_table() : nullptr, key_path(key), file_);
}

void TableReader::finish() const {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    std::string_view name = key.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    std::string hint;
    for (const auto& candidate : known_) {
      if (hint.empty() && edit_distance(name, candidate) <= 2)
        hint = "did you mean \"" + candidate + "\"? ";
    }
    fail(&node, name,
         "unknown key; " + hint + "the keys of " + table_name(prefix_) + " are: " + join(known_));
  }
}

}  // namespace mxgate::conf::detail
