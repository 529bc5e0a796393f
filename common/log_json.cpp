#include "common/log_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

namespace mxgate::common {

namespace {

// Integer digits above this may be ids (16 hexadecimal digits) or lose precision in a double.
constexpr std::size_t kMaxIntegerDigits = 15;
constexpr std::size_t kMaxFractionDigits = 9;

struct Field {
  std::string key;
  std::string value;  // decoded bytes
  bool quoted = false;
  bool number = false;
};

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool digits(std::string_view text, std::size_t min, std::size_t max) {
  return text.size() >= min && text.size() <= max &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)? within the digit bounds: a JSON number with the same meaning.
bool plain_number(std::string_view text) {
  if (text.starts_with('-')) text.remove_prefix(1);
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (!digits(whole, 1, kMaxIntegerDigits) || (whole.size() > 1 && whole[0] == '0')) return false;
  return dot == std::string_view::npos || digits(text.substr(dot + 1), 1, kMaxFractionDigits);
}

// escape()'s \xNN at `i` (the backslash): appends the byte and returns true.
bool decode_hex(std::string_view line, std::size_t i, std::string& out) {
  if (i + 3 >= line.size() || line[i + 1] != 'x') return false;
  const int high = hex_digit(line[i + 2]), low = hex_digit(line[i + 3]);
  if (high < 0 || low < 0) return false;
  out.push_back(static_cast<char>(high * 16 + low));
  return true;
}

// A quoted value from just after its opening quote; it ends at a quote followed by a space or
// the end of the line (a stray quote inside stays part of it).
std::size_t read_quoted(std::string_view line, std::size_t i, std::string& out) {
  while (i < line.size()) {
    const char c = line[i];
    if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
      out.push_back(line[i + 1]);
      i += 2;
    } else if (c == '\\' && decode_hex(line, i, out)) {
      i += 4;
    } else if (c == '"' && (i + 1 == line.size() || line[i + 1] == ' ')) {
      return i + 1;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return i;
}

std::size_t read_word(std::string_view line, std::size_t i, std::string& out) {
  while (i < line.size() && line[i] != ' ') {
    if (line[i] == '\\' && decode_hex(line, i, out)) {
      i += 4;
    } else {
      out.push_back(line[i++]);
    }
  }
  return i;
}

// The length of the valid UTF-8 sequence starting at text[i] (a byte >= 0x80), 0 if none
// (RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i + k < text.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return cont(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned lo = lead == 0xE0 ? 0xA0 : 0x80, hi = lead == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned lo = lead == 0xF0 ? 0x90 : 0x80, hi = lead == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

struct Parsed {
  std::string event;
  std::string msg;  // the words that are not key=value
  std::vector<Field> fields;
};

// A word that is not key=value: part of the unquoted value before it, or of "msg".
void add_loose_word(Parsed& parsed, std::string word) {
  if (!parsed.fields.empty() && !parsed.fields.back().quoted) {
    Field& last = parsed.fields.back();
    last.value += ' ' + word;
    last.number = false;
    return;
  }
  if (!parsed.msg.empty()) parsed.msg.push_back(' ');
  parsed.msg += word;
}

Parsed parse_line(std::string_view line) {
  Parsed parsed;
  std::size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < line.size() && line[i] == ' ') ++i;
  };
  skip_spaces();
  const std::size_t first_end = std::min(line.find(' ', i), line.size());
  if (line.substr(i, first_end - i).find('=') == std::string_view::npos) {
    parsed.event.assign(line.substr(i, first_end - i));
    i = first_end;
  }
  for (skip_spaces(); i < line.size(); skip_spaces()) {
    std::size_t k = i;
    while (k < line.size() && key_char(line[k])) ++k;
    if (k == i || k == line.size() || line[k] != '=') {
      std::string word;
      i = read_word(line, i, word);
      add_loose_word(parsed, std::move(word));
      continue;
    }
    Field field{std::string(line.substr(i, k - i)), {}, false, false};
    i = k + 1;
    if (i < line.size() && line[i] == '"') {
      field.quoted = true;
      i = read_quoted(line, i + 1, field.value);
    } else {
      const std::size_t start = i;
      i = read_word(line, i, field.value);
      field.number = plain_number(line.substr(start, i - start));
    }
    parsed.fields.push_back(std::move(field));
  }
  return parsed;
}

std::string unique_key(const std::string& key, std::vector<std::string>& used) {
  std::string name = key;
  for (int n = 2; std::find(used.begin(), used.end(), name) != used.end(); ++n) {
    name = fmt::format("{}_{}", key, n);
  }
  used.push_back(name);
  return name;
}

void append_member(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
  append_json_string(out, value);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (const std::size_t n = utf8_length(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    } else {
      out += fmt::format("\\\\x{:02x}", c);  // as the text log writes it
    }
    ++i;
  }
  out.push_back('"');
}

std::string line_to_json(std::string_view timestamp, std::string_view level,
                         std::string_view line) {
  const Parsed parsed = parse_line(line);
  std::string out = "{\"timestamp\":";
  append_json_string(out, timestamp);
  append_member(out, "level", level);
  append_member(out, "event", parsed.event);
  std::vector<std::string> used = {"timestamp", "level", "event"};
  if (!parsed.msg.empty()) append_member(out, unique_key("msg", used), parsed.msg);
  for (const Field& field : parsed.fields) {
    const std::string key = unique_key(field.key, used);
    if (!field.number) {
      append_member(out, key, field.value);
      continue;
    }
    out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    out += field.value;
  }
  out.push_back('}');
  return out;
}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using namespace std::chrono;
  const std::time_t seconds = system_clock::to_time_t(msg.time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  const auto micros = duration_cast<microseconds>(msg.time.time_since_epoch()).count() % 1000000;
  const std::string timestamp =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  const auto level = spdlog::level::to_string_view(msg.level);
  std::string json = line_to_json(timestamp, std::string_view(level.data(), level.size()),
                                  std::string_view(msg.payload.data(), msg.payload.size()));
  json.push_back('\n');
  dest.append(json.data(), json.data() + json.size());
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>();
}

}  // namespace mxgate::common
