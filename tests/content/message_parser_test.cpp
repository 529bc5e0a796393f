#include "content/message_parser.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "parse_helpers.hpp"

namespace mxgate::content {
namespace {

using testing::clean_header;
using testing::domain_names;
using testing::finding_names;
using Names = std::set<std::string>;

std::unique_ptr<MessageParser> parse(std::string_view message, ParseOptions options = {}) {
  auto parser = std::make_unique<MessageParser>(options);
  parser->feed(message);
  parser->finish();
  return parser;
}

std::string detail_of(const MessageParser& p, Finding f) {
  for (const FindingDetail& d : p.findings()) {
    if (d.finding == f) return d.detail;
  }
  return "";
}

std::string multipart(std::string_view type_line, std::string_view body) {
  return clean_header("MIME-Version: 1.0\r\n") + std::string(type_line) + "\r\n\r\n" +
         std::string(body);
}

const std::string kMultipart =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Visit http://www.shop.example.com/offer today.\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<a href=3D\"https://news.example.co.uk/a?x=3D1&amp;y=3D2\">news</a>\r\n"
    "--b1--\r\n"
    "epilogue http://epilogue.example/\r\n";

TEST(MessageParser, CleanMessageHasNoFindings) {
  const auto p = parse(clean_header() + "\r\nHello.\r\n");
  EXPECT_TRUE(p->findings().empty()) << p->findings().front().detail;
  EXPECT_TRUE(p->header_done());
  EXPECT_EQ(p->parts(), 1U);
  ASSERT_NE(p->field("subject"), nullptr);
  EXPECT_EQ(p->field("subject")->value, "hello");
  EXPECT_EQ(p->field_count("FROM"), 1U);
  EXPECT_EQ(p->header().size(), 5U);
}

TEST(MessageParser, CleanMultipartHasNoFindingsAndItsLinks) {
  const auto p = parse(clean_header() + kMultipart);
  EXPECT_TRUE(finding_names(*p).empty());
  EXPECT_EQ(p->parts(), 3U);
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"example.com", "example.co.uk"}));
}

TEST(MessageParser, HeaderIsUnfolded) {
  const auto p = parse(clean_header("X-Long: first\r\n\tsecond\r\n  third \r\n") + "\r\nbody\r\n");
  ASSERT_NE(p->field("x-long"), nullptr);
  EXPECT_EQ(p->field("x-long")->value, "first\tsecond  third");
}

struct HeaderCase {
  const char* name;
  std::string message;
  Names expected;
};

class HeaderFindings : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderFindings, EachFaultAlone) {
  const auto p = parse(GetParam().message);
  EXPECT_EQ(finding_names(*p), GetParam().expected);
  for (const FindingDetail& f : p->findings()) EXPECT_FALSE(f.detail.empty());
}

const std::string kFrom = "From: a@example.org\r\n";
const std::string kDate = "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n";
const std::string kId = "Message-ID: <1@example.org>\r\n";

INSTANTIATE_TEST_SUITE_P(
    MessageParser, HeaderFindings,
    ::testing::Values(
        HeaderCase{"date_missing", kFrom + kId + "\r\nx\r\n", {"date_missing"}},
        HeaderCase{"date_duplicate", kFrom + kDate + kDate + kId + "\r\nx\r\n", {"date_duplicate"}},
        HeaderCase{"from_missing", kDate + kId + "\r\nx\r\n", {"from_missing"}},
        HeaderCase{"from_duplicate", kFrom + kFrom + kDate + kId + "\r\nx\r\n", {"from_duplicate"}},
        HeaderCase{"message_id_missing", kFrom + kDate + "\r\nx\r\n", {"message_id_missing"}},
        HeaderCase{"header_no_colon",
                   kFrom + kDate + kId + "Garbage line\r\n\r\nx\r\n",
                   {"header_no_colon"}},
        HeaderCase{"continuation_first",
                   " folded\r\n" + kFrom + kDate + kId + "\r\nx\r\n",
                   {"header_no_colon"}},
        HeaderCase{"header_bad_name",
                   kFrom + kDate + kId + "X Bad Name: v\r\n\r\nx\r\n",
                   {"header_bad_name"}},
        HeaderCase{"empty_name", kFrom + kDate + kId + ": v\r\n\r\nx\r\n", {"header_bad_name"}},
        HeaderCase{
            "obsolete_space_before_colon", kFrom + kDate + kId + "Subject : v\r\n\r\nx\r\n", {}},
        HeaderCase{"header_8bit",
                   kFrom + kDate + kId + "Subject: caf\xc3\xa9\r\n\r\nx\r\n",
                   {"header_8bit"}},
        HeaderCase{"empty_message", "", {"date_missing", "from_missing", "message_id_missing"}},
        HeaderCase{"combined",
                   kFrom + kFrom + "Bad\x01Name: x\r\nSubject: \xff\r\nNo colon\r\n\r\nx\r\n",
                   {"from_duplicate", "header_no_colon", "header_bad_name", "header_8bit",
                    "date_missing", "message_id_missing"}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(MessageParser, EightBitHeaderAllowedWithSmtputf8) {
  ParseOptions options;
  options.smtputf8 = true;
  const auto p = parse(clean_header("X-Name: caf\xc3\xa9\r\n") + "\r\nx\r\n", options);
  EXPECT_TRUE(p->findings().empty());
}

TEST(MessageParser, LineWithoutColonStartsTheBody) {
  // As Postfix and Python's email package read it: the header ended without its empty line.
  const auto p = parse(clean_header() + "see www.first.example, not a field\r\nX-Late: 1\r\n");
  EXPECT_EQ(finding_names(*p), Names{"header_no_colon"});
  EXPECT_EQ(p->field("X-Late"), nullptr);
  EXPECT_EQ(domain_names(*p), std::vector<std::string>{"first.example"});
  const auto part =
      parse(multipart("Content-Type: multipart/mixed; boundary=b",
                      "--b\r\nContent-Type: text/html\r\n<p>www.h.example</p>\r\n"
                      "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n--c\r\n\r\n"
                      "--c--\r\n--b--\r\n"));
  EXPECT_EQ(finding_names(*part), Names{"header_no_colon"});
  EXPECT_EQ(domain_names(*part), std::vector<std::string>{"h.example"});
}

TEST(MessageParser, EachFindingOnceWithFirstDetail) {
  const auto p = parse(clean_header("one\r\ntwo\r\n") + "\r\nx\r\n");
  ASSERT_EQ(p->findings().size(), 1U);
  EXPECT_NE(p->findings()[0].detail.find("one"), std::string::npos);
}

struct MimeCase {
  const char* name;
  std::string message;
  Names expected;
  const char* detail;  // in the first finding's detail
};

class MimeFindings : public ::testing::TestWithParam<MimeCase> {};

TEST_P(MimeFindings, EachFaultAlone) {
  const auto p = parse(GetParam().message);
  EXPECT_EQ(finding_names(*p), GetParam().expected);
  if (!p->findings().empty()) {
    EXPECT_NE(p->findings()[0].detail.find(GetParam().detail), std::string::npos)
        << p->findings()[0].detail;
  }
}

INSTANTIATE_TEST_SUITE_P(
    MessageParser, MimeFindings,
    ::testing::Values(
        MimeCase{"no_boundary",
                 multipart("Content-Type: multipart/mixed", "x\r\n"),
                 {"mime_no_boundary"},
                 "multipart/mixed without a boundary"},
        MimeCase{"empty_boundary",
                 multipart("Content-Type: multipart/mixed; boundary=\"\"", "x\r\n"),
                 {"mime_no_boundary"},
                 "the message"},
        MimeCase{"unterminated",
                 multipart("Content-Type: multipart/mixed; boundary=b", "--b\r\n\r\nx\r\n"),
                 {"mime_unterminated"},
                 "no closing boundary \"b--\""},
        MimeCase{"boundary_unseen",
                 multipart("Content-Type: multipart/mixed; boundary=b", "--c\r\n\r\nx\r\n"),
                 {"mime_boundary_unseen"},
                 "boundary \"b\" never seen"},
        MimeCase{
            "bad_encoding",
            multipart("Content-Type: multipart/mixed; boundary=b",
                      "--b\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nx\r\n--b--\r\n"),
            {"mime_bad_encoding"},
            "Content-Transfer-Encoding: x-uuencode in part 2"},
        MimeCase{"encoded_multipart",
                 multipart("Content-Type: multipart/mixed; boundary=b\r\n"
                           "Content-Transfer-Encoding: base64",
                           "--b\r\n\r\nx\r\n--b--\r\n"),
                 {"mime_bad_encoding"},
                 "base64 on multipart/mixed"},
        MimeCase{"bad_base64",
                 multipart("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64",
                           "aGVsbG8*\r\n"),
                 {"mime_bad_base64"},
                 "base64 that does not decode in the message"},
        MimeCase{"base64_leftover",
                 multipart("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64",
                           "aGVsbG8hQ\r\n"),
                 {"mime_bad_base64"},
                 "the message"},
        MimeCase{"base64_bad_pad",
                 multipart("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64",
                           "aG=sbG8h\r\n"),
                 {"mime_bad_base64"},
                 "the message"},
        MimeCase{"base64_good_attachment",
                 multipart("Content-Type: application/pdf\r\nContent-Transfer-Encoding: Base64",
                           "aGVsbG8h\r\naGk=\r\n"),
                 {},
                 ""},
        MimeCase{"nested_unterminated",
                 multipart("Content-Type: multipart/mixed; boundary=outer",
                           "--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
                           "--inner\r\n\r\nx\r\n--outer--\r\n"),
                 {"mime_unterminated"},
                 "part 1"},
        MimeCase{"combined",
                 multipart("Content-Type: multipart/mixed; boundary=b",
                           "--b\r\nContent-Type: multipart/related\r\n\r\n--b\r\n"
                           "Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n"
                           "--b\r\nContent-Transfer-Encoding: 9bit\r\n\r\nx\r\n"),
                 {"mime_no_boundary", "mime_bad_base64", "mime_bad_encoding", "mime_unterminated"},
                 "multipart/related without a boundary in part 1"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(MessageParser, TwelveFaultsAtOnceEachFoundOnce) {
  // Every finding but date_duplicate and from_missing (exclusive with their twins).
  ParseOptions options;
  options.limits.max_depth = 2;
  const std::string message =
      "From: a@example.org\r\nFrom: b@example.org\r\nBad Name: x\r\nSubject: caf\xe9\r\n"
      "Content-Type: multipart/mixed; boundary=outer\r\nno colon, the body starts\r\n"
      "--outer\r\nContent-Type: multipart/alternative\r\n\r\nx\r\n"
      "--outer\r\nContent-Type: multipart/related; boundary=never\r\n\r\ny\r\n"
      "--outer\r\nContent-Transfer-Encoding: x-bad\r\n\r\nz\r\n"
      "--outer\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n"
      "--outer\r\nContent-Type: multipart/mixed; boundary=d1\r\n\r\n--d1\r\n"
      "Content-Type: multipart/mixed; boundary=d2\r\n\r\n--d2\r\n\r\nw\r\n--d1--\r\n";
  const auto p = parse(message, options);
  EXPECT_EQ(
      finding_names(*p),
      (Names{"date_missing", "from_duplicate", "message_id_missing", "header_no_colon",
             "header_bad_name", "header_8bit", "mime_no_boundary", "mime_unterminated",
             "mime_boundary_unseen", "mime_bad_encoding", "mime_bad_base64", "mime_over_limit"}));
  EXPECT_EQ(p->findings().size(), 12U);
  EXPECT_EQ(detail_of(*p, Finding::MimeBoundaryUnseen), "boundary \"never\" never seen in part 2");
  EXPECT_EQ(detail_of(*p, Finding::MimeOverLimit), "nesting deeper than 2 levels in part 5.1");
  EXPECT_EQ(detail_of(*p, Finding::MimeUnterminated),
            "no closing boundary \"outer--\" in the message");
}

TEST(MessageParser, MessageRfc822IsParsedNested) {
  const auto p = parse(multipart(
      "Content-Type: multipart/mixed; boundary=b",
      "--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: inner without Date or From\r\nContent-Type: multipart/alternative; boundary=i\r\n"
      "\r\n--i\r\nContent-Type: text/html\r\n\r\n<a href='http://inner.example/'>x</a>\r\n"
      "--i--\r\n--b--\r\n"));
  EXPECT_TRUE(p->findings().empty()) << p->findings().front().detail;  // only the top checks Date
  EXPECT_EQ(domain_names(*p), std::vector<std::string>{"inner.example"});
  EXPECT_EQ(p->parts(), 3U);
}

TEST(MessageParser, DigestPartsDefaultToMessages) {
  const auto p =
      parse(multipart("Content-Type: multipart/digest; boundary=d",
                      "--d\r\n\r\nFrom: x@example.org\r\n"
                      "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q--\r\n--d--\r\n"));
  EXPECT_TRUE(p->findings().empty()) << p->findings().front().detail;
}

TEST(MessageParser, DelimiterWithTrailingWhiteSpace) {
  const auto p = parse(multipart("Content-Type: multipart/mixed; boundary=\"a b\"",
                                 "--a b \t\r\n\r\nhttp://x.example/\r\n--a b--  \r\n"));
  EXPECT_TRUE(p->findings().empty());
  EXPECT_EQ(domain_names(*p), std::vector<std::string>{"x.example"});
}

TEST(MessageParser, PreambleAndEpilogueAreNotScanned) {
  const auto p = parse(clean_header() + kMultipart);
  for (const LinkedDomain& d : p->linked_domains()) EXPECT_NE(d.domain, "epilogue.example");
}

TEST(MessageParser, NoContentTypeIsTextPlain) {
  const auto p = parse(clean_header() + "\r\nsee www.Example.ORG/page\r\n");
  EXPECT_EQ(domain_names(*p), std::vector<std::string>{"example.org"});
  EXPECT_EQ(p->decoded_bytes(), std::string("see www.Example.ORG/page").size());
}

TEST(MessageParser, AttachmentsAreNotScanned) {
  const auto p =
      parse(multipart("Content-Type: application/octet-stream", "http://attachment.example/\r\n"));
  EXPECT_TRUE(p->linked_domains().empty());
  EXPECT_EQ(p->decoded_bytes(), 0U);
}

TEST(MessageParser, Latin1TextIsScanned) {
  const auto p =
      parse(multipart("Content-Type: text/plain; charset=ISO-8859-1\r\n"
                      "Content-Transfer-Encoding: quoted-printable",
                      "Caf=E9 \xe0 http://caf=E9.example/ et http://ok.example/=\r\n"
                      "page \xab www.latin.example \xbb\r\n"));
  EXPECT_TRUE(p->findings().empty());
  // The Latin-1 host, decoded to UTF-8, is followed as its A-label.
  EXPECT_EQ(domain_names(*p),
            (std::vector<std::string>{"xn--caf-dma.example", "ok.example", "latin.example"}));
}

TEST(MessageParser, Base64HtmlIsDecodedAndScanned) {
  // <a href="https://b64.example/">x</a>\n<img src=http://img.example.net/p.gif>
  const auto p =
      parse(multipart("Content-Type: text/html\r\nContent-Transfer-Encoding: base64",
                      "PGEgaHJlZj0iaHR0cHM6Ly9iNjQuZXhhbXBsZS8iPng8L2E+CjxpbWcgc3JjPWh0dHA6Ly9p\r\n"
                      "bWcuZXhhbXBsZS5uZXQvcC5naWY+\r\n"));
  EXPECT_TRUE(p->findings().empty());
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"b64.example", "example.net"}));
}

TEST(MessageParser, BulkFacts) {
  const auto p = parse(clean_header("List-Id: News <news.example.org>\r\n"
                                    "List-Unsubscribe: <mailto:u@example.org>,\r\n"
                                    " <https://example.org/u?id=1>\r\n"
                                    "List-Unsubscribe-Post:  list-unsubscribe=one-click \r\n"
                                    "Precedence: Bulk\r\n") +
                       "\r\nx\r\n");
  const BulkFacts& b = p->bulk();
  EXPECT_TRUE(b.list_id);
  EXPECT_TRUE(b.list_unsubscribe);
  EXPECT_TRUE(b.https_unsubscribe);
  EXPECT_TRUE(b.one_click);
  EXPECT_TRUE(b.precedence_bulk);
  EXPECT_TRUE(b.bulk_by_header());
}

TEST(MessageParser, BulkFactsWithoutOneClick) {
  const auto p =
      parse(clean_header("List-Unsubscribe: <mailto:u@example.org>, <http://x.example/u>\r\n"
                         "List-Unsubscribe-Post: List-Unsubscribe=One-Click; x\r\n"
                         "Precedence: junk\r\n") +
            "\r\nx\r\n");
  const BulkFacts& b = p->bulk();
  EXPECT_FALSE(b.list_id);
  EXPECT_TRUE(b.list_unsubscribe);
  EXPECT_FALSE(b.https_unsubscribe);
  EXPECT_FALSE(b.one_click);
  EXPECT_FALSE(b.precedence_bulk);
  const auto plain = parse(clean_header() + "\r\nx\r\n");
  EXPECT_FALSE(plain->bulk().bulk_by_header());
}

TEST(MessageParser, HeaderDoneBeforeFinish) {
  MessageParser p;
  p.feed(clean_header());
  EXPECT_FALSE(p.header_done());
  p.feed("\r\nbody");
  EXPECT_TRUE(p.header_done());
  EXPECT_EQ(p.header().size(), 5U);
  p.finish();
  EXPECT_TRUE(p.findings().empty());
}

// Limits.

TEST(MessageParserLimits, Depth) {
  ParseOptions options;
  options.limits.max_depth = 2;
  // The message is multipart l0; its part 1 multipart l1; its part 1.1 multipart l2.
  std::string body;
  std::string closing = "--l0--\r\n";
  for (int i = 0; i < 2; ++i) {
    body += "--l" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=l" +
            std::to_string(i + 1) + "\r\n\r\n";
    closing = "--l" + std::to_string(i + 1) + "--\r\n" + closing;
  }
  body += "--l2\r\n\r\ntext\r\n";
  const auto p =
      parse(multipart("Content-Type: multipart/mixed; boundary=l0", body + closing), options);
  EXPECT_EQ(finding_names(*p), Names{"mime_over_limit"});
  EXPECT_NE(detail_of(*p, Finding::MimeOverLimit).find("nesting deeper than 2"), std::string::npos);
  options.limits.max_depth = 3;
  EXPECT_TRUE(
      parse(multipart("Content-Type: multipart/mixed; boundary=l0", body + closing), options)
          ->findings()
          .empty());
}

TEST(MessageParserLimits, Parts) {
  ParseOptions options;
  options.limits.max_parts = 3;
  std::string body;
  for (int i = 0; i < 4; ++i) body += "--b\r\n\r\nhttp://p" + std::to_string(i) + ".example/\r\n";
  const auto p =
      parse(multipart("Content-Type: multipart/mixed; boundary=b", body + "--b--\r\n"), options);
  EXPECT_EQ(finding_names(*p), Names{"mime_over_limit"});
  EXPECT_EQ(p->parts(), 3U);
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"p0.example", "p1.example"}));
}

TEST(MessageParserLimits, HeaderFields) {
  ParseOptions options;
  options.limits.max_header_fields = 6;
  const auto p =
      parse(clean_header("X-A: 1\r\nX-B: 2\r\nList-Id: <l.example>\r\n") + "\r\nx\r\n", options);
  EXPECT_EQ(finding_names(*p), Names{"mime_over_limit"});
  EXPECT_EQ(p->header().size(), 6U);
  EXPECT_FALSE(p->bulk().list_id);  // beyond the limit: not read
  EXPECT_NE(detail_of(*p, Finding::MimeOverLimit).find("more than 6 header fields in the message"),
            std::string::npos);
}

TEST(MessageParserLimits, HeaderBytesKeepFieldsThatFit) {
  ParseOptions options;
  options.limits.max_header_bytes = 150;
  const auto p =
      parse(clean_header("X-Big: " + std::string(200, 'a') + "\r\nX-After: 1\r\n") + "\r\nx\r\n",
            options);
  EXPECT_TRUE(p->findings().empty());
  EXPECT_EQ(p->field("X-Big"), nullptr);
  EXPECT_EQ(p->field("X-After"), nullptr);
  EXPECT_NE(p->field("Subject"), nullptr);
}

TEST(MessageParserLimits, DecodedBytes) {
  ParseOptions options;
  options.limits.max_decoded_bytes = 40;
  const auto p = parse(clean_header() + "\r\n" + std::string(30, 'x') + " http://a.example/\r\n" +
                           "http://b.example/\r\n",
                       options);
  EXPECT_TRUE(p->findings().empty());
  EXPECT_EQ(p->decoded_bytes(), 40U);
  EXPECT_EQ(domain_names(*p), std::vector<std::string>{});  // cut after "http://a."
  options.limits.max_decoded_bytes = 48;
  EXPECT_EQ(domain_names(*parse(clean_header() + "\r\n" + std::string(30, 'x') +
                                    " http://a.example/\r\nhttp://b.example/\r\n",
                                options)),
            std::vector<std::string>{"a.example"});
}

TEST(MessageParserLimits, LongLinesAreInspectedUpToTheLimit) {
  ParseOptions options;
  options.limits.max_line_length = 1000;
  const auto p = parse(clean_header() + "\r\nhttp://first.example/ " + std::string(2000, 'y') +
                           " http://late.example/\r\nhttp://next.example/\r\n",
                       options);
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"first.example", "next.example"}));
}

TEST(MessageParserLimits, LongBase64DecodedLineIsCut) {
  ParseOptions options;
  options.limits.max_line_length = 1000;
  // 3000 decoded bytes without a line end, then a URL on the next decoded line.
  std::string decoded = "http://first.example/ " + std::string(3000, 'z') +
                        " http://late.example/\nhttp://next.example/\n";
  std::string encoded;
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < decoded.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, decoded.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      v = (v << 8) | (k < n ? static_cast<unsigned char>(decoded[i + k]) : 0);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      encoded += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
    }
    if (encoded.size() % 78 == 76) encoded += "\r\n";
  }
  const auto p = parse(
      multipart("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64", encoded + "\r\n"),
      options);
  EXPECT_TRUE(p->findings().empty()) << p->findings().front().detail;
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"first.example", "next.example"}));
}

TEST(MessageParserLimits, MemoryDoesNotGrowWithAnEndlessLine) {
  // Nothing observable but the absence of a crash and the bound; a 50 MiB line goes through.
  MessageParser p;
  p.feed(clean_header() + "\r\n");
  const std::string chunk(1 << 20, 'a');
  for (int i = 0; i < 50; ++i) p.feed(chunk);
  p.feed("\r\nhttp://after.example/\r\n");
  p.finish();
  EXPECT_EQ(domain_names(p), std::vector<std::string>{"after.example"});
}

TEST(MessageParserLimits, UriDomains) {
  ParseOptions options;
  options.limits.max_uri_domains = 2;
  const auto p = parse(clean_header() +
                           "\r\nhttp://a.example/ http://b.example/ http://a.example/x "
                           "http://c.example/ http://d.example/ http://c.example/\r\n",
                       options);
  EXPECT_EQ(domain_names(*p), (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(p->linked_domains_dropped(), 2U);
}

}  // namespace
}  // namespace mxgate::content
