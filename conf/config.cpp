// load_config(): read the file, parse it as TOML, apply the -o overrides to the parsed document
// (so they are validated exactly like the file), then build the Config (schema.cpp).
// Runs at start-up and on reload, on the control thread; every failure is a ConfigError.
#include "conf/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "conf/toml_reader.hpp"

namespace mxgate::conf {
namespace {

using detail::kOptionPrefix;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "-o server.max_recipients=abc" -> "server.max_recipients".
std::string_view option_key(std::string_view file) {
  if (!file.starts_with(kOptionPrefix)) return {};
  file.remove_prefix(kOptionPrefix.size());
  return trim(file.substr(0, file.find('=')));
}

std::string format_error(const std::string& file, std::uint32_t line, const std::string& key,
                         const std::string& problem) {
  std::string out = file;
  if (line > 0) fmt::format_to(std::back_inserter(out), ":{}", line);
  out += ": ";
  if (!key.empty() && key != option_key(file)) fmt::format_to(std::back_inserter(out), "{}: ", key);
  return out + problem;
}

[[noreturn]] void override_error(std::string_view text, std::string_view key,
                                 const std::string& problem) {
  throw ConfigError(std::string(kOptionPrefix) + std::string(text), 0, std::string(key), problem);
}

// The absolute path: "cannot read x.toml" says little when the working directory is unknown.
std::string absolute_text(const std::string& file) {
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(file, ec);
  return ec ? file : path.lexically_normal().string();
}

std::string read_text(const std::string& file) {
  const std::string path = absolute_text(file);
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw ConfigError::verbatim(path, "",
                                "cannot read " + path +
                                    ": it is a directory; give the configuration file, e.g. "
                                    "-c /etc/mxgate/mxgate.toml");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError::verbatim(path, "", "cannot read " + path + ": " + strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// toml++ reports an unclosed array, inline table or table header where it noticed; the line
// that opened it is the one to fix.
[[noreturn]] void syntax_error(const std::string& file, std::string_view text,
                               const toml::parse_error& e) {
  const std::string_view description = e.description();
  const std::uint32_t line = e.source().begin.line;
  const char open = description.find("inline table") != std::string_view::npos ? '{' : '[';
  const bool unclosed = description.find("parsing array") != std::string_view::npos ||
                        description.find("parsing inline table") != std::string_view::npos ||
                        description.find("parsing table header") != std::string_view::npos;
  const auto opened =
      unclosed ? detail::unclosed_bracket(text, line, e.source().begin.column, open) : std::nullopt;
  if (!opened || *opened >= line) {
    throw ConfigError(file, line, "", "invalid TOML: " + std::string(description));
  }
  std::string_view detail_text =
      description.substr(std::min(description.find(": "), description.size()));
  if (detail_text.starts_with(": ")) detail_text.remove_prefix(2);
  throw ConfigError(file, *opened, "",
                    fmt::format("invalid TOML: the '{}' on this line is never closed (noticed at "
                                "line {}: {})",
                                open, line, detail_text));
}

toml::table parse_document(const std::string& file) {
  std::string text = read_text(file);
  try {
    return toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    syntax_error(file, text, e);
  }
}

// "server.max_recipients" -> {"server", "max_recipients"}; only bare TOML keys.
std::vector<std::string> split_key(std::string_view text, std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t dot = std::min(key.find('.', start), key.size());
    std::string_view part = key.substr(start, dot - start);
    bool bare = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (!bare) override_error(text, key, "expected a dotted key such as server.max_recipients");
    parts.emplace_back(part);
    start = dot + 1;
  }
  return parts;
}

// `key = value` as a TOML document whose nodes name the option as their source, so that its
// errors do; a value that is not one TOML value is taken as a bare string, so
// `-o server.hostname=mx.example.org` needs no quotes.
toml::table parse_override(std::string_view text, std::string_view key, std::string_view value) {
  const std::string source = std::string(kOptionPrefix) + std::string(text);
  try {
    toml::table parsed = toml::parse(std::string(key) + " = " + std::string(value), source);
    if (parsed.size() == 1) return parsed;
  } catch (const toml::parse_error&) {
    // Not TOML: a bare string.
  }
  return toml::parse(std::string(key) + " = " + detail::quote(value), source);
}

void apply_override(toml::table& root, std::string_view text) {
  std::size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    override_error(text, trim(text), "expected key=value, e.g. -o server.max_recipients=50");
  }
  std::string_view key = trim(text.substr(0, equals));
  if (key == "route" || key.starts_with("route.") || key.starts_with("route[")) {
    override_error(text, key, "[[route]] entries cannot be overridden with -o; edit the file");
  }
  std::vector<std::string> parts = split_key(text, key);
  toml::table parsed = parse_override(text, key, trim(text.substr(equals + 1)));
  // Merge: descend the tables both have; the first one the file lacks comes whole from the
  // override (with its source), as does the value.
  toml::table* table = &root;
  toml::table* from = &parsed;
  std::string path;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (i == 0 ? "" : ".") + parts[i];
    toml::node* next = table->get(parts[i]);
    if (next == nullptr) {
      table->insert(parts[i], std::move(*from->get(parts[i])));
      return;
    }
    if (!next->is_table()) override_error(text, key, path + " is not a table; check the key");
    table = next->as_table();
    from = from->get(parts[i])->as_table();
  }
  table->insert_or_assign(parts.back(), std::move(*from->get(parts.back())));
}

}  // namespace

ConfigError::ConfigError(std::string file, std::uint32_t line, std::string key,
                         const std::string& problem)
    : ConfigError(Verbatim{}, file, line, key, format_error(file, line, key, problem)) {}

ConfigError::ConfigError(Verbatim, std::string file, std::uint32_t line, std::string key,
                         const std::string& message)
    : std::runtime_error(message), file_(std::move(file)), line_(line), key_(std::move(key)) {}

ConfigError ConfigError::verbatim(std::string file, std::string key, const std::string& message) {
  return ConfigError(Verbatim{}, std::move(file), 0, std::move(key), message);
}

ConfigError value_error(const Config& config, std::string_view key, const std::string& problem) {
  const Origin origin = config.origins.of(key);
  return ConfigError::verbatim(origin.file, std::string(key),
                               fmt::format("{} ({}): {}", key, origin.text(), problem));
}

std::string Origin::text() const {
  if (file.empty()) return "default";
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

Origin Origins::of(std::string_view key) const {
  for (const auto& [name, origin] : keys) {
    if (name == key) return origin;
  }
  return {};
}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  const std::string file = path.string();
  toml::table root = parse_document(file);
  for (const std::string& text : overrides) apply_override(root, text);
  Config config = detail::read_config(root, file);
  config.source = path;
  return config;
}

}  // namespace mxgate::conf
