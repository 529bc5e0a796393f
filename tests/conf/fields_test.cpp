// conf/fields.hpp: the loader and describe() go through the same field tables, so for every
// table describe() writes, the keys the loader knows there (listed by its "unknown key" error)
// are the keys describe() wrote, in the same order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "conf/config.hpp"

namespace mxgate::conf {
namespace {

// A configuration file of its own, removed afterwards.
class TempFile {
 public:
  TempFile() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mxgate-fields-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Writes `text` to the file; its path.
  std::string write(const std::string& text) const {
    const auto path = dir_ / "mxgate.toml";
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  // Loads `text`: the ConfigError's message, or "" when it loads.
  std::string error_of(const std::string& text) const {
    try {
      load_config(write(text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

 private:
  std::filesystem::path dir_;
};

TEST(Fields, TheLoaderKnowsTheKeysDescribeWritesInTheirOrder) {
  Config config;
  config.routes.push_back({{"example.com"}, {{"127.0.0.1", 2526}}, false});
  config.dnsbls.push_back({.zone = "bl.example"});
  config.milters.push_back({.name = "rspamd", .address = "inet:127.0.0.1:11332"});
  const std::string text = describe(config);
  std::vector<std::pair<std::string, std::vector<std::string>>> tables;  // header, keys
  std::set<std::string> sub_tables;  // "model", "points": written as sections of their own
  sub_tables.insert("certificates");  // [[tls.certificates]]: its entries need readable files
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with('[')) {
      tables.push_back({line, {}});
      const std::string name = line.substr(1, line.find(']') - 1);
      if (name.find('.') != std::string::npos) sub_tables.insert(name.substr(name.rfind('.') + 1));
    } else if (auto equals = line.find(" = "); equals != std::string::npos && !tables.empty()) {
      tables.back().second.push_back(line.substr(0, equals));
    }
  }
  ASSERT_GT(tables.size(), 20u);
  TempFile file;
  std::set<std::string> seen;
  for (const auto& [header, keys] : tables) {
    if (!seen.insert(header).second) continue;  // only the first entry of an array of tables
    std::string edited = text;
    edited.insert(edited.find("\n" + header + "\n") + header.size() + 2, "zzz_unknown = 1\n");
    const std::string error = file.error_of(edited);
    const std::size_t list = error.find(" are: ");
    ASSERT_NE(list, std::string::npos) << header << ": " << error;
    std::vector<std::string> read;
    std::istringstream names(error.substr(list + 6));
    for (std::string name; std::getline(names >> std::ws, name, ',');) {
      // A key named like another section's sub-table ([log] format, [checks.format]) stays.
      const bool written = std::find(keys.begin(), keys.end(), name) != keys.end();
      if (written || !sub_tables.contains(name)) read.push_back(name);
    }
    EXPECT_EQ(read, keys) << header;
  }
}

TEST(Fields, TheDefaultsDescribedLoadBackUnchanged) {
  Config config;
  config.routes.push_back({{"example.com"}, {{"127.0.0.1", 2526}}, false});
  config.server.hostname = config.relay.helo_name = config.auth.authserv_id = "mx.example.net";
  config.queue.path = "/var/lib/mxgate/queue";  // load_config() fills these in
  config.fleet.node_name = config.dmarc_reports.org_name = "mx.example.net";
  config.dmarc_reports.from = "noreply-dmarc@mx.example.net";
  TempFile file;
  Config loaded = load_config(file.write(describe(config)));
  loaded.source = config.source;
  EXPECT_EQ(loaded, config) << describe(config);
}

}  // namespace
}  // namespace mxgate::conf
