// dmarc_report.hpp, first half: the rows' storage encoding, rua URIs and the external
// destination check (RFC 7489 §6.2, §7.1). The report itself is in dmarc_report_render.cpp.
#include "auth/dmarc_report.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "auth/dkim_tags.hpp"
#include "common/text.hpp"

namespace mxgate::auth::dmarc_report {
namespace {

// The encodings: fields apart by US, list items by RS, the parts of a DKIM result by GS. A
// leading version field lets a later format tell its own bytes from these.
constexpr char kFieldSeparator = '\x1f';
constexpr char kItemSeparator = '\x1e';
constexpr char kPartSeparator = '\x1d';
constexpr std::string_view kFormatVersion = "1";
enum RowField : std::size_t {
  kRowVersion,
  kSourceIp,
  kDisposition,
  kDkimAligned,
  kSpfAligned,
  kReason,
  kHeaderFrom,
  kEnvelopeFrom,
  kDkimResults,
  kSpfDomain,
  kSpfScope,
  kSpfResult,
  kRowFields
};
enum PublishedField : std::size_t {
  kPublishedVersion,
  kDomain,
  kP,
  kSp,
  kAdkim,
  kAspf,
  kPct,
  kRua,
  kFo,  // added later: a record stored without it reads as fo=0
  kPublishedFields
};
constexpr std::size_t kDkimParts = 3;  // domain, selector, result
constexpr int kMaxPct = 100;
constexpr std::size_t kMaxUtf8Continuation = 3;
// Room for a rua URI with a 64-octet local part, a 253-octet host, escapes and a size.
constexpr std::size_t kMaxStoredUriBytes = 1024;

constexpr std::size_t kMaxLocalPart = 64;  // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 253;    // RFC 1035 §2.3.4, without the final dot
constexpr std::size_t kMaxLabel = 63;
constexpr std::string_view kMailto = "mailto:";
constexpr std::string_view kUnits = "kmgt";  // §6.2: powers of 1024
constexpr unsigned kUnitShift = 10;

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// At most kMaxFieldBytes octets, cut before a UTF-8 sequence rather than inside it (when the
// octets are UTF-8); control octets become '?'.
std::string clean_field(std::string_view text) {
  if (text.size() > kMaxFieldBytes) {
    std::size_t cut = kMaxFieldBytes;
    while (cut > kMaxFieldBytes - kMaxUtf8Continuation && is_continuation(text[cut])) --cut;
    text = text.substr(0, is_continuation(text[cut]) ? kMaxFieldBytes : cut);
  }
  std::string out(text);
  std::replace_if(out.begin(), out.end(), is_control, '?');
  return out;
}

// What decode accepts as a field: exactly what clean_field() can give.
bool clean(std::string_view field) {
  return field.size() <= kMaxFieldBytes && std::none_of(field.begin(), field.end(), is_control);
}

// A rua URI is stored as written, or left out: cut or with '?' for a control octet it would
// name another mailbox, and an empty one names none.
bool storable_uri(std::string_view uri) {
  return !uri.empty() && uri.size() <= kMaxStoredUriBytes &&
         std::none_of(uri.begin(), uri.end(), is_control);
}

template <std::size_t N>
std::string join_fields(const std::string (&fields)[N]) {
  std::string out = fields[0];
  for (std::size_t i = 1; i < N; ++i) out += kFieldSeparator + fields[i];
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find(separator, start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

template <typename Enum>
char digit(Enum value) {
  return static_cast<char>('0' + static_cast<int>(value));
}

template <typename Enum>
std::optional<Enum> enum_digit(std::string_view field, Enum last) {
  if (field.size() != 1 || field[0] < '0' || field[0] > digit(last)) return std::nullopt;
  return static_cast<Enum>(field[0] - '0');
}

std::optional<bool> flag(std::string_view field) {
  if (field == "0") return false;
  if (field == "1") return true;
  return std::nullopt;
}

// Decimal as std::to_string writes it (no sign, no leading zero): one encoding per value.
std::optional<int> number(std::string_view field, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (ec != std::errc() || end != field.data() + field.size() || field.empty() || field[0] == '-' ||
      (field.size() > 1 && field[0] == '0') || value > max) {
    return std::nullopt;
  }
  return value;
}

std::string lower_name(std::string_view name) {
  std::string out = common::ascii_lower(name);
  if (out.ends_with('.')) out.pop_back();
  return out;
}

bool is_atext(char c) {  // RFC 5322 §3.2.3
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// A DNS host name of letters, digits and hyphens (an address literal has no organizational
// domain to check, so it cannot be a report destination).
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > kMaxDomain) return false;
  for (const std::string_view label : split(host, '.')) {
    if (label.empty() || label.size() > kMaxLabel || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      const bool ldh =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ldh) return false;
    }
  }
  return true;
}

// §6.2 "!" size: digits and an optional unit; 0 (nothing may be sent) and overflow are bad.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t shift = 0;
  if (!text.empty()) {
    const auto unit =
        kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text.back()))));
    if (unit != std::string_view::npos) {
      shift = kUnitShift * (unit + 1);
      text.remove_suffix(1);
    }
  }
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0) return std::nullopt;
  if (value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return value << shift;
}

// The comma-separated URIs of a rua= value (§6.4), white space around each trimmed.
std::vector<std::string_view> split_uris(std::string_view value) {
  std::vector<std::string_view> out;
  for (std::string_view uri : split(value, ',')) {
    const auto first = uri.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    out.push_back(uri.substr(first, uri.find_last_not_of(" \t") - first + 1));
  }
  return out;
}

}  // namespace

std::string_view override_name(Override reason) {
  switch (reason) {
    case Override::None:
      return "none";
    case Override::Forwarded:
      return "forwarded";
    case Override::SampledOut:
      return "sampled_out";
    case Override::TrustedForwarder:
      return "trusted_forwarder";
    case Override::MailingList:
      return "mailing_list";
    case Override::LocalPolicy:
      return "local_policy";
    case Override::Other:
      return "other";
  }
  return "other";
}

bool Published::operator==(const Published& other) const {
  const dmarc::Record& a = record;
  const dmarc::Record& b = other.record;
  return domain == other.domain && a.p == b.p && a.sp == b.sp && a.adkim == b.adkim &&
         a.aspf == b.aspf && a.pct == b.pct && a.rua == b.rua && a.fo == b.fo;
}

std::string encode_row(const Row& row) {
  std::string dkim;
  const std::size_t dkim_count = std::min(row.dkim.size(), kMaxDkimResults);
  for (std::size_t i = 0; i < dkim_count; ++i) {
    if (i > 0) dkim += kItemSeparator;
    dkim += clean_field(row.dkim[i].domain) + kPartSeparator + clean_field(row.dkim[i].selector) +
            kPartSeparator + clean_field(row.dkim[i].result);
  }
  const std::string fields[kRowFields] = {
      std::string(kFormatVersion),    clean_field(row.source_ip),     {digit(row.disposition)},
      {row.dkim_aligned ? '1' : '0'}, {row.spf_aligned ? '1' : '0'},  {digit(row.reason)},
      clean_field(row.header_from),   clean_field(row.envelope_from), std::move(dkim),
      clean_field(row.spf.domain),    clean_field(row.spf.scope),     clean_field(row.spf.result)};
  return join_fields(fields);
}

std::optional<Row> decode_row(std::string_view bytes) {
  const auto fields = split(bytes, kFieldSeparator);
  if (fields.size() != kRowFields || fields[kRowVersion] != kFormatVersion) return std::nullopt;
  for (std::size_t i = kSourceIp; i < kRowFields; ++i) {
    if (i != kDkimResults && !clean(fields[i])) return std::nullopt;
  }
  Row row;
  const auto disposition = enum_digit(fields[kDisposition], dmarc::Policy::Reject);
  const auto dkim_aligned = flag(fields[kDkimAligned]);
  const auto spf_aligned = flag(fields[kSpfAligned]);
  const auto reason = enum_digit(fields[kReason], Override::Other);
  if (!disposition || !dkim_aligned || !spf_aligned || !reason) return std::nullopt;
  row.source_ip = fields[kSourceIp];
  row.disposition = *disposition;
  row.dkim_aligned = *dkim_aligned;
  row.spf_aligned = *spf_aligned;
  row.reason = *reason;
  row.header_from = fields[kHeaderFrom];
  row.envelope_from = fields[kEnvelopeFrom];
  if (!fields[kDkimResults].empty()) {
    const auto items = split(fields[kDkimResults], kItemSeparator);
    if (items.size() > kMaxDkimResults) return std::nullopt;
    for (const std::string_view item : items) {
      const auto parts = split(item, kPartSeparator);
      if (parts.size() != kDkimParts) return std::nullopt;
      for (const std::string_view part : parts) {
        if (!clean(part)) return std::nullopt;
      }
      row.dkim.push_back({std::string(parts[0]), std::string(parts[1]), std::string(parts[2])});
    }
  }
  row.spf = {std::string(fields[kSpfDomain]), std::string(fields[kSpfScope]),
             std::string(fields[kSpfResult])};
  return row;
}

std::string encode_published(const Published& published) {
  const dmarc::Record& record = published.record;
  std::string rua;
  std::size_t kept = 0;
  for (const std::string& uri : record.rua) {
    if (kept == kMaxReportUris) break;
    if (!storable_uri(uri)) continue;
    if (kept++ > 0) rua += kItemSeparator;
    rua += uri;
  }
  const std::string fields[kPublishedFields] = {
      std::string(kFormatVersion),
      clean_field(published.domain),
      {digit(record.p)},
      record.sp ? std::string{digit(*record.sp)} : std::string(),
      {digit(record.adkim)},
      {digit(record.aspf)},
      std::to_string(std::clamp(record.pct, 0, kMaxPct)),
      std::move(rua),
      clean_field(record.fo)};
  return join_fields(fields);
}

std::optional<Published> decode_published(std::string_view bytes) {
  const auto fields = split(bytes, kFieldSeparator);
  const bool without_fo = fields.size() == kFo;
  if ((fields.size() != kPublishedFields && !without_fo) ||
      fields[kPublishedVersion] != kFormatVersion || !clean(fields[kDomain]) ||
      (!without_fo && !clean(fields[kFo]))) {
    return std::nullopt;
  }
  Published published;
  published.domain = fields[kDomain];
  dmarc::Record& record = published.record;
  const auto p = enum_digit(fields[kP], dmarc::Policy::Reject);
  const auto adkim = enum_digit(fields[kAdkim], dmarc::Alignment::Strict);
  const auto aspf = enum_digit(fields[kAspf], dmarc::Alignment::Strict);
  const auto pct = number(fields[kPct], kMaxPct);
  if (!p || !adkim || !aspf || !pct) return std::nullopt;
  record.p = *p;
  if (!fields[kSp].empty()) {
    record.sp = enum_digit(fields[kSp], dmarc::Policy::Reject);
    if (!record.sp) return std::nullopt;
  }
  record.adkim = *adkim;
  record.aspf = *aspf;
  record.pct = *pct;
  if (!without_fo) record.fo = fields[kFo];
  if (!fields[kRua].empty()) {
    const auto uris = split(fields[kRua], kItemSeparator);
    if (uris.size() > kMaxReportUris) return std::nullopt;
    for (const std::string_view uri : uris) {
      if (!storable_uri(uri)) return std::nullopt;
      record.rua.emplace_back(uri);
    }
  }
  return published;
}

std::optional<ReportUri> parse_report_uri(std::string_view uri) {
  const auto first = uri.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  uri = uri.substr(first, uri.find_last_not_of(" \t") - first + 1);
  if (uri.size() < kMailto.size() || !tag_iequals(uri.substr(0, kMailto.size()), kMailto)) {
    return std::nullopt;
  }
  uri.remove_prefix(kMailto.size());
  ReportUri out;
  const auto bang = uri.find('!');
  if (bang != std::string_view::npos) {
    const auto size = parse_size(uri.substr(bang + 1));
    if (!size) return std::nullopt;
    out.max_bytes = *size;
    uri = uri.substr(0, bang);
  }
  // RFC 6068 §2: "?" starts header fields (subject=...), which a report does not use.
  uri = uri.substr(0, uri.find('?'));
  const auto address = common::percent_decode(uri, false);
  if (!address) return std::nullopt;
  const auto at = address->find('@');
  if (at == std::string::npos || address->find('@', at + 1) != std::string::npos) {
    return std::nullopt;
  }
  // The local part goes into RCPT TO: a dot-atom's characters only (no CR, LF, space, '<').
  const std::string_view local = std::string_view(*address).substr(0, at);
  if (local.empty() || local.size() > kMaxLocalPart ||
      !std::all_of(local.begin(), local.end(), [](char c) { return is_atext(c) || c == '.'; })) {
    return std::nullopt;
  }
  out.host = lower_name(std::string_view(*address).substr(at + 1));
  if (!is_host_name(out.host)) return std::nullopt;
  out.address = std::string(local) + '@' + out.host;
  return out;
}

bool is_external(std::string_view policy_domain, const ReportUri& uri) {
  return dmarc::organizational_domain(policy_domain) != dmarc::organizational_domain(uri.host);
}

std::string authorization_name(std::string_view policy_domain, std::string_view host) {
  return lower_name(policy_domain) + "._report._dmarc." + lower_name(host);
}

Authorization read_authorization(const std::vector<std::string>& txts, std::string_view host) {
  Authorization out;
  const std::string destination = lower_name(host);
  bool overridden = false;
  for (const std::string& txt : txts) {
    // §7.1 step 5: a tag list that starts with v=DMARC1; p= is not needed here.
    if (!dmarc::is_dmarc_record(txt)) continue;
    const TagListResult tags = parse_tag_list(txt);
    if (!tags.list) continue;
    out.state = Authorization::State::Authorized;
    if (overridden) continue;
    for (const Tag& tag : tags.list->tags) {
      if (!tag_iequals(tag.name, "rua")) continue;
      overridden = true;
      for (const std::string_view text : split_uris(tag.value)) {
        auto uri = parse_report_uri(text);
        if (!uri || uri->host != destination) continue;  // §7.1: the same destination host
        if (out.overrides.size() < kMaxReportUris) out.overrides.push_back(std::move(*uri));
      }
    }
  }
  return out;
}

boost::asio::awaitable<Destinations> verify_destination(dns::Resolver& resolver,
                                                        std::string policy_domain, ReportUri uri) {
  Destinations out;
  if (!is_external(policy_domain, uri)) {
    out.uris.push_back(std::move(uri));
    co_return out;
  }
  const auto found = co_await resolver.txt(authorization_name(policy_domain, uri.host));
  if (dns::is_failure(found.outcome)) {
    out.temp_error = true;
    co_return out;
  }
  std::vector<std::string> txts;
  for (const auto& record : found.records) txts.push_back(record.text);
  Authorization authorization = read_authorization(txts, uri.host);
  if (authorization.state != Authorization::State::Authorized) co_return out;
  if (authorization.overrides.empty()) {
    out.uris.push_back(std::move(uri));
  } else {
    out.uris = std::move(authorization.overrides);
  }
  co_return out;
}

}  // namespace mxgate::auth::dmarc_report
