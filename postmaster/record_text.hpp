// The text of `mxgate rep` and of the admin API (admin_api.hpp): targets, listing actions,
// expiry times, the listing feed format of `rep import` / `rep export`, and the description of
// a record that `rep get` prints.
//
// Feed format: CSV, one listing per line, fields separated by commas:
//   ip_or_cidr,action,reason,expiry[,source]
//   192.0.2.7,block,"spam trap hits, 3 days",7d
//   198.51.100.0/24,block,snowshoe range,2026-12-31T00:00:00Z,spamhaus-drop
//   2001:db8::7,allow,,,
// - ip_or_cidr: an IPv4/IPv6 address, or a network whose prefix length is one that connect-time
//   lookups use (StoreOptions::v4_network_prefixes / v6_network_prefixes: /24; /48 and /64 by
//   default). A /32 or /128 is an address; host bits of a network are cleared. Any other target
//   of parse_target() too: "domain:example.com" (a sender domain), "uri:evil.example" (a linked
//   domain, issue 17).
// - action: block, allow, or none (clears the key's listing); any letter case.
// - reason: free text (at most kMaxListingText bytes, no control characters).
// - expiry: empty (never); a duration from now ("7d", "12h", "30m", "90s"); an RFC 3339 time
//   ("2026-12-31T00:00:00Z", "2026-12-31T02:00:00+02:00"); or Unix seconds ("1798675200").
// - source (optional): who listed it; empty means the import's default ("import:<file>").
// A field may be quoted as in RFC 4180 ("a, b" and "say ""hi""") but must end on its line.
// Missing trailing fields are empty. Spaces around fields are ignored. Blank lines and lines
// starting with '#' are skipped. A trailing CR (CRLF files) is ignored.
// Export writes active listings in this format, so an export imports back to the same listings.
//
// Pure functions, thread-safe, never throw on input text: a problem comes back as a message that
// names the field and what is expected.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "reputation/record.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::postmaster {

inline constexpr std::size_t kFeedFields = 5;
// A sender domain's listing is named "domain:example.com" (MAIL FROM domains, checked at MAIL).
inline constexpr std::string_view kDomainTargetPrefix = "domain:";
// A linked domain's listing (issue 17) is named "uri:evil.example" or "uri:192.0.2.7": a domain
// or IP literal that messages link to (URLs in text and HTML parts, reduced to their registrable
// domain), checked at end of data. block: a message linking to it is refused (554 5.7.1 at end
// of data, the client IP's portal page names the domain); allow: the domain is never looked up
// in URI blocklists ([[dnsbl]] type "uri"), so that a domain of one's own that a list names by
// mistake costs nothing.
inline constexpr std::string_view kLinkedTargetPrefix = storage::kLinkedListingPrefix;
inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::string_view kFeedColumns = "ip_or_cidr,action,reason,expiry,source";

// A key of the store: an IP, a network, a sender domain or a linked domain.
struct RepTarget {
  storage::Family family = storage::Family::Ip;
  std::string key;  // storage/key_codec.hpp
};

// "192.0.2.7", "2001:db8::7", "192.0.2.0/24", "domain:example.com", "uri:evil.example",
// "uri:192.0.2.7" (also "uri:[2001:db8::7]"). nullopt with `error` set when it is not an
// address, a network of a prefix length that `options` looks up at connect, or a domain name;
// and for a uri: domain that is not registrable (content::registrable_domain): links are looked
// up by their registrable domain, so "uri:www.evil.example" would never match (the error names
// "uri:evil.example").
std::optional<RepTarget> parse_target(std::string_view text, const storage::StoreOptions& options,
                                      std::string& error);
// Canonical: "2001:db8::7", "192.0.2.0/24", "domain:example.com", "uri:evil.example".
std::string target_text(const RepTarget& target);

std::optional<reputation::ListingAction> parse_action(std::string_view text);
std::string_view action_name(reputation::ListingAction action);  // "block", "allow", "none"

// The expiry grammar above: Unix seconds, 0 for never. nullopt with `error` set otherwise.
std::optional<std::int64_t> parse_expiry(std::string_view text, std::int64_t now,
                                         std::string& error);
std::string format_time(std::int64_t unix_seconds);  // "2026-12-31T00:00:00Z"

// A reason or source: at most kMaxListingText bytes, no control characters. Empty if fine.
std::string check_listing_text(std::string_view what, std::string_view text);

struct FeedLine {
  RepTarget target;
  reputation::Listing listing;
};

// Reads feed lines; keeps its field buffers between lines (millions of lines, no allocation
// per line once warm).
class FeedParser {
 public:
  // `now` is the import time: created time of every listing and base of relative expiries.
  FeedParser(storage::StoreOptions options, std::int64_t now, std::string default_source);

  enum class Status { Listing, Skipped, Bad };
  // One line without its LF. Listing: `out` is set. Bad: `error` says what is wrong.
  Status parse(std::string_view line, FeedLine& out, std::string& error);

 private:
  bool split(std::string_view line, std::string& error);

  storage::StoreOptions options_;
  std::int64_t now_;
  std::string default_source_;
  std::array<std::string, kFeedFields> fields_;
  std::size_t count_ = 0;  // fields in the current line
};

// Appends one feed line (ending in '\n') that FeedParser reads back as `listing` (control
// characters in texts become spaces; the created time is not part of the format).
void append_feed_line(std::string& out, const RepTarget& target,
                      const reputation::Listing& listing);

// A new sender's volume ramp (issue 6), shown by `rep get`.
struct RampShown {
  std::uint64_t allowance = 0;        // messages it may have accepted today
  std::optional<std::uint64_t> used;  // accepted today, when the running server says
};

// What `rep get` prints: the record's listing, 30-day counters and signals, or "no record";
// and the ramp of an IP or network that is still new.
std::string describe_record(std::string_view target, const reputation::Record* record,
                            std::int64_t now, std::optional<RampShown> ramp = std::nullopt);

std::int64_t wall_seconds();  // now, in Unix seconds

// The ramp of an IP or network target under `throttle` (allowance only), or nullopt (domains:
// sender and linked domains have no ramp).
std::optional<RampShown> ramp_shown(const conf::ThrottleConfig& throttle, const RepTarget& target,
                                    const reputation::Record* record, std::int64_t now);

}  // namespace mxgate::postmaster
