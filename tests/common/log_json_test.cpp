#include "common/log_json.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/log.hpp"

namespace mxgate::common {
namespace {

// A strict reader of what line_to_json() writes (an object of strings and numbers, RFC 8259):
// nullopt for anything that is not valid JSON, so that every test also checks validity.
struct Value {
  std::string text;  // a string's decoded bytes, or a number as written
  bool number = false;
};
using Object = std::vector<std::pair<std::string, Value>>;

class StrictReader {
 public:
  explicit StrictReader(std::string_view text) : text_(text) {}

  std::optional<Object> object() {
    Object out;
    if (!take('{')) return std::nullopt;
    if (take('}')) return at_end() ? std::optional(out) : std::nullopt;
    do {
      auto key = string();
      if (!key || !take(':')) return std::nullopt;
      auto value = peek() == '"' ? string() : number();
      if (!value) return std::nullopt;
      out.emplace_back(*key, Value{*value, peek_was_number_});
    } while (take(','));
    if (!take('}') || !at_end()) return std::nullopt;
    return out;
  }

 private:
  char peek() const { return i_ < text_.size() ? text_[i_] : '\0'; }
  bool take(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool at_end() const { return i_ == text_.size(); }

  std::optional<std::string> number() {
    const std::size_t start = i_;
    take('-');
    if (!take('0')) {
      if (peek() < '1' || peek() > '9') return std::nullopt;
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    if (take('.')) {
      if (peek() < '0' || peek() > '9') return std::nullopt;
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    peek_was_number_ = true;
    return std::string(text_.substr(start, i_ - start));
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // One raw UTF-8 character, decoded to its code point to check its form.
  bool utf8(std::string& out) {
    const auto b = [&](std::size_t k) {
      return i_ + k < text_.size() ? static_cast<unsigned char>(text_[i_ + k]) : 0u;
    };
    const unsigned lead = b(0);
    const std::size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (n == 0 || lead > 0xF4) return false;
    unsigned cp = lead & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      if ((b(k) & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b(k) & 0x3F);
    }
    const unsigned min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out.append(text_.substr(i_, n));
    i_ += n;
    return true;
  }

  std::optional<std::string> string() {
    peek_was_number_ = false;
    if (!take('"')) return std::nullopt;
    std::string out;
    for (;;) {
      const auto c = static_cast<unsigned char>(peek());
      if (at_end() || c < 0x20) return std::nullopt;
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c >= 0x80) {
        if (!utf8(out)) return std::nullopt;
        continue;
      }
      ++i_;
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      const char e = peek();
      ++i_;
      if (e == '"' || e == '\\' || e == '/') {
        out.push_back(e);
      } else if (e == 'n') {
        out.push_back('\n');
      } else if (e == 't') {
        out.push_back('\t');
      } else if (e == 'r') {
        out.push_back('\r');
      } else if (e == 'u' && i_ + 4 <= text_.size()) {
        const unsigned cp = std::stoul(std::string(text_.substr(i_, 4)), nullptr, 16);
        if (cp >= 0xD800 && cp <= 0xDFFF) return std::nullopt;  // never written
        put_utf8(out, cp);
        i_ += 4;
      } else {
        return std::nullopt;
      }
    }
  }

  std::string_view text_;
  std::size_t i_ = 0;
  bool peek_was_number_ = false;
};

std::optional<Object> read(const std::string& json) { return StrictReader(json).object(); }

const Value* field(const Object& object, std::string_view key) {
  for (const auto& [k, v] : object) {
    if (k == key) return &v;
  }
  return nullptr;
}

// The line a call site writes, back as JSON.
Object round_trip(const std::string& line) {
  const std::string json = line_to_json("2026-12-07T11:39:34.123456Z", "info", line);
  auto object = read(json);
  EXPECT_TRUE(object.has_value()) << "not valid JSON: " << json;
  return object.value_or(Object{});
}

TEST(LineToJson, WritesTimestampLevelEventAndFields) {
  const auto object = round_trip("delivery id=0A1B to=<bob@example.com> status=sent");
  ASSERT_EQ(object.size(), 6u);
  EXPECT_EQ(object[0].first, "timestamp");
  EXPECT_EQ(object[0].second.text, "2026-12-07T11:39:34.123456Z");
  EXPECT_EQ(object[1].second.text, "info");
  EXPECT_EQ(object[2].first, "event");
  EXPECT_EQ(object[2].second.text, "delivery");
  EXPECT_EQ(field(object, "id")->text, "0A1B");
  EXPECT_EQ(field(object, "to")->text, "<bob@example.com>");
  EXPECT_EQ(field(object, "status")->text, "sent");
}

// Odd values, as append_kv() writes them, and what the JSON field must hold.
struct OddValue {
  std::string value;
  std::string expected;
};

class OddValues : public testing::TestWithParam<OddValue> {};

TEST_P(OddValues, ParseBackToTheSameField) {
  std::string line = "event";
  append_kv(line, "before", "x");
  append_kv(line, "value", GetParam().value);
  append_kv(line, "after", "a b");
  const auto object = round_trip(line);
  ASSERT_NE(field(object, "value"), nullptr) << line;
  EXPECT_EQ(field(object, "value")->text, GetParam().expected) << line;
  EXPECT_FALSE(field(object, "value")->number);
  EXPECT_EQ(field(object, "before")->text, "x");
  EXPECT_EQ(field(object, "after")->text, "a b");
}

INSTANTIATE_TEST_SUITE_P(
    LineToJson, OddValues,
    testing::Values(
        OddValue{"", ""}, OddValue{"plain", "plain"}, OddValue{"two words", "two words"},
        OddValue{"k=v", "k=v"}, OddValue{"say \"hi\"", "say \"hi\""}, OddValue{"\"", "\""},
        OddValue{"ends with \\", "ends with \\"}, OddValue{"\\\"", "\\\""},
        OddValue{"a\\x41", "a\\x41"}, OddValue{"quote\" then space", "quote\" then space"},
        OddValue{"line\r\nbreak", "line\r\nbreak"},
        OddValue{std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
        OddValue{"tab\tdel\x7f", "tab\tdel\x7f"},
        OddValue{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"},
        OddValue{"latin1 caf\xe9", "latin1 caf\\xe9"}, OddValue{"cut \xe2\x82", "cut \\xe2\\x82"},
        OddValue{"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
        OddValue{"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"}));

TEST(LineToJson, EveryByteGivesValidJson) {
  for (int b = 0; b < 256; ++b) {
    std::string line = "event";
    const std::string value(1, static_cast<char>(b));
    append_kv(line, "value", value);
    const auto object = round_trip(line);
    ASSERT_NE(field(object, "value"), nullptr) << b;
    if (b < 0x80) {
      EXPECT_EQ(field(object, "value")->text, value) << b;
    }
  }
}

TEST(LineToJson, RandomBytesGiveValidJson) {
  std::mt19937 random(20);
  for (int round = 0; round < 2000; ++round) {
    std::string value(random() % 12, '\0');
    for (char& c : value) c = static_cast<char>(random() % 256);
    std::string line = "event";
    append_kv(line, "value", value);
    append_kv(line, "next", "n");
    const auto object = round_trip(line);
    ASSERT_NE(field(object, "next"), nullptr) << line;
    EXPECT_EQ(field(object, "next")->text, "n") << line;
  }
}

TEST(LineToJson, UnquotedNumbersAreNumbers) {
  const auto object =
      round_trip("delivery delay=0.125 port=25 neg=-3 id=6935201500000012 zip=007 v=1.2.3 dot=1.");
  EXPECT_TRUE(field(object, "delay")->number);
  EXPECT_EQ(field(object, "delay")->text, "0.125");
  EXPECT_TRUE(field(object, "port")->number);
  EXPECT_TRUE(field(object, "neg")->number);
  for (const char* text : {"id", "zip", "v", "dot"}) {
    EXPECT_FALSE(field(object, text)->number) << text;
  }
  EXPECT_EQ(field(object, "id")->text, "6935201500000012");
}

TEST(LineToJson, QuotedNumbersStayStrings) {
  const auto object = round_trip("transaction size=\"12\"");
  EXPECT_FALSE(field(object, "size")->number);
  EXPECT_EQ(field(object, "size")->text, "12");
}

TEST(LineToJson, LooseWordsJoinTheUnquotedValueBefore) {
  const auto object = round_trip("relay downstream=127.0.0.1:25 error=Connection refused");
  EXPECT_EQ(field(object, "error")->text, "Connection refused");
  EXPECT_EQ(field(object, "downstream")->text, "127.0.0.1:25");
}

TEST(LineToJson, FreeTextGoesToMsg) {
  const auto object = round_trip("relay stale pooled connection replaced: eof");
  EXPECT_EQ(field(object, "event")->text, "relay");
  EXPECT_EQ(field(object, "msg")->text, "stale pooled connection replaced: eof");
  const auto bare = round_trip("stopped");
  EXPECT_EQ(field(bare, "event")->text, "stopped");
  EXPECT_EQ(bare.size(), 3u);
}

TEST(LineToJson, NoEventWhenTheLineStartsWithAField) {
  const auto object = round_trip("key=value");
  EXPECT_EQ(field(object, "event")->text, "");
  EXPECT_EQ(field(object, "key")->text, "value");
}

TEST(LineToJson, RepeatedAndReservedKeysGetASuffix) {
  const auto object = round_trip("x level=warn a=1 a=2 event=e");
  EXPECT_EQ(field(object, "level")->text, "info");
  EXPECT_EQ(field(object, "level_2")->text, "warn");
  EXPECT_EQ(field(object, "a")->text, "1");
  EXPECT_EQ(field(object, "a_2")->text, "2");
  EXPECT_EQ(field(object, "event_2")->text, "e");
}

TEST(LineToJson, BrokenLinesStillGiveValidJson) {
  for (const char* line : {"", " ", "=", "a=\"unterminated", "a=\"x\"y\" b=1", "a=\\x4", "a=\\xZZ",
                           "\"\"", "e k=\"\\", "e ==", "e k=v\"w", "e \xff=\xfe"}) {
    round_trip(line);
  }
}

}  // namespace
}  // namespace mxgate::common
