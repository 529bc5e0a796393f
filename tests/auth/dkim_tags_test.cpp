// DKIM tag lists (RFC 6376 §3.2), base64 (RFC 4648 §4) and the small text helpers the DKIM
// parsers share.
#include "auth/dkim_tags.hpp"

#include <gtest/gtest.h>

namespace mxgate::auth {
namespace {

TEST(DkimTags, ParsesTagsAroundFoldingWhiteSpace) {
  const TagListResult r = parse_tag_list(" v=1;\r\n\ta = rsa-sha256 ;d=\texample.org\r\n ;");
  ASSERT_TRUE(r.list) << r.error;
  ASSERT_EQ(r.list->tags.size(), 3u);
  EXPECT_EQ(r.list->tags[0].name, "v");
  EXPECT_EQ(*r.list->find("a"), "rsa-sha256");
  EXPECT_EQ(*r.list->find("d"), "example.org");
  EXPECT_EQ(r.list->find("s"), nullptr);
}

TEST(DkimTags, ValueKeepsItsInnerWhiteSpace) {
  const TagListResult r = parse_tag_list("h=from : to;b=abc\r\n def ");
  ASSERT_TRUE(r.list) << r.error;
  EXPECT_EQ(*r.list->find("h"), "from : to");
  EXPECT_EQ(*r.list->find("b"), "abc\r\n def");
}

TEST(DkimTags, EmptyValuesAndEmptySpecsAreAccepted) {
  const TagListResult r = parse_tag_list("p=; ;; t=y;  ");
  ASSERT_TRUE(r.list) << r.error;
  ASSERT_EQ(r.list->tags.size(), 2u);
  EXPECT_EQ(*r.list->find("p"), "");
  EXPECT_TRUE(parse_tag_list("").list);
}

TEST(DkimTags, NamesAreCaseSensitive) {
  const TagListResult r = parse_tag_list("v=1; V=2");
  ASSERT_TRUE(r.list) << r.error;
  EXPECT_EQ(*r.list->find("v"), "1");
  EXPECT_EQ(*r.list->find("V"), "2");
}

TEST(DkimTags, DuplicateTagInvalidatesTheList) {
  const TagListResult r = parse_tag_list("d=a.example; s=x; d=b.example");
  EXPECT_FALSE(r.list);
  EXPECT_EQ(r.error, "tag \"d\" appears twice");
}

TEST(DkimTags, MalformedListsGiveAReason) {
  const struct {
    std::string_view text;
    std::string_view error;
  } cases[] = {
      {"v", "tag without \"=\""},
      {"v=1; d", "tag without \"=\""},
      {"=1", "malformed tag name"},
      {"1v=1", "malformed tag name"},
      {"_v=1", "malformed tag name"},
      {"a b=1", "malformed tag name"},
      {"a-b=1", "malformed tag name"},
      {"v=1\x01", "control character in tag \"v\""},
      {std::string_view("v=1\0", 4), "control character in tag \"v\""},
      {"v=\x7f", "control character in tag \"v\""},
  };
  for (const auto& c : cases) {
    const TagListResult r = parse_tag_list(c.text);
    EXPECT_FALSE(r.list) << c.text;
    EXPECT_EQ(r.error, c.error) << c.text;
  }
}

TEST(DkimTags, EightBitOctetsAndPunctuationAreValues) {
  const TagListResult r = parse_tag_list("n=caf\xc3\xa9 !\"#$%&'()*+,-./:<=>?@[\\]^_`{|}~");
  ASSERT_TRUE(r.list) << r.error;
  EXPECT_EQ(*r.list->find("n"), "caf\xc3\xa9 !\"#$%&'()*+,-./:<=>?@[\\]^_`{|}~");
}

TEST(DkimTags, DecodesBase64IgnoringFoldingWhiteSpace) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVs\r\n bG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello");  // padding is optional
  EXPECT_EQ(decode_base64("aGk="), "hi");
  EXPECT_EQ(decode_base64("aA=="), "h");
  EXPECT_EQ(decode_base64("aA= ="), "h");
  EXPECT_EQ(decode_base64("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(decode_base64(""), "");
}

TEST(DkimTags, EncodesBase64WithPaddingAndDecodesItBack) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("h"), "aA==");
  EXPECT_EQ(encode_base64("hi"), "aGk=");
  EXPECT_EQ(encode_base64("hello"), "aGVsbG8=");
  EXPECT_EQ(encode_base64("\xfb\xff\xbf"), "+/+/");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(decode_base64(encode_base64(all)), all);
}

TEST(DkimTags, RefusesWhatIsNotBase64) {
  for (std::string_view text :
       {"aGVsbG8*", "aGV=sbG8", "a", "aGVsb", "aA===", "aGk==", "aGVsbG8=x", "-_-_"}) {
    EXPECT_FALSE(decode_base64(text)) << text;
  }
}

TEST(DkimTags, SplitsColonListsTrimmingWhiteSpace) {
  EXPECT_EQ(split_colon_list("from : to:\r\n subject"),
            (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(split_colon_list("y"), (std::vector<std::string>{"y"}));
  EXPECT_EQ(split_colon_list(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split_colon_list("a::b"), (std::vector<std::string>{"a", "", "b"}));
}

TEST(DkimTags, TextHelpers) {
  EXPECT_EQ(remove_fws(" a\tb\r\nc "), "abc");
  EXPECT_EQ(tag_lower("From-X"), "from-x");
  EXPECT_TRUE(tag_iequals("DKIM-Signature", "dkim-signature"));
  EXPECT_FALSE(tag_iequals("from", "from "));
}

}  // namespace
}  // namespace mxgate::auth
