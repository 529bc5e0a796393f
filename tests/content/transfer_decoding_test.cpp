#include "content/transfer_decoding.hpp"

#include <gtest/gtest.h>

#include <string>

#include "content/charset.hpp"
#include "content/message_parser.hpp"

namespace mxgate::content {
namespace {

std::string base64_in_pieces(std::string_view in, std::size_t piece, bool* ok) {
  Base64Decoder d;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += piece) d.decode(in.substr(i, piece), out);
  *ok = d.finish(out);
  return out;
}

TEST(Base64, DecodesAcrossEveryChunkSize) {
  const std::string encoded = "SGVsbG8s\r\nIHdvcmxk IQ==";  // "Hello, world!"
  for (std::size_t piece = 1; piece <= encoded.size(); ++piece) {
    bool ok = false;
    EXPECT_EQ(base64_in_pieces(encoded, piece, &ok), "Hello, world!") << piece;
    EXPECT_TRUE(ok) << piece;
  }
}

TEST(Base64, Padding) {
  bool ok = false;
  EXPECT_EQ(base64_in_pieces("YQ==", 4, &ok), "a");
  EXPECT_TRUE(ok);
  EXPECT_EQ(base64_in_pieces("YWI=", 1, &ok), "ab");
  EXPECT_TRUE(ok);
  EXPECT_EQ(base64_in_pieces("YQ==YWI=", 3, &ok), "aab");  // concatenated runs
  EXPECT_TRUE(ok);
  EXPECT_EQ(base64_in_pieces("YWI", 2, &ok), "ab");  // unpadded end
  EXPECT_TRUE(ok);
}

TEST(Base64, Failures) {
  for (const std::string_view bad :
       {"YW*I", "Y", "YWJjZ", "=YWI", "Y=WI", "YQ=Y", "YQ=", "YQ==="}) {
    bool ok = true;
    base64_in_pieces(bad, 1, &ok);
    EXPECT_FALSE(ok) << bad;
  }
}

TEST(QuotedPrintable, Lines) {
  std::string out;
  EXPECT_FALSE(decode_qp_line("caf=C3=A9 =3D ok  \t", out));
  EXPECT_EQ(out, "caf\xc3\xa9 = ok");
  out.clear();
  EXPECT_TRUE(decode_qp_line("soft=", out));
  EXPECT_EQ(out, "soft");
  out.clear();
  EXPECT_TRUE(decode_qp_line("padded= \t", out));
  EXPECT_EQ(out, "padded");
  out.clear();
  EXPECT_FALSE(decode_qp_line("bad =ZZ =4 =e9", out));
  EXPECT_EQ(out, "bad =ZZ =4 \xe9");
}

TEST(TransferEncoding, Names) {
  EXPECT_EQ(transfer_encoding_from_value(""), TransferEncoding::SevenBit);
  EXPECT_EQ(transfer_encoding_from_value(" BASE64 (comment)"), TransferEncoding::Base64);
  EXPECT_EQ(transfer_encoding_from_value("Quoted-Printable"), TransferEncoding::QuotedPrintable);
  EXPECT_EQ(transfer_encoding_from_value("8BIT"), TransferEncoding::EightBit);
  EXPECT_EQ(transfer_encoding_from_value("binary"), TransferEncoding::Binary);
  EXPECT_EQ(transfer_encoding_from_value("x-uuencode"), TransferEncoding::Unknown);
}

TEST(Charset, ToUtf8) {
  std::string out;
  EXPECT_TRUE(append_utf8(Charset::Latin1, "caf\xe9 \xa0", out));
  EXPECT_EQ(out, "caf\xc3\xa9 \xc2\xa0");
  out.clear();
  EXPECT_TRUE(append_utf8(Charset::Windows1252, "\x93q\x94 \x80", out));
  EXPECT_EQ(out, "\xe2\x80\x9cq\xe2\x80\x9d \xe2\x82\xac");
  out.clear();
  EXPECT_FALSE(append_utf8(Charset::Utf8, "ok \xc3\xa9 bad \xc3(", out));
  EXPECT_EQ(out, "ok \xc3\xa9 bad \xef\xbf\xbd(");
  out.clear();
  EXPECT_FALSE(append_utf8(Charset::Ascii, "a\xe9", out));
  EXPECT_EQ(out, "a\xef\xbf\xbd");
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_EQ(charset_from_name("ISO-8859-1"), Charset::Latin1);
  EXPECT_EQ(charset_from_name("Windows-1252"), Charset::Windows1252);
  EXPECT_EQ(charset_from_name("koi8-r"), Charset::Other);
  EXPECT_EQ(charset_from_name(""), Charset::Ascii);
}

TEST(EncodedWords, Decoding) {
  EXPECT_EQ(decode_header_value("=?UTF-8?B?Y2Fmw6k=?="), "caf\xc3\xa9");
  EXPECT_EQ(decode_header_value("=?iso-8859-1?q?caf=E9_au_lait?="), "caf\xc3\xa9 au lait");
  EXPECT_EQ(decode_header_value("=?US-ASCII?Q?a_?= =?US-ASCII?Q?b?=  tail"), "a b  tail");
  EXPECT_EQ(decode_header_value("x =?utf-8?q?a?=\r\n =?utf-8?q?b?= y"), "x ab y");
  EXPECT_EQ(decode_header_value("=?utf-8*en?Q?hi?="), "hi");
  EXPECT_EQ(decode_header_value("=?koi8-r?B?8NLJ18XU?= kept"), "=?koi8-r?B?8NLJ18XU?= kept");
  EXPECT_EQ(decode_header_value("=?utf-8?B?bad*?= =?utf-8?X?y?="),
            "=?utf-8?B?bad*?= =?utf-8?X?y?=");
  EXPECT_EQ(decode_header_value("plain = ? text =?"), "plain = ? text =?");
  EXPECT_EQ(decode_header_value("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
}

}  // namespace
}  // namespace mxgate::content
