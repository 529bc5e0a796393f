// The parser's result does not depend on where its input was cut: every message below gives the
// same findings, domains, bulk facts and header whole, split in two at every byte, and fed one
// byte at a time.
#include "tests/smtp/split.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "content/message_parser.hpp"
#include "parse_helpers.hpp"

namespace mxgate::content {
namespace {

// Everything a caller can read, as one string.
std::string summary(const MessageParser& p) {
  std::string out;
  for (const FindingDetail& f : p.findings()) {
    out += std::string(finding_name(f.finding)) + " " + f.detail + "\n";
  }
  for (const LinkedDomain& d : p.linked_domains()) {
    out += "domain " + d.domain + (d.ip ? " ip " : " ") + d.url + "\n";
  }
  const BulkFacts& b = p.bulk();
  out += "bulk " + std::to_string(b.list_id) + std::to_string(b.list_unsubscribe) +
         std::to_string(b.precedence_bulk) + std::to_string(b.https_unsubscribe) +
         std::to_string(b.one_click) + "\n";
  for (const HeaderField& f : p.header()) out += "field " + f.name + ": " + f.value + "\n";
  out += "dropped " + std::to_string(p.linked_domains_dropped()) + " parts " +
         std::to_string(p.parts()) + " decoded " + std::to_string(p.decoded_bytes()) + "\n";
  return out;
}

ParseOptions small_limits() {
  ParseOptions options;
  options.limits.max_line_length = 1000;
  options.limits.max_uri_domains = 4;
  options.limits.max_decoded_bytes = 1800;
  return options;
}

std::string base64_of(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0);
    }
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
    if (out.size() % 78 == 76) out += "\r\n";
  }
  return out + "\r\n";
}

std::vector<std::string> messages() {
  using testing::clean_header;
  std::vector<std::string> out;
  out.push_back(clean_header("List-Unsubscribe: <https://example.org/u>\r\n"
                             "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                             "X-Folded: a\r\n b\r\n") +
                "\r\nhello http://a.example/ www.b.example.\r\n");
  out.push_back(
      clean_header(
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n") +
      "\r\npreamble\r\n--outer\r\nContent-Type: text/html; charset=windows-1252\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "<a href=3D\"http://qp.example/=\r\nlong\">\x93x\x94</a> <img "
      "src=3D'http://[2001:db8::1]/'>\r\n"
      "--outer\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64_of("line one http://b64.example/\nline two http://192.0.2.1/ www.c.example\n") +
      "--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\n"
      "http://inner.example/ http://d.example/ http://e.example/\r\n"
      "--outer\r\nContent-Transfer-Encoding: x-foo\r\n\r\nx\r\n--outer--\r\nepilogue\r\n");
  // Faults everywhere, a line over max_line_length, a decoded line over it, the decoded budget.
  out.push_back(
      "From: a\r\nFrom: b\r\nNo colon here\r\nBad Name: x\r\nX-8: \xe9\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhttp://f.example/ " +
      std::string(1500, 'x') +
      " http://late.example/\r\n--b\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      base64_of("http://g.example/ " + std::string(1200, 'y') +
                " http://h.example/\n"
                "http://i.example/\n") +
      "QQ=Q\r\n--b\r\nContent-Type: multipart/related\r\n\r\nx\r\n");
  // No final line end, a bare LF line end, a CR inside a line.
  out.push_back(clean_header() + "\r\nhttp://j.example/\nhttp://k.ex\rample/ http://l.example");
  return out;
}

TEST(MessageParserSplit, SameResultWhereverCut) {
  for (const std::string& message : messages()) {
    MessageParser whole(small_limits());
    testing::parse_pieces(whole, {message});
    const std::string expected = summary(whole);
    ASSERT_NE(expected.find("domain"), std::string::npos) << expected;
    for (const auto& pieces : smtp::testing::all_splits(message)) {
      MessageParser p(small_limits());
      testing::parse_pieces(p, pieces);
      ASSERT_EQ(summary(p), expected)
          << "pieces: " << pieces.size() << " first " << pieces.front().size();
    }
  }
}

TEST(MessageParserSplit, MessagesSayWhatTheyShould) {
  const auto all = messages();
  MessageParser p(small_limits());
  testing::parse_pieces(p, {all[1]});
  EXPECT_EQ(summary(p),
            "mime_unterminated no closing boundary \"inner--\" in part 3\n"
            "mime_bad_encoding Content-Transfer-Encoding: x-foo in part 4\n"
            "domain qp.example http://qp.example/long\n"
            "domain 2001:db8::1 ip http://[2001:db8::1]/\n"
            "domain b64.example http://b64.example/\n"
            "domain 192.0.2.1 ip http://192.0.2.1/\n"
            "bulk 00000\n"
            "field From: Alice <alice@example.org>\n"
            "field To: bob@example.net\n"
            "field Date: Mon, 7 Dec 2026 10:00:00 +0000\n"
            "field Message-ID: <1@example.org>\n"
            "field Subject: hello\n"
            "field MIME-Version: 1.0\n"
            "field Content-Type: multipart/mixed; boundary=\"outer\"\n"
            "dropped 4 parts 6 decoded 199\n");
}

}  // namespace
}  // namespace mxgate::content
