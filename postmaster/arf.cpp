#include "postmaster/arf.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>

#include "common/text.hpp"
#include "reputation/record.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::postmaster {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Field {
  std::string name;  // lower case
  std::string value;
};

// Header fields up to the first empty line (unfolded, RFC 5322 §2.2.3); `rest` is the body.
std::vector<Field> read_fields(std::string_view text, std::string_view& rest) {
  std::vector<Field> fields;
  while (!text.empty()) {
    const auto nl = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(std::min(nl + 1, text.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      auto& value = fields.back().value;
      if (!value.empty()) value += ' ';
      value += trim(line);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.push_back({common::ascii_lower(trim(line.substr(0, colon))),
                      std::string(trim(line.substr(colon + 1)))});
  }
  rest = text;
  return fields;
}

const Field* find(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The boundary parameter of a Content-Type value (quoted or not).
std::string boundary_of(std::string_view content_type) {
  const auto lowered = common::ascii_lower(content_type);
  const auto at = lowered.find("boundary=");
  if (at == std::string::npos) return {};
  std::string_view value = content_type.substr(at + 9);
  if (!value.empty() && value.front() == '"') {
    value.remove_prefix(1);
    return std::string(value.substr(0, value.find('"')));
  }
  return std::string(value.substr(0, std::min(value.find_first_of("; \t"), value.size())));
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : common::ascii_lower(address.substr(at + 1));
}

}  // namespace

std::optional<FeedbackReport> parse_arf(std::string_view message, std::string& error) {
  if (message.size() > kMaxArfBytes) {
    error = "the report is larger than 1 MiB";
    return std::nullopt;
  }
  std::string_view body;
  const auto top = read_fields(message, body);
  const auto* type = find(top, "content-type");
  const std::string boundary = type ? boundary_of(type->value) : std::string();
  if (!type || common::ascii_lower(type->value).find("multipart/report") == std::string::npos ||
      boundary.empty()) {
    error = "not a multipart/report message (RFC 5965 §2)";
    return std::nullopt;
  }
  const std::string delimiter = "--" + boundary;
  for (auto pos = body.find(delimiter); pos != std::string_view::npos;) {
    std::string_view part = body.substr(pos + delimiter.size());
    const auto next = part.find(delimiter);
    part = part.substr(0, next);
    pos = next == std::string_view::npos ? next : pos + delimiter.size() + next;
    if (part.starts_with("--")) break;                               // the closing delimiter
    part.remove_prefix(std::min(part.find('\n') + 1, part.size()));  // the delimiter's line end
    std::string_view content;
    const auto headers = read_fields(part, content);
    const auto* part_type = find(headers, "content-type");
    if (!part_type || common::ascii_lower(part_type->value).find("message/feedback-report") ==
                          std::string::npos) {
      continue;
    }
    std::string_view ignored;
    const auto fields = read_fields(content, ignored);
    FeedbackReport report;
    if (const auto* f = find(fields, "feedback-type"))
      report.feedback_type = common::ascii_lower(f->value);
    if (report.feedback_type.empty()) {
      error = "the feedback-report part has no Feedback-Type (RFC 5965 §3.1)";
      return std::nullopt;
    }
    if (const auto* f = find(fields, "source-ip")) report.source_ip = f->value;
    if (const auto* f = find(fields, "original-mail-from")) {
      std::string_view from = f->value;
      if (from.starts_with("<") && from.ends_with(">")) from = from.substr(1, from.size() - 2);
      report.original_mail_from = std::string(from);
    }
    auto add_domain = [&](std::string domain) {
      while (!domain.empty() && domain.back() == '.') domain.pop_back();
      if (!domain.empty() &&
          std::find(report.domains.begin(), report.domains.end(), domain) == report.domains.end()) {
        report.domains.push_back(std::move(domain));
      }
    };
    for (const auto& f : fields) {
      if (f.name == "reported-domain") add_domain(common::ascii_lower(f.value));
    }
    add_domain(domain_of(report.original_mail_from));
    return report;
  }
  error = "no message/feedback-report part (RFC 5965 §2)";
  return std::nullopt;
}

std::optional<std::string> count_complaint(storage::ReputationStore& store,
                                           const FeedbackReport& report, std::int64_t now,
                                           std::string& error) {
  reputation::Counters one;
  one.complaints = 1;
  const auto day = static_cast<std::uint32_t>(now / 86400);
  std::string counted;
  if (!report.source_ip.empty()) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(report.source_ip, ec);
    if (ec) {
      error = "Source-IP is not an IP address";
      return std::nullopt;
    }
    store.add(storage::Family::Ip, storage::ip_key(address), day, one, 0);
    counted = "ip=" + address.to_string();
  }
  std::string domains;
  for (const auto& domain : report.domains) {
    const auto key = storage::key_from_text(storage::Family::SenderDomain, domain);
    if (!key) continue;
    store.add(storage::Family::SenderDomain, *key, day, one, 0);
    domains += (domains.empty() ? "" : ",") + domain;
  }
  if (counted.empty() && domains.empty()) {
    error = "the report names no Source-IP and no domain to count against";
    return std::nullopt;
  }
  if (!domains.empty()) {
    if (!counted.empty()) counted += ' ';
    counted += "domains=";
    counted += domains;
  }
  return counted;
}

}  // namespace mxgate::postmaster
