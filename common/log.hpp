// Logging facade: spdlog underneath, one key=value line per event.
// Client-supplied text must go through escape() (or KeyValue) before it is logged, so that a
// sender cannot forge log lines with CR/LF or control bytes.
// Threading: spdlog loggers are thread-safe; init_logging() is called once at start-up.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace mxgate::common {

// Sets the default logger's level ("trace".."critical", "off") and the line format: text
// ("<time> <level> <line>") or, with `json`, one JSON object per line (log_json.hpp). Called
// again on a reload. Throws std::invalid_argument on an unknown level name.
void init_logging(std::string_view level, bool json = false);

// Returns `text` safe for a key=value log line: printable ASCII stays, a value with spaces,
// quotes or '=' is quoted, and control or non-ASCII bytes become \xNN.
std::string escape(std::string_view text);

// Appends ` key=value` (value escaped) to `line`.
void append_kv(std::string& line, std::string_view key, std::string_view value);

}  // namespace mxgate::common
