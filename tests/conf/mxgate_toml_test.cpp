// conf/mxgate.toml, the operator's reference, against the field tables (conf/fields.hpp) as
// describe() writes them: every key the tables know is in the file, the file names no other
// key, and the values it sets are the defaults.
//
// The file's conventions, which these tests hold it to:
//  - a key appears as a `key = value` line in its table, commented out ("# key = value") when
//    it is an example rather than a setting; a commented-out header ("#   [[dnsbl]]") opens a
//    table as a real one does;
//  - a line that is not commented out sets the key's default (text as describe() writes it, or
//    the same number), except [[route]] (routes have no default) and storage.path (shipped as
//    "../var/mxgate", relative to the file's directory, so that trying mxgate out needs no
//    root; see ShippedConfig in config_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace mxgate::conf {
namespace {

// One `key = value` line of a TOML text, with the table it is in ("server", "limit[2]",
// "checks.rdns.points").
struct Setting {
  std::string table;
  std::string key;
  std::string value;  // as written, without a trailing comment
  bool commented = false;
  int line = 0;
  std::string name() const { return table + "." + key; }
};

// "limit[2]" -> "limit": the table whose keys an entry of an array of tables has.
std::string kind(const std::string& table) { return table.substr(0, table.find('[')); }

// The text before a `#` that is not inside a string, without trailing blanks.
std::string without_comment(const std::string& text) {
  bool quoted = false;
  std::size_t end = text.size();
  for (std::size_t i = 0; i < text.size() && end == text.size(); ++i) {
    if (text[i] == '\\' && quoted) {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == '#' && !quoted) {
      end = i;
    }
  }
  return text.substr(0, text.find_last_not_of(' ', end - 1) + 1);
}

std::vector<Setting> settings_of(const std::string& text) {
  static const std::regex kHeader(R"(^(\[\[?)([A-Za-z0-9_.-]+)\]\]?$)");
  static const std::regex kSetting(R"(^([A-Za-z0-9_-]+) = (.+)$)");
  std::vector<Setting> out;
  std::map<std::string, int> entries;  // per array of tables, how many were opened
  std::string table;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const bool commented = line.starts_with('#');
    const std::string body =
        commented ? line.substr(std::min(line.find_first_not_of("# "), line.size())) : line;
    std::smatch m;
    if (std::regex_match(body, m, kHeader)) {
      table = m[2];
      if (m[1] == "[[") table += "[" + std::to_string(entries[table]++) + "]";
    } else if (std::regex_match(body, m, kSetting)) {
      out.push_back({table, m[1], without_comment(m[2]), commented, number});
    }
  }
  return out;
}

std::string shipped_text() {
  std::ifstream in(MXGATE_SOURCE_DIR "/conf/mxgate.toml", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every key of every table, as "table.key" ("limit.rate"): describe() of the defaults plus one
// [[route]], one [[dnsbl]], one [[milter]] and one [[tls.certificates]], so that every table
// has an entry.
std::set<std::string> known_keys() {
  Config config;
  config.routes.push_back({{"example.com"}, {{"127.0.0.1", 2526}}, false});
  config.dnsbls.push_back({.zone = "bl.example"});
  config.milters.push_back({.name = "rspamd", .address = "inet:127.0.0.1:11332"});
  config.tls.certificates.push_back({"/etc/mxgate/ec.pem", "/etc/mxgate/ec.key", {"mx.example"}});
  std::set<std::string> keys;
  for (const auto& s : settings_of(describe(config))) keys.insert(kind(s.table) + "." + s.key);
  return keys;
}

bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double x = 0;
  double y = 0;
  auto [end_a, error_a] = std::from_chars(a.data(), a.data() + a.size(), x);
  auto [end_b, error_b] = std::from_chars(b.data(), b.data() + b.size(), y);
  return error_a == std::errc{} && end_a == a.data() + a.size() && error_b == std::errc{} &&
         end_b == b.data() + b.size() && x == y;
}

TEST(MxgateToml, DocumentsEveryKeyOfTheTables) {
  std::set<std::string> documented;
  for (const auto& s : settings_of(shipped_text())) documented.insert(kind(s.table) + "." + s.key);
  for (const auto& key : known_keys()) {
    EXPECT_TRUE(documented.contains(key)) << key << " is not in conf/mxgate.toml";
  }
}

TEST(MxgateToml, NamesNoKeyTheTablesDoNotHave) {
  const std::set<std::string> known = known_keys();
  for (const auto& s : settings_of(shipped_text())) {
    EXPECT_TRUE(known.contains(kind(s.table) + "." + s.key))
        << "conf/mxgate.toml:" << s.line << ": " << s.name() << " is not a key mxgate has";
  }
}

TEST(MxgateToml, SetsTheDefaults) {
  std::map<std::string, std::string> defaults;
  for (const auto& s : settings_of(describe(Config{}))) defaults[s.name()] = s.value;
  int checked = 0;
  for (const auto& s : settings_of(shipped_text())) {
    if (s.commented || kind(s.table) == "route" || s.name() == "storage.path") continue;
    auto it = defaults.find(s.name());
    if (it == defaults.end()) {
      ADD_FAILURE() << "conf/mxgate.toml:" << s.line << ": " << s.name() << " has no default";
      continue;
    }
    EXPECT_TRUE(same_value(s.value, it->second))
        << "conf/mxgate.toml:" << s.line << ": " << s.name() << " = " << s.value
        << ", but the default is " << it->second;
    ++checked;
  }
  EXPECT_GT(checked, 100);  // the parser found the settings
}

TEST(MxgateToml, ParserReadsTablesCommentsAndArrays) {
  const auto settings = settings_of(
      "a = 1\n[t]\nb = \"x # y\"  # note\n# c = [1, 2]\n#   [[e]]\n#   d = true\n[[e]]\nd = 2\n"
      "# Defaults: f = 3\n");
  ASSERT_EQ(settings.size(), 5u);
  EXPECT_EQ(settings[0].name(), ".a");
  EXPECT_EQ(settings[1].name(), "t.b");
  EXPECT_EQ(settings[1].value, "\"x # y\"");
  EXPECT_EQ(settings[2].name(), "t.c");
  EXPECT_TRUE(settings[2].commented);
  EXPECT_EQ(settings[3].name(), "e[0].d");
  EXPECT_EQ(settings[4].name(), "e[1].d");
  EXPECT_FALSE(settings[4].commented);
  EXPECT_TRUE(same_value("2.0", "2"));
  EXPECT_FALSE(same_value("\"2\"", "2"));
}

}  // namespace
}  // namespace mxgate::conf
