// load_config(): read the file, parse it as TOML, apply the -o overrides to the parsed document
// (so they are validated exactly like the file), then build the Config (schema.cpp).
// Runs at start-up and on reload, on the control thread; every failure is a ConfigError.
#include "conf/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "conf/toml_reader.hpp"

namespace mxgate::conf {
namespace {

std::string format_error(const std::string& file, std::uint32_t line, const std::string& key,
                         const std::string& problem) {
  std::string out = file + ":" + std::to_string(line) + ": ";
  if (!key.empty()) out += key + ": ";
  return out + problem;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

[[noreturn]] void override_error(std::string_view key, const std::string& problem) {
  throw ConfigError(std::string(detail::kOverrideFile), 0, std::string(key), problem);
}

std::string read_text(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw ConfigError(file, 0, "",
                      "is a directory; give the configuration file, e.g. "
                      "-c /etc/mxgate/mxgate.toml");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::string reason = std::strerror(errno);
    throw ConfigError(file, 0, "",
                      "cannot read the configuration file (" + reason +
                          "); check the path given with -c and its permissions");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

toml::table parse_document(const std::string& file) {
  std::string text = read_text(file);
  try {
    return toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    throw ConfigError(file, e.source().begin.line, "",
                      "invalid TOML: " + std::string(e.description()));
  }
}

// "server.max_recipients" -> {"server", "max_recipients"}; only bare TOML keys.
std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t dot = std::min(key.find('.', start), key.size());
    std::string_view part = key.substr(start, dot - start);
    bool bare = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (!bare) override_error(key, "expected a dotted key such as server.max_recipients");
    parts.emplace_back(part);
    start = dot + 1;
  }
  return parts;
}

// The value as TOML (5, true, "x", ["a", "b"]); anything that is not one TOML value is taken
// as a bare string, so `-o server.hostname=mx.example.org` needs no quotes.
void assign_value(toml::table& table, const std::string& key, std::string_view value) {
  try {
    toml::table parsed = toml::parse("v = " + std::string(value), detail::kOverrideFile);
    if (parsed.size() == 1 && parsed.contains("v")) {
      table.insert_or_assign(key, std::move(*parsed.get("v")));
      return;
    }
  } catch (const toml::parse_error&) {
    // Not TOML: a bare string.
  }
  table.insert_or_assign(key, std::string(value));
}

void apply_override(toml::table& root, std::string_view text) {
  std::size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    override_error(trim(text), "expected key=value, e.g. -o server.max_recipients=50");
  }
  std::string_view key = trim(text.substr(0, equals));
  if (key == "route" || key.starts_with("route.") || key.starts_with("route[")) {
    override_error(key, "[[route]] entries cannot be overridden with -o; edit the file");
  }
  std::vector<std::string> parts = split_key(key);
  toml::table* table = &root;
  std::string path;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (i == 0 ? "" : ".") + parts[i];
    toml::node* next = table->get(parts[i]);
    if (next == nullptr) next = &table->insert(parts[i], toml::table{}).first->second;
    if (!next->is_table()) override_error(key, path + " is not a table; check the key");
    table = next->as_table();
  }
  assign_value(*table, parts.back(), trim(text.substr(equals + 1)));
}

}  // namespace

ConfigError::ConfigError(std::string file, std::uint32_t line, std::string key,
                         const std::string& problem)
    : std::runtime_error(format_error(file, line, key, problem)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)) {}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  const std::string file = path.string();
  toml::table root = parse_document(file);
  for (const std::string& text : overrides) apply_override(root, text);
  Config config = detail::read_config(root, file);
  config.source = path;
  return config;
}

}  // namespace mxgate::conf
