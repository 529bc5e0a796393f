#include "common/log.hpp"

#include <gtest/gtest.h>

namespace mxgate::common {
namespace {

TEST(Escape, KeepsPlainText) { EXPECT_EQ(escape("mx.example.com"), "mx.example.com"); }

TEST(Escape, QuotesSpacesAndEquals) {
  EXPECT_EQ(escape("a b"), "\"a b\"");
  EXPECT_EQ(escape("k=v"), "\"k=v\"");
  EXPECT_EQ(escape(""), "\"\"");
}

TEST(Escape, HexEncodesControlAndNonAscii) {
  EXPECT_EQ(escape("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(escape("\xc3\xa9"), "\\xc3\\xa9");
}

TEST(Escape, EscapesQuotesAndBackslashes) { EXPECT_EQ(escape("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\""); }

TEST(AppendKv, AppendsEscapedPair) {
  std::string line = "session";
  append_kv(line, "helo", "evil\nline");
  EXPECT_EQ(line, "session helo=evil\\x0aline");
}

}  // namespace
}  // namespace mxgate::common
