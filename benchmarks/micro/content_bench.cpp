// Micro-benchmarks of the content parser (issue 17): a 4 KiB plain-text message and a 100 KiB
// multipart/alternative message whose HTML part (quoted-printable, or base64) carries ~50 links,
// fed in 16 KiB pieces as a session's reads would. Run: content_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "content/message_parser.hpp"

namespace mxgate::content {
namespace {

constexpr std::size_t kPiece = 16 * 1024;

std::string header(std::string_view content_type) {
  return "Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n"
         "\tby mx.example.net with ESMTPS id 4Xyz; Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n"
         "\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
         "\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n"
         "From: News <news@example.org>\r\n"
         "To: reader@example.net\r\n"
         "Subject: =?UTF-8?Q?Weekly_news?=\r\n"
         "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         "Message-ID: <20261207100000.1234@example.org>\r\n"
         "List-Id: Weekly <weekly.example.org>\r\n"
         "List-Unsubscribe: <https://example.org/u/abc>, <mailto:u@example.org>\r\n"
         "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
         "MIME-Version: 1.0\r\n" +
         std::string(content_type) + "\r\n\r\n";
}

std::string plain_message() {
  std::string m = header("Content-Type: text/plain; charset=utf-8");
  for (int i = 0; m.size() < 4096; ++i) {
    m += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    if (i % 10 == 5)
      m += "Read more at https://www.example.org/articles/" + std::to_string(i) + "\r\n";
  }
  return m;
}

// One line of HTML as a mailer writes it: a paragraph, every other one with a link.
std::string html_line(int i) {
  std::string line =
      "<p style=\"margin:0;font-family:Arial,sans-serif;color:#333333\">Lorem ipsum "
      "dolor sit amet, consectetur adipiscing elit";
  if (i % 12 == 0) {
    line += " <a href=\"https://click.shop" + std::to_string((i / 12) % 9) +
            "-example.com/c?u=https%3A%2F%2Fshop.example.net%2Fitem%3Fid%3D" + std::to_string(i) +
            "&amp;src=mail\">item " + std::to_string(i) + "</a>";
  }
  return line + "</p>\n";
}

std::string quoted_printable(std::string_view html) {
  std::string out;
  std::size_t col = 0;
  for (const char c : html) {
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    const std::string enc = c == '=' ? std::string("=3D") : std::string(1, c);
    if (col + enc.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += enc;
    col += enc.size();
  }
  return out;
}

std::string base64(std::string_view in) {
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

std::string html_message(bool use_base64) {
  std::string html = "<html><body>\n";
  for (int i = 0; html.size() < 88 * 1024; ++i) html += html_line(i);
  html += "</body></html>\n";
  std::string m = header("Content-Type: multipart/alternative; boundary=\"=_alt_0123456789\"");
  m += "--=_alt_0123456789\r\nContent-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 7bit\r\n\r\n";
  for (int i = 0; i < 100; ++i) m += "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n";
  m += "--=_alt_0123456789\r\nContent-Type: text/html; charset=utf-8\r\n";
  m += use_base64 ? "Content-Transfer-Encoding: base64\r\n\r\n" + base64(html)
                  : "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quoted_printable(html);
  return m + "\r\n--=_alt_0123456789--\r\n";
}

void run(benchmark::State& state, const std::string& message) {
  std::size_t domains = 0;
  for (auto _ : state) {
    MessageParser parser;
    for (std::size_t at = 0; at < message.size(); at += kPiece) {
      parser.feed(std::string_view(message).substr(at, kPiece));
    }
    parser.finish();
    domains = parser.linked_domains().size();
    benchmark::DoNotOptimize(parser.findings().data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
  state.counters["bytes"] = static_cast<double>(message.size());
  state.counters["domains"] = static_cast<double>(domains);
}

void BM_Plain4KiB(benchmark::State& state) { run(state, plain_message()); }
void BM_Html100KiBQuotedPrintable(benchmark::State& state) { run(state, html_message(false)); }
void BM_Html100KiBBase64(benchmark::State& state) { run(state, html_message(true)); }

BENCHMARK(BM_Plain4KiB);
BENCHMARK(BM_Html100KiBQuotedPrintable);
BENCHMARK(BM_Html100KiBBase64);

}  // namespace
}  // namespace mxgate::content
