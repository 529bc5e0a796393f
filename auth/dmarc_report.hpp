// DMARC aggregate reports (RFC 7489 §7.2 and Appendix C), the pure parts: the row one message
// adds to its policy domain's report, its storage encoding, the rua URIs (§6.2, §6.4: mailto
// with an optional "!" size limit), the external destination check (§7.1), the XML document
// and the report message (§7.2.1.1).
// Pure except verify_destination() (DNS, on the caller's executor). Never throws on stored or
// DNS bytes: a decode that fails returns nullopt.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth::dmarc_report {

inline constexpr std::size_t kMaxDkimResults = 8;   // per row; a message may carry more
inline constexpr std::size_t kMaxReportUris = 4;     // per policy; the rest are ignored
inline constexpr std::size_t kMaxFieldBytes = 255;   // any text field of a row (a domain's limit)

// Appendix C PolicyOverrideType: why the policy applied differs from what the domain asked.
enum class Override { None, Forwarded, SampledOut, TrustedForwarder, MailingList, LocalPolicy, Other };
std::string_view override_name(Override reason);  // "forwarded", "sampled_out", ...

// Appendix C DKIMAuthResultType: a verified (or not) signature as the receiver saw it.
struct DkimAuth {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string result;    // none, pass, fail, policy, neutral, temperror, permerror

  bool operator==(const DkimAuth&) const = default;
};

// Appendix C SPFAuthResultType.
struct SpfAuth {
  std::string domain;   // the identity checked: MAIL FROM domain, or the HELO name
  std::string scope;    // "mfrom" or "helo"
  std::string result;   // none, neutral, pass, fail, softfail, temperror, permerror

  bool operator==(const SpfAuth&) const = default;
};

// What one message adds to the report of its policy domain (a row of count 1; equal rows add).
struct Row {
  std::string source_ip;                                // text form, as the client connected
  dmarc::Policy disposition = dmarc::Policy::None;      // the policy applied to the message
  bool dkim_aligned = false;                            // policy_evaluated/dkim: pass or fail
  bool spf_aligned = false;                             // policy_evaluated/spf
  Override reason = Override::None;                     // policy_evaluated/reason/type
  std::string header_from;                              // identifiers/header_from
  std::string envelope_from;                            // identifiers/envelope_from ("" for <>)
  std::vector<DkimAuth> dkim;                           // auth_results, at most kMaxDkimResults
  SpfAuth spf;                                          // auth_results/spf

  bool operator==(const Row&) const = default;
};

// policy_published, and where the reports of the domain go.
struct Published {
  std::string domain;  // where the record was found (the policy domain), lower case
  dmarc::Record record;

  bool operator==(const Published&) const;
};

// Storage encodings (storage keeps them as opaque bytes): text fields joined by a separator
// that no field contains (control bytes in a field become '?', fields are cut at
// kMaxFieldBytes). A rua URI is kept whole or left out (empty, over 1024 octets or with a control
// octet); at most kMaxReportUris. decode_*(encode_*(x)) == x for any x within those limits.
std::string encode_row(const Row& row);
std::optional<Row> decode_row(std::string_view bytes);
std::string encode_published(const Published& published);
std::optional<Published> decode_published(std::string_view bytes);

// A rua destination (§6.2): "mailto:" with the address percent-decoded (RFC 3986 %XX; '!' and
// ',' must be written %21 and %2C in the record), and the optional size limit after '!':
// digits and an optional unit k, m, g or t (powers of 1024, §6.2). Other schemes, an address
// without exactly one '@', an empty local part or host, or a bad limit: nullopt. Also nullopt:
// a local part of other than dot-atom characters (it goes into RCPT TO), a host that is not a
// DNS name, a limit of 0 or one past 2^64. "?" header fields (RFC 6068) are ignored.
struct ReportUri {
  std::string address;  // local@host as it will be used in RCPT TO
  std::string host;     // lower case, the "destination host" of §7.1
  std::uint64_t max_bytes = 0;  // 0: no limit
  bool operator==(const ReportUri&) const = default;
};
std::optional<ReportUri> parse_report_uri(std::string_view uri);

// §7.1: a destination whose organizational domain differs from the policy domain's must
// authorize the policy domain before it gets reports.
bool is_external(std::string_view policy_domain, const ReportUri& uri);
// §7.1 steps 1-3: "<policy domain>._report._dmarc.<destination host>".
std::string authorization_name(std::string_view policy_domain, std::string_view host);

struct Authorization {
  enum class State { Authorized, Refused, TempError };
  State state = State::Refused;
  // §7.1 step 9: rua URIs of the authorizing record, each with the same destination host;
  // empty: keep the policy's URI.
  std::vector<ReportUri> overrides;
};
// §7.1 steps 5-9 applied to the TXT strings found at authorization_name(): a record that starts
// with "v=DMARC1" authorizes; its rua=, if any, replaces the URI, keeping only URIs whose host
// is `host` (step 9: the same destination host).
Authorization read_authorization(const std::vector<std::string>& txts, std::string_view host);

// The URIs to send `policy_domain`'s report to for `uri`: [uri] when it is not external, the
// authorization's overrides or [uri] when authorized, none when refused. `temp_error` is set
// when DNS failed (the caller retries later).
struct Destinations {
  std::vector<ReportUri> uris;
  bool temp_error = false;
};
boost::asio::awaitable<Destinations> verify_destination(dns::Resolver& resolver,
                                                        std::string policy_domain, ReportUri uri);

// report_metadata.
struct Metadata {
  std::string org_name;            // who reports (conf: dmarc_reports.org_name)
  std::string email;               // where to ask about the report
  std::string extra_contact_info;  // optional: a URL
  std::string report_id;           // unique per report
  std::int64_t begin = 0;          // date_range, Unix seconds
  std::int64_t end = 0;
  std::vector<std::string> errors;  // report_metadata/error, e.g. rows left out
};

struct CountedRow {
  Row row;
  std::uint64_t count = 0;
};

// The aggregate report (Appendix C's schema, RFC 7489's element order), UTF-8, every text
// field XML-escaped.
std::string render_xml(const Metadata& metadata, const Published& published,
                       const std::vector<CountedRow>& rows);

// §7.2.1.1: "<receiver>!<policy domain>!<begin>!<end>.xml.gz".
std::string report_filename(std::string_view receiver, std::string_view policy_domain,
                            std::int64_t begin, std::int64_t end);

// §7.2.1.1: the report message. Subject "Report Domain: <policy domain> Submitter: <receiver>
// Report-ID: <id>"; multipart/mixed with a short text/plain part and the gzip file as an
// application/gzip attachment (base64, lines of 76), named report_filename(). `receiver` is
// the reporting host (server.hostname); `from` the report's From address; `to` its
// recipients; the Message-ID's right side is `receiver`. CRLF line ends throughout.
struct Envelope {
  std::string receiver;
  std::string from;
  std::vector<std::string> to;
  std::chrono::system_clock::time_point date;
};
std::string render_message(const Envelope& envelope, const Metadata& metadata,
                           std::string_view policy_domain, std::string_view gzipped);

}  // namespace mxgate::auth::dmarc_report
