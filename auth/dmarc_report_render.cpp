// dmarc_report.hpp, second half: the report as XML (RFC 7489 Appendix C), its file name and
// the message that carries it (§7.2.1.1).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "auth/dkim_tags.hpp"
#include "auth/dmarc_report.hpp"
#include "common/cidr.hpp"

namespace mxgate::auth::dmarc_report {
namespace {

constexpr std::size_t kMaxHeaderLine = 998;   // RFC 5322 §2.1.1, without CRLF
constexpr std::size_t kFoldColumn = 78;       // RFC 5322 §2.1.1: the recommended line length
constexpr std::size_t kBase64LineInput = 57;  // octets per 76-character base64 line (RFC 2045)
constexpr std::string_view kCrlf = "\r\n";

bool is_text_char(char c) { return c >= 0x20 && c < 0x7f; }

// The length of the UTF-8 sequence at text[i] when it encodes an XML 1.0 Char (§2.2) other than
// a control character, else 0.
std::size_t xml_char_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return is_text_char(static_cast<char>(lead)) ? 1 : 0;
  std::size_t length = 0;
  std::uint32_t code = 0;
  std::uint32_t least = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1Fu;
    least = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0Fu;
    least = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07u;
    least = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0u) != 0x80) return 0;
    code = (code << 6) | (next & 0x3Fu);
  }
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (code < least || surrogate || code > 0x10FFFF || code == 0xFFFE || code == 0xFFFF) return 0;
  return length;
}

// XML character data: the five special characters escaped, and '?' for each octet that is not
// part of a UTF-8 character XML allows (rows hold what clients sent).
void append_xml_text(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = xml_char_length(text, i);
    if (length == 0) {
      out += '?';
      ++i;
      continue;
    }
    switch (text[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.append(text.substr(i, length));
    }
    i += length;
  }
}

// One element per line, two spaces per level.
class XmlWriter {
 public:
  void open(std::string_view name) {
    indent();
    out_ += fmt::format("<{}>\n", name);
    ++depth_;
  }
  void close(std::string_view name) {
    --depth_;
    indent();
    out_ += fmt::format("</{}>\n", name);
  }
  void leaf(std::string_view name, std::string_view text) {
    indent();
    out_ += fmt::format("<{}>", name);
    append_xml_text(out_, text);
    out_ += fmt::format("</{}>\n", name);
  }
  std::string take() { return std::move(out_); }

 private:
  void indent() { out_.append(depth_ * 2, ' '); }

  std::string out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::size_t depth_ = 0;
};

std::string_view alignment_name(dmarc::Alignment mode) {
  return mode == dmarc::Alignment::Strict ? "s" : "r";
}
std::string_view pass_fail(bool pass) { return pass ? "pass" : "fail"; }

void write_metadata(XmlWriter& xml, const Metadata& metadata) {
  xml.open("report_metadata");
  xml.leaf("org_name", metadata.org_name);
  xml.leaf("email", metadata.email);
  if (!metadata.extra_contact_info.empty()) {
    xml.leaf("extra_contact_info", metadata.extra_contact_info);
  }
  xml.leaf("report_id", metadata.report_id);
  xml.open("date_range");
  xml.leaf("begin", std::to_string(metadata.begin));
  xml.leaf("end", std::to_string(metadata.end));
  xml.close("date_range");
  for (const std::string& error : metadata.errors) xml.leaf("error", error);
  xml.close("report_metadata");
}

void write_policy(XmlWriter& xml, const Published& published) {
  const dmarc::Record& record = published.record;
  xml.open("policy_published");
  xml.leaf("domain", published.domain);
  xml.leaf("adkim", alignment_name(record.adkim));
  xml.leaf("aspf", alignment_name(record.aspf));
  xml.leaf("p", dmarc::policy_name(record.p));
  xml.leaf("sp", dmarc::policy_name(record.sp.value_or(record.p)));
  xml.leaf("pct", std::to_string(record.pct));
  xml.leaf("fo", record.fo);
  xml.close("policy_published");
}

// The schema's IPAddress pattern (Appendix C) takes IPv6 only as eight groups: "2001:db8::1"
// is written "2001:db8:0:0:0:0:0:1" (RFC 4291 §2.2, form 1). IPv4 and anything else as is.
std::string schema_ip_text(std::string_view text) {
  const auto ip = common::parse_ip(text);
  if (!ip || ip->family != 6) return std::string(text);
  std::string out;
  for (std::size_t i = 0; i < 16; i += 2) {
    if (i > 0) out += ':';
    out += fmt::format("{:x}", (ip->bytes[i] << 8) | ip->bytes[i + 1]);
  }
  return out;
}

void write_record(XmlWriter& xml, const CountedRow& counted) {
  const Row& row = counted.row;
  xml.open("record");
  xml.open("row");
  xml.leaf("source_ip", schema_ip_text(row.source_ip));
  xml.leaf("count", std::to_string(counted.count));
  xml.open("policy_evaluated");
  xml.leaf("disposition", dmarc::policy_name(row.disposition));
  xml.leaf("dkim", pass_fail(row.dkim_aligned));
  xml.leaf("spf", pass_fail(row.spf_aligned));
  if (row.reason != Override::None) {
    xml.open("reason");
    xml.leaf("type", override_name(row.reason));
    xml.close("reason");
  }
  xml.close("policy_evaluated");
  xml.close("row");
  xml.open("identifiers");
  xml.leaf("envelope_from", row.envelope_from);  // required; empty for a null reverse-path
  xml.leaf("header_from", row.header_from);
  xml.close("identifiers");
  xml.open("auth_results");
  for (const DkimAuth& dkim : row.dkim) {
    xml.open("dkim");
    xml.leaf("domain", dkim.domain);
    if (!dkim.selector.empty()) xml.leaf("selector", dkim.selector);
    xml.leaf("result", dkim.result);
    xml.close("dkim");
  }
  xml.open("spf");
  // Required, even when SPF was not checked: its result is then "none".
  xml.leaf("domain", row.spf.domain);
  xml.leaf("scope", row.spf.scope.empty() ? (row.envelope_from.empty() ? "helo" : "mfrom")
                                          : row.spf.scope);
  xml.leaf("result", row.spf.result.empty() ? "none" : row.spf.result);
  xml.close("spf");
  xml.close("auth_results");
  xml.close("record");
}

// Header field text: printable ASCII only (anything else, CR and LF above all, becomes '?').
std::string header_text(std::string_view text, std::size_t max = kMaxFieldBytes) {
  std::string out(text.substr(0, max));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return !is_text_char(c); }, '?');
  return out;
}

// A dot-atom-text (RFC 5322 §3.2.3) made of `text`: other characters become '_', and no dot
// starts, ends or doubles.
std::string dot_atom(std::string_view text, std::string_view fallback,
                     std::size_t max = kMaxFieldBytes) {
  std::string out;
  for (const char c : text.substr(0, max)) {
    if (c == '.') {
      if (!out.empty() && out.back() != '.') out += '.';
    } else {
      const bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') ||
                         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string::npos;
      out += atext ? c : '_';
    }
  }
  if (out.ends_with('.')) out.pop_back();
  return out.empty() ? std::string(fallback) : out;
}

// A name in the file name: the characters of a host name, lower case; '!' separates the parts.
std::string file_name_part(std::string_view name) {
  std::string out;
  for (const char c : name.substr(0, kMaxFieldBytes)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += keep ? c : '_';
    }
  }
  return out;
}

struct Civil {
  std::chrono::year_month_day day;
  std::chrono::weekday weekday;
  std::chrono::hh_mm_ss<std::chrono::seconds> time;
};

Civil civil(std::chrono::sys_seconds at) {
  const auto day = std::chrono::floor<std::chrono::days>(at);
  return {std::chrono::year_month_day(day), std::chrono::weekday(day),
          std::chrono::hh_mm_ss<std::chrono::seconds>(at - day)};
}

// RFC 5322 §3.3, in UTC: "Mon, 07 Dec 2026 19:36:50 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point at) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const Civil c = civil(std::chrono::floor<std::chrono::seconds>(at));
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[c.weekday.c_encoding()],
                     static_cast<unsigned>(c.day.day()),
                     kMonths[static_cast<unsigned>(c.day.month()) - 1],
                     static_cast<int>(c.day.year()), c.time.hours().count(),
                     c.time.minutes().count(), c.time.seconds().count());
}

// "2026-12-07 00:00:00 UTC" for Unix seconds.
std::string utc_time(std::int64_t unix_seconds) {
  const Civil c = civil(std::chrono::sys_seconds(std::chrono::seconds(unix_seconds)));
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", static_cast<int>(c.day.year()),
                     static_cast<unsigned>(c.day.month()), static_cast<unsigned>(c.day.day()),
                     c.time.hours().count(), c.time.minutes().count(), c.time.seconds().count());
}

std::string base64_lines(std::string_view octets) {
  std::string out;
  for (std::size_t at = 0; at < octets.size(); at += kBase64LineInput) {
    out += encode_base64(octets.substr(at, kBase64LineInput));
    out += kCrlf;
  }
  return out;
}

// "To: a, b", folded before an address that would pass the recommended line length.
std::string to_field(const std::vector<std::string>& to) {
  std::string out = "To:";
  std::size_t line = out.size();
  for (std::size_t i = 0; i < to.size(); ++i) {
    const std::string address = header_text(to[i]);
    if (i > 0) {
      out += ',';
      ++line;
      if (line + 1 + address.size() > kFoldColumn) {
        out += kCrlf;
        line = 0;
      }
    }
    out += ' ' + address;
    line += 1 + address.size();
  }
  return out;
}

// §7.2.1.1 subject; the report id is shortened when the line would pass 998 octets.
std::string subject_field(std::string_view policy_domain, std::string_view receiver,
                          std::string_view report_id) {
  const std::string head = fmt::format("Subject: Report Domain: {} Submitter: {} Report-ID: <",
                                       header_text(policy_domain), header_text(receiver));
  std::string id = dot_atom(report_id, "report", std::string_view::npos);
  if (head.size() + id.size() + 1 > kMaxHeaderLine) {
    id.resize(kMaxHeaderLine - std::min(kMaxHeaderLine, head.size() + 1));
  }
  return (head + id + '>').substr(0, kMaxHeaderLine);
}

// FNV-1a: a boundary that looks random but is the same for the same report.
std::uint64_t fnv1a(std::string_view text, std::uint64_t salt) {
  std::uint64_t hash = 0xcbf29ce484222325ull ^ salt;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

std::string render_xml(const Metadata& metadata, const Published& published,
                       const std::vector<CountedRow>& rows) {
  XmlWriter xml;
  xml.open("feedback");
  xml.leaf("version", "1.0");
  write_metadata(xml, metadata);
  write_policy(xml, published);
  for (const CountedRow& row : rows) write_record(xml, row);
  xml.close("feedback");
  return xml.take();
}

std::string report_filename(std::string_view receiver, std::string_view policy_domain,
                            std::int64_t begin, std::int64_t end) {
  return fmt::format("{}!{}!{}!{}.xml.gz", file_name_part(receiver), file_name_part(policy_domain),
                     begin, end);
}

std::string render_message(const Envelope& envelope, const Metadata& metadata,
                           std::string_view policy_domain, std::string_view gzipped) {
  const std::string filename =
      report_filename(envelope.receiver, policy_domain, metadata.begin, metadata.end);
  const std::string text = fmt::format(
      "This is a DMARC aggregate report (RFC 7489) for {}{}from {},{}covering {} to {}.{}",
      header_text(policy_domain), kCrlf, header_text(envelope.receiver), kCrlf,
      utc_time(metadata.begin), utc_time(metadata.end), kCrlf);
  const std::string attachment = base64_lines(gzipped);
  // "=_" cannot occur in base64; the text part is checked, and a clash picks another boundary.
  std::string boundary;
  for (std::uint64_t salt = 0;; ++salt) {
    boundary = fmt::format("=_dmarc_{:016x}", fnv1a(metadata.report_id, salt));
    if (text.find(boundary) == std::string::npos &&
        attachment.find(boundary) == std::string::npos) {
      break;
    }
  }

  std::string out;
  const auto line = [&out](std::string_view text_line) {
    out += text_line;
    out += kCrlf;
  };
  line("From: " + header_text(envelope.from));
  if (!envelope.to.empty()) line(to_field(envelope.to));
  line("Date: " + rfc5322_date(envelope.date));
  line(subject_field(policy_domain, envelope.receiver, metadata.report_id));
  line(fmt::format("Message-ID: <{}@{}>", dot_atom(metadata.report_id, "report"),
                   dot_atom(envelope.receiver, "localhost")));
  line("MIME-Version: 1.0");
  line(fmt::format("Content-Type: multipart/mixed; boundary=\"{}\"", boundary));
  line("");
  line("--" + boundary);
  line("Content-Type: text/plain; charset=us-ascii");
  line("Content-Transfer-Encoding: 7bit");
  line("");
  out += text;
  line("--" + boundary);
  line(fmt::format("Content-Type: application/gzip; name=\"{}\"", filename));
  line(fmt::format("Content-Disposition: attachment; filename=\"{}\"", filename));
  line("Content-Transfer-Encoding: base64");
  line("");
  out += attachment;
  line("--" + boundary + "--");
  return out;
}

}  // namespace mxgate::auth::dmarc_report
