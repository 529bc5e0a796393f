// unclosed_bracket(): where the array or inline table that a TOML parse error stopped in was
// opened. toml++ reports an unclosed '[' where it noticed, at the next key, which may be many
// comment lines further down; the operator's mistake is on the line that opened it. Pure.
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/detail.hpp"

namespace mxgate::conf::detail {
namespace {

// Skips a string that starts at text[i] (a quote), with its closing quote; returns the index
// after it and counts the newlines of a multi-line string into `line` (and `line_start`).
std::size_t skip_string(std::string_view text, std::size_t i, std::uint32_t& line,
                        std::size_t& line_start) {
  const char quote = text[i];
  const bool multi = text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''");
  std::size_t j = i + (multi ? 3 : 1);
  while (j < text.size()) {
    if (quote == '"' && text[j] == '\\') {
      if (j + 1 < text.size() && text[j + 1] == '\n') {
        ++line;
        line_start = j + 2;
      }
      j += 2;
      continue;
    }
    if (text[j] == '\n') {
      if (!multi) return j;  // an unterminated one-line string: the newline ends it
      ++line;
      line_start = j + 1;
    }
    if (text[j] == quote && (!multi || text.substr(j, 3) == text.substr(i, 3))) {
      return j + (multi ? 3 : 1);
    }
    ++j;
  }
  return j;
}

}  // namespace

std::optional<std::uint32_t> unclosed_bracket(std::string_view text, std::uint32_t line,
                                              std::uint32_t column, char open) {
  std::vector<std::pair<char, std::uint32_t>> opened;  // bracket, line
  std::uint32_t at_line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto at_column = static_cast<std::uint32_t>(i - line_start + 1);
    if (at_line > line || (at_line == line && at_column >= column)) break;
    const char c = text[i];
    if (c == '"' || c == '\'') {
      i = skip_string(text, i, at_line, line_start);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '\n') {
      ++at_line;
      line_start = i + 1;
    } else if (c == '[' || c == '{') {
      opened.emplace_back(c, at_line);
    } else if ((c == ']' || c == '}') && !opened.empty()) {
      opened.pop_back();
    }
    ++i;
  }
  for (auto it = opened.rbegin(); it != opened.rend(); ++it) {
    if (it->first == open) return it->second;
  }
  return std::nullopt;
}

}  // namespace mxgate::conf::detail
