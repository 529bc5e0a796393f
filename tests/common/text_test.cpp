// Text helpers: ASCII lower case; percent-decoding of paths and forms, broken escapes refused;
// form fields in order, the first of a name; encoding round-trips.
#include "common/text.hpp"

#include <gtest/gtest.h>

namespace mxgate::common {
namespace {

TEST(Text, LowerCaseAscii) { EXPECT_EQ(ascii_lower("MiXed.Example-1"), "mixed.example-1"); }

TEST(Text, PercentDecodingAndForms) {
  EXPECT_EQ(percent_decode("192.0.2.0%2F24", false), "192.0.2.0/24");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b%21", true), "a b!");
  for (const char* broken : {"%", "%2", "%zz", "a%g1"}) {
    EXPECT_FALSE(percent_decode(broken, true)) << broken;
  }
  const auto fields = parse_form("a=1&&b=x%20y&flag&a=2");
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields, (FormFields{{"a", "1"}, {"b", "x y"}, {"flag", ""}, {"a", "2"}}));
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_EQ(form_value("a=1&ip=192.0.2.7&a=2", "ip"), "192.0.2.7");
  EXPECT_EQ(form_value("a=1&a=2", "a"), "1");
  EXPECT_FALSE(form_value("a=1", "ip"));
  const std::string text = "note: a&b=c d/é";
  EXPECT_EQ(percent_decode(form_encode(text), true), text);
  EXPECT_EQ(form_encode("a-b.c_d~e f"), "a-b.c_d~e%20f");
}

}  // namespace
}  // namespace mxgate::common
