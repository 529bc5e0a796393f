// DMARC aggregate reports (RFC 7489 §6.2, §7.1, §7.2, Appendix C): rua URIs, the external
// destination check over a scripted DNS, the rows' storage encoding, the XML document and the
// report message.
#include "auth/dmarc_report.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "auth/dkim_tags.hpp"
#include "common/gzip.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth::dmarc_report {
namespace {

namespace asio = boost::asio;

constexpr std::uint64_t kKiB = 1024;

ReportUri uri(std::string address, std::string host, std::uint64_t max_bytes = 0) {
  return {std::move(address), std::move(host), max_bytes};
}

TEST(DmarcReportUri, ParsesMailtoWithSizeLimits) {
  const struct {
    const char* text;
    std::optional<ReportUri> expected;
  } cases[] = {
      {"mailto:reports@example.com", uri("reports@example.com", "example.com")},
      {"mailto:reports@example.com!10", uri("reports@example.com", "example.com", 10)},
      {"mailto:reports@example.com!10k", uri("reports@example.com", "example.com", 10 * kKiB)},
      {"mailto:reports@example.com!10m",
       uri("reports@example.com", "example.com", 10 * kKiB * kKiB)},
      {"mailto:r@example.com!1g", uri("r@example.com", "example.com", kKiB * kKiB * kKiB)},
      {"mailto:r@example.com!2t",
       uri("r@example.com", "example.com", 2 * kKiB * kKiB * kKiB * kKiB)},
      {"mailto:r@example.com!5M", uri("r@example.com", "example.com", 5 * kKiB * kKiB)},
      {"mailto:r@example.com!16777215t",
       uri("r@example.com", "example.com", 16777215 * kKiB * kKiB * kKiB * kKiB)},
      {"MAILTO:Agg@Example.COM", uri("Agg@example.com", "example.com")},
      {"MailTo:agg@example.com.", uri("agg@example.com", "example.com")},
      {"mailto:dmarc%21agg@example.com!1k", uri("dmarc!agg@example.com", "example.com", kKiB)},
      {"mailto:%72eports@example%2Ecom", uri("reports@example.com", "example.com")},
      {"  mailto:r@example.com\t", uri("r@example.com", "example.com")},
      {"mailto:r@example.com?subject=report", uri("r@example.com", "example.com")},
      // Rejected.
      {"http://example.com/dmarc", std::nullopt},
      {"https://example.com/dmarc!10m", std::nullopt},
      {"mailto:", std::nullopt},
      {"", std::nullopt},
      {"mailtox:r@example.com", std::nullopt},
      {"mailto:a@b@example.com", std::nullopt},
      {"mailto:a%40b@example.com", std::nullopt},
      {"mailto:reports", std::nullopt},
      {"mailto:@example.com", std::nullopt},
      {"mailto:r@", std::nullopt},
      {"mailto:r@example.com!10x", std::nullopt},
      {"mailto:r@example.com!", std::nullopt},
      {"mailto:r@example.com!k", std::nullopt},
      {"mailto:r@example.com!-1", std::nullopt},
      {"mailto:r@example.com!1k!2", std::nullopt},
      {"mailto:r@example.com!0", std::nullopt},
      {"mailto:r@example.com!99999999999999999999", std::nullopt},
      {"mailto:r@example.com!16777216t", std::nullopt},
      {"mailto:r%2@example.com", std::nullopt},
      {"mailto:r%0D%0ARCPT TO:<x@evil.example>@example.com", std::nullopt},
      {"mailto:r%0D%0Ax@example.com", std::nullopt},
      {"mailto:r s@example.com", std::nullopt},
      {"mailto:<r>@example.com", std::nullopt},
      {"mailto:r@[192.0.2.1]", std::nullopt},
      {"mailto:r@exa_mple.com", std::nullopt},
      {"mailto:r@example..com", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_report_uri(c.text), c.expected) << c.text;
  }
}

TEST(DmarcReportUri, ExternalWhenTheOrganizationalDomainsDiffer) {
  const struct {
    const char* policy_domain;
    const char* host;
    bool external;
  } cases[] = {
      {"example.com", "example.com", false},        {"example.com", "dmarc.example.com", false},
      {"news.example.com", "example.com", false},   {"Example.COM", "reports.example.com", false},
      {"example.com", "reports.example.net", true}, {"example.co.uk", "other.co.uk", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_external(c.policy_domain, uri(std::string("r@") + c.host, c.host)), c.external)
        << c.policy_domain << " -> " << c.host;
  }
}

TEST(DmarcReportUri, AuthorizationNameJoinsPolicyDomainAndDestinationHost) {
  EXPECT_EQ(authorization_name("example.com", "reports.example.net"),
            "example.com._report._dmarc.reports.example.net");
  EXPECT_EQ(authorization_name("Example.COM.", "Reports.Example.NET"),
            "example.com._report._dmarc.reports.example.net");
}

TEST(DmarcReportAuthorization, ReadsTheRecordsAtTheAuthorizationName) {
  using State = Authorization::State;
  const std::string host = "reports.example.net";
  const struct {
    const char* name;
    std::vector<std::string> txts;
    State state;
    std::vector<ReportUri> overrides;
  } cases[] = {
      {"no records", {}, State::Refused, {}},
      {"not DMARC", {"v=spf1 -all", "hello"}, State::Refused, {}},
      {"v must come first", {"rua=mailto:a@reports.example.net; v=DMARC1"}, State::Refused, {}},
      {"v is case-sensitive", {"V=DMARC1"}, State::Refused, {}},
      {"not a tag list", {"v=DMARC1; rua"}, State::Refused, {}},
      {"v=DMARC1 alone", {"v=DMARC1"}, State::Authorized, {}},
      {"a policy record", {"v=DMARC1; p=reject"}, State::Authorized, {}},
      {"rua on the same host",
       {"v=DMARC1; rua=mailto:other@reports.example.net!5m"},
       State::Authorized,
       {uri("other@reports.example.net", host, 5 * kKiB * kKiB)}},
      {"rua on another host is dropped",
       {"v=DMARC1; rua=mailto:x@elsewhere.example"},
       State::Authorized,
       {}},
      {"only the same host's URIs",
       {"v=DMARC1; rua=mailto:a@reports.example.net, mailto:b@evil.example,"
        "mailto:c@REPORTS.example.net, http://reports.example.net/"},
       State::Authorized,
       {uri("a@reports.example.net", host), uri("c@reports.example.net", host)}},
      {"a subdomain of the host is another host",
       {"v=DMARC1; rua=mailto:a@sub.reports.example.net"},
       State::Authorized,
       {}},
      {"several records",
       {"unrelated", "v=DMARC1", "v=DMARC1; rua=mailto:z@reports.example.net",
        "v=DMARC1; rua=mailto:y@reports.example.net"},
       State::Authorized,
       {uri("z@reports.example.net", host)}},
      {"at most kMaxReportUris",
       {"v=DMARC1; rua=mailto:1@reports.example.net,mailto:2@reports.example.net,"
        "mailto:3@reports.example.net,mailto:4@reports.example.net,mailto:5@reports.example.net"},
       State::Authorized,
       {uri("1@reports.example.net", host), uri("2@reports.example.net", host),
        uri("3@reports.example.net", host), uri("4@reports.example.net", host)}},
  };
  for (const auto& c : cases) {
    const Authorization a = read_authorization(c.txts, "Reports.Example.net");
    EXPECT_EQ(a.state, c.state) << c.name;
    EXPECT_EQ(a.overrides, c.overrides) << c.name;
  }
}

class DmarcReportDestination : public ::testing::Test {
 protected:
  Destinations verify(const char* policy_domain, const ReportUri& destination) {
    Destinations out;
    asio::co_spawn(io_, verify_destination(dns_, policy_domain, destination),
                   [&](std::exception_ptr e, Destinations d) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(d);
                   });
    io_.run();
    io_.restart();
    return out;
  }
  void txt(const char* name, std::initializer_list<const char*> texts) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.ttl = 300;
    for (const char* text : texts) {
      r.records.push_back(dns::Record{name, dns::RecordType::TXT, 300, dns::TxtData{{text}}});
    }
    dns_.set(name, dns::RecordType::TXT, r);
  }
  asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
  const ReportUri external_ = uri("agg@reports.example.net", "reports.example.net", 10 * kKiB);
  const char* const name_ = "example.com._report._dmarc.reports.example.net";
};

TEST_F(DmarcReportDestination, SameOrganizationNeedsNoQuery) {
  const ReportUri internal = uri("dmarc@mail.example.com", "mail.example.com");
  const Destinations d = verify("example.com", internal);
  EXPECT_EQ(d.uris, std::vector<ReportUri>{internal});
  EXPECT_FALSE(d.temp_error);
  EXPECT_EQ(dns_.calls(), 0);
}

TEST_F(DmarcReportDestination, AnAuthorizingRecordLetsTheReportGo) {
  txt(name_, {"v=DMARC1"});
  const Destinations d = verify("example.com", external_);
  EXPECT_EQ(d.uris, std::vector<ReportUri>{external_});
  EXPECT_FALSE(d.temp_error);
  EXPECT_EQ(dns_.calls(), 1);
}

TEST_F(DmarcReportDestination, TheAuthorizingRecordsRuaReplacesTheUri) {
  txt(name_, {"v=DMARC1; rua=mailto:in@reports.example.net!1m, mailto:x@evil.example"});
  const Destinations d = verify("example.com", external_);
  EXPECT_EQ(
      d.uris,
      (std::vector<ReportUri>{uri("in@reports.example.net", "reports.example.net", kKiB * kKiB)}));
}

TEST_F(DmarcReportDestination, NoAuthorizationNoReport) {
  Destinations d = verify("example.com", external_);  // NXDOMAIN
  EXPECT_TRUE(d.uris.empty());
  EXPECT_FALSE(d.temp_error);
  txt(name_, {"v=spf1 -all"});
  d = verify("example.com", external_);
  EXPECT_TRUE(d.uris.empty());
  EXPECT_FALSE(d.temp_error);
  dns_.set(name_, dns::RecordType::TXT, dns::testing::negative(dns::Outcome::NoData));
  d = verify("example.com", external_);
  EXPECT_TRUE(d.uris.empty());
  EXPECT_FALSE(d.temp_error);
}

TEST_F(DmarcReportDestination, DnsFailureIsATemporaryError) {
  for (const auto outcome : {dns::Outcome::ServFail, dns::Outcome::Timeout, dns::Outcome::Refused,
                             dns::Outcome::Error}) {
    dns_.set(name_, dns::RecordType::TXT, dns::testing::negative(outcome));
    const Destinations d = verify("example.com", external_);
    EXPECT_TRUE(d.uris.empty());
    EXPECT_TRUE(d.temp_error) << dns::to_string(outcome);
  }
}

Row sample_row() {
  Row row;
  row.source_ip = "192.0.2.1";
  row.disposition = dmarc::Policy::Quarantine;
  row.dkim_aligned = false;
  row.spf_aligned = true;
  row.reason = Override::None;
  row.header_from = "example.com";
  row.envelope_from = "bounce.example.com";
  row.dkim = {{"example.com", "s1", "fail"}, {"esp.example.net", "k2", "pass"}};
  row.spf = {"bounce.example.com", "mfrom", "pass"};
  return row;
}

Published sample_published() {
  Published published;
  published.domain = "example.com";
  published.record.p = dmarc::Policy::Quarantine;
  published.record.adkim = dmarc::Alignment::Strict;
  published.record.pct = 50;
  published.record.rua = {"mailto:agg@example.com!10m", "mailto:dmarc@reports.example.net"};
  return published;
}

TEST(DmarcReportEncoding, RowsRoundTrip) {
  Row other = sample_row();
  other.disposition = dmarc::Policy::Reject;
  other.dkim_aligned = true;
  other.reason = Override::Other;
  other.envelope_from.clear();
  other.source_ip = "2001:db8::1";
  other.header_from = "ex\xc3\xa4mple.com";
  Row empty_dkim_parts = sample_row();
  empty_dkim_parts.dkim = {{"", "", ""}};
  for (const Row& row : {Row{}, sample_row(), other, empty_dkim_parts}) {
    const auto back = decode_row(encode_row(row));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, row);
  }
  for (int reason = 0; reason <= static_cast<int>(Override::Other); ++reason) {
    Row row = sample_row();
    row.reason = static_cast<Override>(reason);
    EXPECT_EQ(decode_row(encode_row(row)), row) << reason;
  }
}

TEST(DmarcReportEncoding, PublishedRoundTrips) {
  Published with_sp = sample_published();
  with_sp.record.sp = dmarc::Policy::None;
  with_sp.record.aspf = dmarc::Alignment::Strict;
  with_sp.record.pct = 0;
  Published bare;
  bare.domain = "example.org";
  for (const Published& published : {sample_published(), with_sp, bare}) {
    const auto back = decode_published(encode_published(published));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, published);
  }
  EXPECT_FALSE(sample_published() == with_sp);
  Published other_rua = sample_published();
  other_rua.record.rua.pop_back();
  EXPECT_FALSE(sample_published() == other_rua) << "rua is compared too";
}

TEST(DmarcReportEncoding, FieldsAreCleanedAndBounded) {
  Row row = sample_row();
  row.header_from = "example.com\r\n\x1f\x1e\x7f";
  row.source_ip = std::string(300, '1');
  row.envelope_from = std::string(1, 'a') + std::string(200, '\x01') + "\xc3\xa4";
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\xc3\xa4";  // 400 octets of two-octet characters
  row.spf.domain = umlauts;
  row.dkim.clear();
  for (int i = 0; i < 12; ++i)
    row.dkim.push_back({"d" + std::to_string(i) + ".example", "s", "pass"});
  const auto back = decode_row(encode_row(row));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->header_from, "example.com?????");
  EXPECT_EQ(back->source_ip, std::string(kMaxFieldBytes, '1'));
  EXPECT_EQ(back->envelope_from, "a" + std::string(200, '?') + "\xc3\xa4");
  EXPECT_EQ(back->spf.domain, umlauts.substr(0, kMaxFieldBytes - 1))
      << "cut before the character that would be split";
  ASSERT_EQ(back->dkim.size(), kMaxDkimResults);
  EXPECT_EQ(back->dkim.back().domain, "d7.example");

  Published published = sample_published();
  published.domain = "example.com\n";
  published.record.pct = 250;
  published.record.rua = {"mailto:a@example.com",
                          "",
                          "mailto:b@example.com\r\nBcc: x",
                          "mailto:c@example.com",
                          "mailto:" + std::string(2000, 'd') + "@example.com",
                          "mailto:e@example.com",
                          "mailto:f@example.com",
                          "mailto:g@example.com"};
  const auto decoded = decode_published(encode_published(published));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->domain, "example.com?");
  EXPECT_EQ(decoded->record.pct, 100);
  EXPECT_EQ(decoded->record.rua,
            (std::vector<std::string>{"mailto:a@example.com", "mailto:c@example.com",
                                      "mailto:e@example.com", "mailto:f@example.com"}))
      << "a URI is kept whole or left out, at most kMaxReportUris";
}

TEST(DmarcReportEncoding, DecodeRefusesMalformedBytes) {
  const std::string row = encode_row(sample_row());
  const std::string published = encode_published(sample_published());
  const auto replace_field = [](std::string bytes, std::size_t index, std::string_view value) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) start = bytes.find('\x1f', start) + 1;
    const std::size_t end = std::min(bytes.find('\x1f', start), bytes.size());
    return bytes.replace(start, end - start, value);
  };
  const std::string bad_rows[] = {
      "",
      "garbage",
      row + "\x1f",
      row.substr(0, row.rfind('\x1f')),
      replace_field(row, 0, "2"),     // another format version
      replace_field(row, 2, "3"),     // disposition
      replace_field(row, 2, ""),      //
      replace_field(row, 3, "2"),     // dkim aligned
      replace_field(row, 4, "yes"),   // spf aligned
      replace_field(row, 5, "7"),     // reason
      replace_field(row, 5, "a"),     //
      replace_field(row, 6, "a\nb"),  // a control octet in a field
      replace_field(row, 1, std::string(kMaxFieldBytes + 1, '1')),
      replace_field(row, 8,
                    "a\x1d"
                    "b"),  // a DKIM result of two parts
      replace_field(row, 8,
                    "a\x1d"
                    "b\x1d"
                    "c\x1d"
                    "d"),
      replace_field(row, 8,
                    "a\x1d"
                    "b\x1d"
                    "c\x1e"),
      replace_field(row, 8,
                    "\x1d\x1d\x1e\x1d\x1d\x1e\x1d\x1d\x1e\x1d\x1d\x1e\x1d\x1d\x1e"
                    "\x1d\x1d\x1e\x1d\x1d\x1e\x1d\x1d\x1e\x1d\x1d"),  // 9 results
  };
  for (const std::string& bytes : bad_rows) EXPECT_FALSE(decode_row(bytes)) << bytes;
  const std::string bad_published[] = {
      "",
      published + "\x1f",
      replace_field(published, 0, ""),
      replace_field(published, 2, "3"),    // p
      replace_field(published, 3, "x"),    // sp
      replace_field(published, 4, "2"),    // adkim
      replace_field(published, 5, "r"),    // aspf
      replace_field(published, 6, "101"),  // pct
      replace_field(published, 6, "050"),  //
      replace_field(published, 6, "-1"),   //
      replace_field(published, 6, "+5"),   //
      replace_field(published, 6, ""),     //
      replace_field(published, 7,
                    "a\x1e\x1e"
                    "b"),  // an empty URI
      replace_field(published, 7,
                    "1\x1e"
                    "2\x1e"
                    "3\x1e"
                    "4\x1e"
                    "5"),
  };
  for (const std::string& bytes : bad_published) EXPECT_FALSE(decode_published(bytes)) << bytes;
}

TEST(DmarcReportEncoding, APolicyStoredBeforeFoReadsAsFoZero) {
  Published published = sample_published();
  published.record.fo = "1:s";
  const std::string bytes = encode_published(published);
  EXPECT_EQ(decode_published(bytes), published);
  const std::string stored_before = bytes.substr(0, bytes.rfind('\x1f'));
  published.record.fo = "0";
  EXPECT_EQ(decode_published(stored_before), published);
}

TEST(DmarcReportEncoding, EveryPrefixDecodesToNothingOrToItself) {
  // A prefix may still be a valid encoding (one cut inside the last field); if it decodes, it
  // is the encoding of what it decodes to.
  const std::string row = encode_row(sample_row());
  for (std::size_t n = 0; n < row.size(); ++n) {
    const auto decoded = decode_row(row.substr(0, n));
    if (decoded) {
      EXPECT_EQ(encode_row(*decoded), row.substr(0, n));
    }
  }
  const std::string published = encode_published(sample_published());
  for (std::size_t n = 0; n < published.size(); ++n) {
    const auto decoded = decode_published(published.substr(0, n));
    if (decoded) {
      // A prefix without the last field (fo) reads as a record stored before it: fo=0.
      const std::string again = encode_published(*decoded);
      EXPECT_TRUE(again == published.substr(0, n) ||
                  (again == published.substr(0, n) + "\x1f" "0" && decoded->record.fo == "0"))
          << again;
    }
  }
  EXPECT_FALSE(decode_row(row.substr(0, row.find("mfrom"))));
}

Metadata sample_metadata() {
  Metadata metadata;
  metadata.org_name = "Example Receiver";
  metadata.email = "dmarc@mx.example.net";
  metadata.report_id = "r-1";
  metadata.begin = 1700000000;
  metadata.end = 1700086400;
  return metadata;
}

// Appendix C's schema: IPv6 as eight groups (its IPAddress pattern), and every element it
// requires, even empty (envelope_from of a null reverse-path) or unknown (the SPF scope and
// result of a message SPF did not check).
TEST(DmarcReportXml, RendersAppendixCInRfcOrder) {
  Row other;
  other.source_ip = "2001:db8::25";
  other.disposition = dmarc::Policy::None;
  other.dkim_aligned = true;
  other.reason = Override::Forwarded;
  other.header_from = "example.com";
  other.dkim = {{"example.com", "", "pass"}};
  other.spf = {"helo.example.org", "", "none"};
  Metadata metadata = sample_metadata();
  metadata.extra_contact_info = "https://mx.example.net/dmarc";
  metadata.errors = {"2 rows left out"};
  Published published = sample_published();
  published.record.fo = "1:d";
  const std::string xml = render_xml(metadata, published, {{sample_row(), 3}, {other, 1}});
  EXPECT_EQ(xml,
            R"(<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>Example Receiver</org_name>
    <email>dmarc@mx.example.net</email>
    <extra_contact_info>https://mx.example.net/dmarc</extra_contact_info>
    <report_id>r-1</report_id>
    <date_range>
      <begin>1700000000</begin>
      <end>1700086400</end>
    </date_range>
    <error>2 rows left out</error>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>s</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>quarantine</sp>
    <pct>50</pct>
    <fo>1:d</fo>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.1</source_ip>
      <count>3</count>
      <policy_evaluated>
        <disposition>quarantine</disposition>
        <dkim>fail</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from>bounce.example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s1</selector>
        <result>fail</result>
      </dkim>
      <dkim>
        <domain>esp.example.net</domain>
        <selector>k2</selector>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>bounce.example.com</domain>
        <scope>mfrom</scope>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>2001:db8:0:0:0:0:0:25</source_ip>
      <count>1</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>fail</spf>
        <reason>
          <type>forwarded</type>
        </reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from></envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>helo.example.org</domain>
        <scope>helo</scope>
        <result>none</result>
      </spf>
    </auth_results>
  </record>
</feedback>
)");
}

TEST(DmarcReportXml, EscapesTextAndReplacesWhatXmlCannotHold) {
  Metadata metadata = sample_metadata();
  metadata.org_name = "A&B <Mail> \"Q\" 'x'";
  metadata.report_id = "</report_id><evil/>";
  Row row = sample_row();
  row.header_from = "ex\xc3\xa4mple.com\xff\x01\xc3";  // UTF-8, then not
  Published published = sample_published();
  published.record.sp = dmarc::Policy::Reject;
  const std::string xml = render_xml(metadata, published, {{row, 1}});
  EXPECT_NE(xml.find("<org_name>A&amp;B &lt;Mail&gt; &quot;Q&quot; &apos;x&apos;</org_name>"),
            std::string::npos);
  EXPECT_NE(xml.find("<report_id>&lt;/report_id&gt;&lt;evil/&gt;</report_id>"), std::string::npos);
  EXPECT_NE(xml.find("<header_from>ex\xc3\xa4mple.com?\?\?</header_from>"), std::string::npos);
  EXPECT_NE(xml.find("<sp>reject</sp>"), std::string::npos);
  EXPECT_EQ(xml.find("<extra_contact_info>"), std::string::npos);
  EXPECT_EQ(xml.find("<error>"), std::string::npos);
}

TEST(DmarcReportMessage, FileNameJoinsReceiverDomainAndRange) {
  EXPECT_EQ(report_filename("mx.example.net", "example.com", 1700000000, 1700086400),
            "mx.example.net!example.com!1700000000!1700086400.xml.gz");
  EXPECT_EQ(report_filename("MX.Example.NET", "ex\"am!ple.com\r\n", 1, 2),
            "mx.example.net!ex_am_ple.com__!1!2.xml.gz");
}

struct Parsed {
  std::string headers;  // up to the empty line, CRLF kept
  std::string body;
};

Parsed split_message(const std::string& message) {
  const std::size_t end = message.find("\r\n\r\n");
  if (end == std::string::npos) return {message, ""};
  return {message.substr(0, end + 2), message.substr(end + 4)};
}

std::string boundary_of(const std::string& headers) {
  const std::string marker = "boundary=\"";
  const std::size_t at = headers.find(marker);
  if (at == std::string::npos) return "";
  const std::size_t start = at + marker.size();
  return headers.substr(start, headers.find('"', start) - start);
}

Envelope sample_envelope() {
  Envelope envelope;
  envelope.receiver = "mx.example.net";
  envelope.from = "dmarc-noreply@mx.example.net";
  envelope.to = {"agg@example.com", "dmarc@reports.example.net"};
  envelope.date = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  return envelope;
}

TEST(DmarcReportMessage, CarriesTheGzippedReportAsABase64Attachment) {
  const Metadata metadata = sample_metadata();
  std::vector<CountedRow> rows;
  for (int i = 0; i < 200; ++i) {
    Row row = sample_row();
    row.source_ip = "192.0.2." + std::to_string(i);
    rows.push_back({row, static_cast<std::uint64_t>(i + 1)});
  }
  const std::string xml = render_xml(metadata, sample_published(), rows);
  const std::string message =
      render_message(sample_envelope(), metadata, "example.com", common::gzip(xml));

  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n') {
      ASSERT_TRUE(i > 0 && message[i - 1] == '\r') << "bare LF at " << i;
    }
    if (message[i] == '\r') {
      ASSERT_TRUE(i + 1 < message.size() && message[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  ASSERT_TRUE(message.ends_with("\r\n"));
  const auto [headers, body] = split_message(message);
  for (const char* expected : {
           "From: dmarc-noreply@mx.example.net\r\n",
           "To: agg@example.com, dmarc@reports.example.net\r\n",
           "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n",
           "Subject: Report Domain: example.com Submitter: mx.example.net Report-ID: <r-1>\r\n",
           "Message-ID: <r-1@mx.example.net>\r\n",
           "MIME-Version: 1.0\r\n",
           "Content-Type: multipart/mixed; boundary=\"",
       }) {
    EXPECT_NE(headers.find(expected), std::string::npos) << expected;
  }
  const std::string boundary = boundary_of(headers);
  ASSERT_FALSE(boundary.empty());
  const std::string delimiter = "--" + boundary + "\r\n";
  ASSERT_TRUE(body.starts_with(delimiter));
  ASSERT_TRUE(body.ends_with("\r\n--" + boundary + "--\r\n"));
  const std::size_t second = body.find("\r\n" + delimiter);
  ASSERT_NE(second, std::string::npos);
  const auto [text_headers, text] =
      split_message(body.substr(delimiter.size(), second - delimiter.size()));
  EXPECT_NE(text_headers.find("Content-Type: text/plain; charset=us-ascii\r\n"), std::string::npos);
  for (const char* expected : {"DMARC aggregate report", "example.com", "mx.example.net",
                               "2023-11-14 22:13:20 UTC", "2023-11-15 22:13:20 UTC"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  }

  const std::string rest = body.substr(second + 2 + delimiter.size());
  const auto [file_headers, encoded] =
      split_message(rest.substr(0, rest.size() - ("\r\n--" + boundary + "--\r\n").size()));
  const std::string name = "mx.example.net!example.com!1700000000!1700086400.xml.gz";
  EXPECT_NE(file_headers.find("Content-Type: application/gzip; name=\"" + name + "\"\r\n"),
            std::string::npos);
  EXPECT_NE(file_headers.find("Content-Disposition: attachment; filename=\"" + name + "\"\r\n"),
            std::string::npos);
  EXPECT_NE(file_headers.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  std::size_t lines = 0;
  for (std::size_t start = 0; start < encoded.size(); ++lines) {
    const std::size_t end = std::min(encoded.find("\r\n", start), encoded.size());
    const bool last = end + 2 >= encoded.size();
    if (last) {
      EXPECT_LE(end - start, 76u);
    } else {
      EXPECT_EQ(end - start, 76u) << "line " << lines;
    }
    start = end + 2;
  }
  EXPECT_GT(lines, 1u);
  const auto gzipped = decode_base64(encoded);
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(common::gunzip(*gzipped, 1 << 24), xml);
}

TEST(DmarcReportMessage, HeaderFieldsStayOneLineAndClean) {
  Envelope envelope = sample_envelope();
  envelope.receiver = "mx.example.net\r\nBcc: victim@example.org";
  envelope.to.clear();
  for (int i = 0; i < 8; ++i)
    envelope.to.push_back("long-recipient-" + std::to_string(i) + "@example.com");
  Metadata metadata = sample_metadata();
  metadata.report_id = std::string(2000, 'x');
  const std::string message = render_message(envelope, metadata, "example.com", "gz");
  const auto [headers, body] = split_message(message);
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos);
  for (std::size_t start = 0; start < message.size();) {
    const std::size_t end = message.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 998u) << message.substr(start, 40);
    start = end + 2;
  }
  const std::size_t subject = headers.find("Subject: Report Domain: example.com Submitter: ");
  ASSERT_NE(subject, std::string::npos);
  EXPECT_EQ(headers.find("\r\n", subject) - subject, 998u) << "the id is shortened to fit";
  EXPECT_NE(headers.find("To: long-recipient-0@example.com, long-recipient-1@example.com,\r\n "),
            std::string::npos)
      << "a long To is folded";
}

TEST(DmarcReportMessage, MessageIdIsADotAtomAndTheBoundaryIsStable) {
  Metadata metadata = sample_metadata();
  metadata.report_id = ".a b..c<>@";
  Envelope envelope = sample_envelope();
  envelope.receiver = "mx.example.net.";
  const std::string message = render_message(envelope, metadata, "example.com", "gz");
  EXPECT_NE(message.find("Message-ID: <a_b.c___@mx.example.net>\r\n"), std::string::npos);
  EXPECT_EQ(message, render_message(envelope, metadata, "example.com", "gz"));
  const std::string boundary = boundary_of(split_message(message).headers);
  metadata.report_id = "r-2";
  const std::string other = render_message(envelope, metadata, "example.com", "gz");
  EXPECT_NE(boundary_of(split_message(other).headers), boundary);
}

}  // namespace
}  // namespace mxgate::auth::dmarc_report
