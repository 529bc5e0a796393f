#include "postmaster/record_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "common/cidr.hpp"
#include "common/idna.hpp"
#include "conf/config.hpp"
#include "content/message_parser.hpp"
#include "content/uri_extract.hpp"
#include "reputation/model.hpp"
#include "reputation/verdict.hpp"
#include "storage/record_codec.hpp"
#include "throttle/throttle.hpp"

namespace mxgate::postmaster {
namespace {

using reputation::ListingAction;

constexpr int kV4Bits = 32;
constexpr int kV6Bits = 128;
constexpr int kDescribeDays = 30;  // the window `rep get` sums counters over
constexpr std::string_view kExpiryForms =
    "expected empty (never), a duration (7d, 12h, 30m, 90s), an RFC 3339 time "
    "(2026-12-31T00:00:00Z) or Unix seconds";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string prefixes_text(const std::vector<int>& prefixes) {
  std::string out;
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    if (i > 0) out += i + 1 == prefixes.size() ? " or " : ", ";
    out += '/';
    out += std::to_string(prefixes[i]);
  }
  return out.empty() ? "no prefix" : out;
}

// Reads exactly `width` digits at `pos` of `s`.
std::optional<int> digits_at(std::string_view s, std::size_t pos, std::size_t width) {
  if (pos + width > s.size() || !all_digits(s.substr(pos, width))) return std::nullopt;
  int value = 0;
  std::from_chars(s.data() + pos, s.data() + pos + width, value);
  return value;
}

// "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (RFC 3339 section 5.6; 't', 'z' and a space
// for the 'T' accepted, section 5.6 NOTE).
std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  const auto year = digits_at(s, 0, 4), month = digits_at(s, 5, 2), day = digits_at(s, 8, 2);
  const auto hour = digits_at(s, 11, 2), minute = digits_at(s, 14, 2), second = digits_at(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  const std::string_view zone = s.substr(std::min(pos, s.size()));
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const auto oh = digits_at(zone, 1, 2), om = digits_at(zone, 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = (*oh * 60 + *om) * 60;
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return std::int64_t{days} * reputation::kSecondsPerDay + *hour * 3600 + *minute * 60 + *second -
         offset;
}

std::optional<std::int64_t> parse_relative(std::string_view text, std::int64_t now) {
  if (text.front() == '-') return std::nullopt;  // a listing that expired before it began
  try {
    const auto duration = conf::parse_duration(text);
    return now + std::chrono::ceil<std::chrono::seconds>(duration).count();
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

// RFC 4180: quoted when it holds a comma, a quote, or spaces that trimming would lose.
void append_field(std::string& out, std::string_view text) {
  const bool quote = text.find_first_of(",\"") != std::string_view::npos ||
                     (!text.empty() && (trim(text).size() != text.size() || text.front() == '#'));
  if (quote) out.push_back('"');
  for (char c : text) {
    if (is_control(c)) {
      out.push_back(' ');
    } else {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
  }
  if (quote) out.push_back('"');
}

}  // namespace

std::int64_t wall_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// The domain of a domain: or uri: target in lower case without trailing dots; nullopt with
// `error` set when it is not a domain name.
std::optional<std::string> target_domain(std::string_view text, std::string& error) {
  std::string domain(text);
  for (char& c : domain) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  const bool valid =
      !domain.empty() && domain.size() <= kMaxDomainLength &&
      domain.find('.') != std::string::npos && domain.front() != '.' &&
      domain.find("..") == std::string::npos &&
      std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
      });
  if (!valid) {
    error = fmt::format("'{}' is not a domain name", text);
    return std::nullopt;
  }
  return domain;
}

// "uri:evil.example", "uri:192.0.2.7", "uri:[2001:db8::7]".
std::optional<RepTarget> linked_target(std::string_view text, std::string& error) {
  std::string_view literal = text;
  if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']') {
    literal = literal.substr(1, literal.size() - 2);
  }
  if (common::parse_ip(literal)) {
    return RepTarget{storage::Family::LinkedDomain, storage::linked_domain_key(literal)};
  }
  // An internationalized name is listed by its A-label, the form links are looked up by.
  std::optional<std::string> a_label;
  if (std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; })) {
    a_label = common::a_label(text);
    if (a_label) text = *a_label;
  }
  const auto domain = target_domain(text, error);
  if (!domain) {
    error += " or an IP address";
    return std::nullopt;
  }
  const auto registrable = content::registrable_domain(*domain);
  if (registrable != *domain) {
    error = registrable.empty() ? fmt::format(
                                      "'{}' is a public suffix: links are looked up by the domain "
                                      "registered under it",
                                      *domain)
                                : fmt::format(
                                      "'{}': links are looked up by their registrable domain; list "
                                      "{}{} instead",
                                      *domain, kLinkedTargetPrefix, registrable);
    return std::nullopt;
  }
  return RepTarget{storage::Family::LinkedDomain, storage::linked_domain_key(*domain)};
}

}  // namespace

std::optional<RepTarget> parse_target(std::string_view text, const storage::StoreOptions& options,
                                      std::string& error) {
  text = trim(text);
  if (text.starts_with(kDomainTargetPrefix)) {
    const auto domain = target_domain(text.substr(kDomainTargetPrefix.size()), error);
    if (!domain) return std::nullopt;
    return RepTarget{storage::Family::SenderDomain,
                     *storage::key_from_text(storage::Family::SenderDomain, *domain)};
  }
  if (text.starts_with(kLinkedTargetPrefix)) {
    return linked_target(text.substr(kLinkedTargetPrefix.size()), error);
  }
  const auto cidr = storage::parse_cidr(text);
  if (!cidr) {
    error = fmt::format("'{}' is not an IP address or a network", text);
    return std::nullopt;
  }
  const bool v4 = cidr->network.is_v4();
  const int width = v4 ? kV4Bits : kV6Bits;
  if (text.find('/') == std::string_view::npos || cidr->prefix_len == width) {
    return RepTarget{storage::Family::Ip, storage::ip_key(cidr->network)};
  }
  const auto& prefixes = v4 ? options.v4_network_prefixes : options.v6_network_prefixes;
  if (std::find(prefixes.begin(), prefixes.end(), cidr->prefix_len) == prefixes.end()) {
    error = fmt::format(
        "'{}': networks are looked up as {} (IPv4) and {} (IPv6); list each of those instead", text,
        prefixes_text(options.v4_network_prefixes), prefixes_text(options.v6_network_prefixes));
    return std::nullopt;
  }
  return RepTarget{storage::Family::Network, storage::network_key(cidr->network, cidr->prefix_len)};
}

std::string target_text(const RepTarget& target) {
  const auto text = storage::key_to_text(target.family, target.key).value_or("?");
  switch (target.family) {
    case storage::Family::SenderDomain:
      return std::string(kDomainTargetPrefix) + text;
    case storage::Family::LinkedDomain:
      return std::string(kLinkedTargetPrefix) + text;
    default:
      return text;
  }
}

std::optional<ListingAction> parse_action(std::string_view text) {
  std::string lower(trim(text));
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "block") return ListingAction::Block;
  if (lower == "allow") return ListingAction::Allow;
  if (lower == "none") return ListingAction::None;
  return std::nullopt;
}

std::string_view action_name(ListingAction action) {
  switch (action) {
    case ListingAction::Allow:
      return "allow";
    case ListingAction::Block:
      return "block";
    case ListingAction::None:
      break;
  }
  return "none";
}

std::optional<std::int64_t> parse_expiry(std::string_view text, std::int64_t now,
                                         std::string& error) {
  text = trim(text);
  if (text.empty()) return 0;
  std::optional<std::int64_t> at;
  if (all_digits(text)) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && end == text.data() + text.size()) at = seconds;
  } else if (text.size() > 4 && all_digits(text.substr(0, 4)) && text[4] == '-') {
    at = parse_rfc3339(text);
  } else {
    at = parse_relative(text, now);
  }
  if (!at) error = fmt::format("expiry '{}': {}", text, kExpiryForms);
  return at;
}

std::string format_time(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string check_listing_text(std::string_view what, std::string_view text) {
  if (text.size() > storage::kMaxListingText) {
    return fmt::format("{} longer than {} bytes", what, storage::kMaxListingText);
  }
  if (std::any_of(text.begin(), text.end(), is_control)) {
    return fmt::format("control character in the {}", what);
  }
  return {};
}

FeedParser::FeedParser(storage::StoreOptions options, std::int64_t now, std::string default_source)
    : options_(std::move(options)), now_(now), default_source_(std::move(default_source)) {}

// Splits `line` into fields_ (RFC 4180 quoting, one line only).
bool FeedParser::split(std::string_view line, std::string& error) {
  count_ = 0;
  std::size_t pos = 0;
  for (;;) {
    if (count_ == kFeedFields) {
      error = fmt::format("more than {} fields ({})", kFeedFields, kFeedColumns);
      return false;
    }
    std::string& field = fields_[count_++];
    field.clear();
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    if (pos < line.size() && line[pos] == '"') {
      for (++pos;; pos += 2) {
        const std::size_t quote = line.find('"', pos);
        if (quote == std::string_view::npos) {
          error = fmt::format("field {}: no closing quote (a field ends on its line)", count_);
          return false;
        }
        field.append(line.substr(pos, quote - pos));
        pos = quote;
        if (quote + 1 >= line.size() || line[quote + 1] != '"') break;
        field.push_back('"');  // "" inside quotes is one quote
      }
      ++pos;
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      if (pos < line.size() && line[pos] != ',') {
        error = fmt::format("field {}: text after the closing quote", count_);
        return false;
      }
    } else {
      const std::size_t comma = std::min(line.find(',', pos), line.size());
      const std::string_view raw = trim(line.substr(pos, comma - pos));
      if (raw.find('"') != std::string_view::npos) {
        error =
            fmt::format("field {}: a quote in an unquoted field (quote the whole field)", count_);
        return false;
      }
      field.assign(raw);
      pos = comma;
    }
    if (pos >= line.size()) return true;
    ++pos;  // the comma; a comma at the end starts one more, empty, field
  }
}

FeedParser::Status FeedParser::parse(std::string_view line, FeedLine& out, std::string& error) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::string_view content = trim(line);
  if (content.empty() || content.front() == '#') return Status::Skipped;
  if (!split(line, error)) return Status::Bad;
  if (count_ < 2) {
    error = fmt::format("expected {} (at least the first two)", kFeedColumns);
    return Status::Bad;
  }
  for (std::size_t i = count_; i < kFeedFields; ++i) fields_[i].clear();
  auto target = parse_target(fields_[0], options_, error);
  if (!target) return Status::Bad;
  const auto action = parse_action(fields_[1]);
  if (!action) {
    error = fmt::format("action '{}': expected block, allow or none", fields_[1]);
    return Status::Bad;
  }
  const auto expires = parse_expiry(fields_[3], now_, error);
  if (!expires) return Status::Bad;
  for (std::size_t i : {std::size_t{2}, std::size_t{4}}) {
    error = check_listing_text(i == 2 ? "reason" : "source", fields_[i]);
    if (!error.empty()) return Status::Bad;
  }
  out.target = std::move(*target);
  out.listing.action = *action;
  out.listing.reason = fields_[2];
  out.listing.source = fields_[4].empty() ? default_source_ : fields_[4];
  out.listing.created = now_;
  out.listing.expires = *expires;
  return Status::Listing;
}

std::string describe_fields(std::string_view target, const reputation::Record* record,
                            std::int64_t now);

std::optional<RampShown> ramp_shown(const conf::ThrottleConfig& throttle, const RepTarget& target,
                                    const reputation::Record* record, std::int64_t now) {
  if (!throttle.enabled ||
      (target.family != storage::Family::Ip && target.family != storage::Family::Network)) {
    return std::nullopt;
  }
  static const reputation::Record kNeverSeen;
  const auto history =
      throttle::history_of(record ? *record : kNeverSeen, now, throttle.hygiene_days);
  const auto allowance = throttle::ramp_allowance(throttle, history, now * 1'000'000);
  if (!allowance) return std::nullopt;
  return RampShown{*allowance, std::nullopt};
}

void append_feed_line(std::string& out, const RepTarget& target,
                      const reputation::Listing& listing) {
  out += target_text(target);
  out += ',';
  out += action_name(listing.action);
  out += ',';
  append_field(out, listing.reason);
  out += ',';
  if (listing.expires != 0) out += format_time(listing.expires);
  out += ',';
  append_field(out, listing.source);
  out += '\n';
}

std::string describe_record(std::string_view target, const reputation::Record* record,
                            std::int64_t now, std::optional<RampShown> ramp) {
  std::string text = describe_fields(target, record, now);
  if (ramp) {
    text += fmt::format("  ramp       a new sender: {} messages may be accepted today",
                        ramp->allowance);
    if (ramp->used) text += fmt::format(" ({} so far)", *ramp->used);
    text += '\n';
  }
  return text;
}

std::string describe_fields(std::string_view target, const reputation::Record* record,
                            std::int64_t now) {
  if (record == nullptr) return fmt::format("{}\n  no record\n", target);
  auto when = [](std::int64_t t) { return t == 0 ? std::string("never") : format_time(t); };
  std::string out = fmt::format("{}\n  first_seen {}\n  last_seen  {}\n", target,
                                when(record->first_seen), when(record->last_seen));
  out += fmt::format("  listing    {}", action_name(record->listing.action));
  if (record->listing.action != ListingAction::None) {
    out += fmt::format(" reason=\"{}\" source={} expires={}{}", record->listing.reason,
                       record->listing.source, when(record->listing.expires),
                       record->listing.active(now) ? "" : " (expired)");
  }
  if (target.starts_with(kLinkedTargetPrefix)) {
    // Nothing counts mail against a linked domain: its record is its listing.
    return out + fmt::format(
                     "\n  (a linked domain: block refuses messages that link to it, allow "
                     "skips its URI blocklist lookups)\n");
  }
  const auto t = reputation::totals(*record, now, kDescribeDays);
  out += fmt::format(
      "\n  last {} days: accepted={} rejected={} deferred={} invalid_recipients={} "
      "auth_failures={} complaints={}\n",
      kDescribeDays, t.accepted, t.rejected, t.deferred, t.invalid_recipients, t.auth_failures,
      t.complaints);
  for (const auto& verdict : reputation::assess(*record, nullptr, now, {})) {
    out += fmt::format("  signal     {} ({})\n", reputation::signal_name(verdict.signal),
                       verdict.reason);
  }
  return out;
}

}  // namespace mxgate::postmaster
