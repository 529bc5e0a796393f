// libFuzzer target of DMARC aggregate reports' parsers (auth/dmarc_report.hpp; RFC 7489 §6.2
// rua URIs, §7.1 authorization records, the rows' storage encoding). The whole input goes to
// decode_row, decode_published and parse_report_uri; its NUL-separated pieces are the TXT strings
// of read_authorization and the fields of a row that is encoded and decoded.
// Checked: a decoded row or policy encodes back to the same bytes (one encoding per value); an
// encoded row decodes, within the field and DKIM bounds, to what encodes the same again; a URI
// is local@host with one '@', a lower-case host and nothing that could break out of RCPT TO, and
// a plain address parses back to itself; an authorization comes from a v=DMARC1 record, is never
// TempError and keeps at most kMaxReportUris overrides, all on the destination host; the XML of
// a decoded row holds no control octet but its line ends.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc.hpp"
#include "auth/dmarc_report.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace report = mxgate::auth::dmarc_report;
using mxgate::fuzz::check;

constexpr std::string_view kHost = "reports.example.net";
constexpr std::size_t kMaxFuzzDkim = 12;  // more than kMaxDkimResults, to check the bound

std::vector<std::string> pieces(std::string_view input) {
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    const std::size_t nul = input.find('\0', start);
    out.emplace_back(input.substr(start, nul - start));
    if (nul == std::string_view::npos) return out;
    start = nul + 1;
  }
}

bool no_control(std::string_view text, std::string_view allowed = "") {
  return std::none_of(text.begin(), text.end(), [&](char c) {
    return (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') &&
           allowed.find(c) == std::string_view::npos;
  });
}

void check_decoders(std::string_view input) {
  if (const auto row = report::decode_row(input)) {
    check(report::encode_row(*row) == input);
    check(row->dkim.size() <= report::kMaxDkimResults);
    const std::string xml = report::render_xml({}, {}, {{*row, 1}});
    check(no_control(xml, "\n"));
  }
  if (const auto published = report::decode_published(input)) {
    // A record stored before fo= was kept reads as fo=0, and is written with it.
    const std::string again = report::encode_published(*published);
    check(again == input || (again.starts_with(input) && published->record.fo == "0"));
    check(report::decode_published(again) == published);
    check(published->record.rua.size() <= report::kMaxReportUris);
    check(published->record.pct >= 0 && published->record.pct <= 100);
  }
}

void check_uri(std::string_view input) {
  const auto uri = report::parse_report_uri(input);
  if (!uri) return;
  const std::size_t at = uri->address.find('@');
  check(at != std::string::npos && at > 0 && uri->address.find('@', at + 1) == std::string::npos);
  check(uri->address.substr(at + 1) == uri->host);
  check(std::none_of(uri->address.begin(), uri->address.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == '\x7f' ||
           static_cast<unsigned char>(c) >= 0x80;
  }));
  check(std::none_of(uri->host.begin(), uri->host.end(),
                     [](char c) { return c >= 'A' && c <= 'Z'; }));
  // An address without characters that mean something in a URI reads back as itself.
  if (uri->address.find_first_of("%!?") == std::string::npos) {
    const auto again = report::parse_report_uri("mailto:" + uri->address);
    check(again && again->address == uri->address && again->max_bytes == 0);
  }
}

void check_authorization(const std::vector<std::string>& txts) {
  const report::Authorization a = report::read_authorization(txts, kHost);
  check(a.state != report::Authorization::State::TempError);
  const bool any_dmarc = std::any_of(txts.begin(), txts.end(), [](const std::string& txt) {
    return mxgate::auth::dmarc::is_dmarc_record(txt);
  });
  if (a.state == report::Authorization::State::Authorized) check(any_dmarc);
  if (a.state == report::Authorization::State::Refused) check(a.overrides.empty());
  check(a.overrides.size() <= report::kMaxReportUris);
  for (const report::ReportUri& uri : a.overrides) check(uri.host == kHost);
}

// A row made of the pieces: every field may hold anything, and there may be too many results.
void check_encoder(const std::vector<std::string>& fields, std::uint8_t selector) {
  const auto field = [&](std::size_t i) { return i < fields.size() ? fields[i] : std::string(); };
  report::Row row;
  row.source_ip = field(0);
  row.header_from = field(1);
  row.envelope_from = field(2);
  row.spf = {field(3), field(4), field(5)};
  for (std::size_t i = 6; i + 2 < fields.size() && row.dkim.size() < kMaxFuzzDkim; i += 3) {
    row.dkim.push_back({fields[i], fields[i + 1], fields[i + 2]});
  }
  row.disposition = static_cast<mxgate::auth::dmarc::Policy>(selector % 3);
  row.reason = static_cast<report::Override>((selector / 3) % 7);
  row.dkim_aligned = (selector & 0x40) != 0;
  row.spf_aligned = (selector & 0x80) != 0;
  const std::string encoded = report::encode_row(row);
  const auto decoded = report::decode_row(encoded);
  check(decoded.has_value());
  check(report::encode_row(*decoded) == encoded);
  check(decoded->dkim.size() == std::min(row.dkim.size(), report::kMaxDkimResults));
  check(decoded->disposition == row.disposition && decoded->reason == row.reason);
  for (const std::string* text :
       {&decoded->source_ip, &decoded->header_from, &decoded->spf.result}) {
    check(text->size() <= report::kMaxFieldBytes && no_control(*text));
  }

  report::Published published;
  published.domain = field(0);
  published.record.rua = {fields.begin(), fields.end()};
  published.record.pct = selector;
  const std::string policy = report::encode_published(published);
  const auto policy_back = report::decode_published(policy);
  check(policy_back && report::encode_published(*policy_back) == policy);
  for (const std::string& uri : policy_back->record.rua) {
    check(std::find(fields.begin(), fields.end(), uri) != fields.end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = mxgate::fuzz::text(data, size);
  check_decoders(input);
  const std::vector<std::string> split = pieces(input);
  for (const std::string& piece : split) check_uri(piece);
  check_authorization(split);
  check_encoder(split, size > 0 ? data[0] : 0);
  return 0;
}
