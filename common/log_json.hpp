// [log] format = "json": every log line as one JSON object (RFC 8259), for log shippers.
// Our lines read `event key=value key="quoted value" ...` with values made by escape() (log.hpp);
// line_to_json() reads them back: the first word is the event, each key=value a field. Values
// are JSON strings, except an unquoted one that is clearly a number (a plain decimal of at most
// 15 integer digits, so that 16-digit hexadecimal ids never become numbers). The escapes
// of escape(), \" \\ and \xNN, are decoded; the bytes that form valid UTF-8 are written as such,
// control bytes as \u00XX, and bytes that are not UTF-8 stay as the text "\xNN" (as the text log
// shows them). Words that are not key=value (a message not written in our style) go to the field
// "msg", or, after an unquoted value, stay part of it ("error=Connection refused"). A repeated key
// (or one named timestamp, level or event) gets a suffix: "key_2". Whatever the line holds, the
// output is valid JSON on one line. Pure; the formatter is used by spdlog under its sink's lock.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace mxgate::common {

// {"timestamp":..., "level":..., "event":..., fields...} without a line end.
std::string line_to_json(std::string_view timestamp, std::string_view level, std::string_view line);

// `text` as a JSON string literal with its quotes (the rules above for bytes).
void append_json_string(std::string& out, std::string_view text);

// An spdlog formatter writing line_to_json() with the UTC time ("2026-12-07T11:39:34.123456Z",
// as the text format) and spdlog's level name.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace mxgate::common
