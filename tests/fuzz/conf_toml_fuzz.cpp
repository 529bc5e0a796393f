// libFuzzer target of configuration loading (conf/config.hpp: toml++ and the field tables of
// conf/fields.hpp). The input is a configuration file's text; its leading lines of the form
// "#-o key=value" (TOML comments) are also given as -o overrides, as on the command line.
// Failure is a ConfigError, the loader's one documented exception; anything else escaping is a
// finding (libFuzzer reports it). Checked: an error names the file or the option and a line
// within the file; a loaded configuration, written by describe() and loaded again, is the same
// configuration (describe()'s promise).
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace conf = mxgate::conf;
using mxgate::fuzz::check;

constexpr std::string_view kOverride = "#-o ";
constexpr std::size_t kMaxOverrides = 4;

// A directory of its own under TMPDIR for the files written, removed at exit.
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "mxgate-fuzz-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr);
    return std::filesystem::path(pattern);
  }();
  static const int cleanup = std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  (void)cleanup;
  return dir;
}

std::filesystem::path write(const std::string& name, std::string_view text) {
  const auto path = scratch() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  check(out.good());
  return path;
}

std::vector<std::string> overrides_of(std::string_view text) {
  std::vector<std::string> out;
  while (text.starts_with(kOverride) && out.size() < kMaxOverrides) {
    const std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(kOverride.size(), nl - kOverride.size()));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = mxgate::fuzz::text(data, size);
  const auto path = write("mxgate.toml", text);
  const auto overrides = overrides_of(text);
  conf::Config config;
  try {
    config = conf::load_config(path, overrides);
  } catch (const conf::ConfigError& e) {
    check(std::string_view(e.what()).size() > 0);
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    check(e.line() <= lines + 1);
    check(e.file().starts_with("-o ") || e.file() == path.string() || e.line() == 0);
    return 0;
  }
  const std::string described = conf::describe(config);
  const auto again_path = write("described.toml", described);
  conf::Config again;
  try {
    again = conf::load_config(again_path);
  } catch (const conf::ConfigError&) {
    check(false);  // describe() wrote what the loader refuses
  }
  again.source = config.source;
  check(again == config);
  return 0;
}
