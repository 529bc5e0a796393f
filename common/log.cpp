#include "common/log.hpp"

#include <fmt/format.h>

#include <memory>
#include <stdexcept>

#include "common/log_json.hpp"

namespace mxgate::common {

void init_logging(std::string_view level, bool json) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument(fmt::format("unknown log level '{}'", level));
  }
  spdlog::set_level(parsed);
  if (json) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
}

std::string escape(std::string_view text) {
  bool quote = text.empty();
  std::string out;
  out.reserve(text.size() + 2);
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      quote = true;
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      if (c == ' ' || c == '=') quote = true;
      out.push_back(static_cast<char>(c));
    }
  }
  if (quote) return "\"" + out + "\"";
  return out;
}

void append_kv(std::string& line, std::string_view key, std::string_view value) {
  line.push_back(' ');
  line.append(key);
  line.push_back('=');
  line.append(escape(value));
}

}  // namespace mxgate::common
