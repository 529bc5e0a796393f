// The postmaster portal's content (issue 8), pure: what the page says about one IP, and its
// HTML and JSON forms. The portal (portal.hpp) gathers the facts; this file only judges and
// renders them, so that tests can feed it any record.
//
// An IpReport holds, for the one IP asked about (nothing about any other address is shown):
// - status: blocked (a listing of the IP or its network, or a score at reputation.reject_at),
//   deferred (a score at defer_at, or a throttle deferral in effect), or not listed; since and
//   until when, where known;
// - each reason in plain words, with the best practice that fixes it (a link to a section of
//   the best-practices page);
// - the reverse-DNS checks run at request time (PTR, forward confirmation, generic names).
// Every piece of text that came from outside (listing reasons, PTR names) is escaped for HTML
// and for JSON on output.
// Threading: pure functions. Failure: none; unknown signals fall back to generic words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reputation/model.hpp"
#include "reputation/policy.hpp"
#include "reputation/record.hpp"
#include "reputation/verdict.hpp"

namespace mxgate::postmaster {

inline constexpr std::string_view kPortalPath = "/postmaster/";
inline constexpr std::string_view kBestPracticesPath = "/postmaster/best-practices";
inline constexpr std::string_view kStylePath = "/postmaster/style.css";
inline constexpr std::string_view kDelistPath = "/postmaster/delist";

struct LiveChecks {
  bool ran = false;
  std::string ptr;                     // the first PTR name, "" for none
  std::string confirmed_name;          // a PTR name that resolves back to the IP, "" for none
  bool lookup_failed = false;          // a DNS lookup failed: the result is not final
  std::optional<std::string> generic;  // why the PTR name looks generic
  std::vector<std::string> dnsbls;     // the configured block lists (not allow lists) listing
                                       // the IP now
  bool pass() const { return ran && !confirmed_name.empty() && !generic; }
};

struct PortalReason {
  reputation::Signal signal = reputation::Signal::None;
  std::string detail;  // the record's own words (a listing's reason), may be empty
};

struct IpReport {
  enum class Status { NotListed, Deferred, Blocked };
  std::string ip;
  Status status = Status::NotListed;
  bool allowed = false;    // an allow listing
  bool manual = false;     // blocked by a listing that an operator or a feed made (not "auto...")
  std::int64_t since = 0;  // Unix seconds, 0: unknown
  std::int64_t until = 0;  // Unix seconds, 0: unknown or never
  std::vector<PortalReason> reasons;
  LiveChecks checks;
  std::optional<std::uint64_t> ramp_allowance;  // a new IP's messages per day
};

// A throttle deferral of the IP that may still be in effect.
struct DeferralShown {
  reputation::Signal signal = reputation::Signal::RateLimited;
  std::string reason;
  std::int64_t at = 0;
  std::int64_t until = 0;
};

// Judges an IP from its record and its networks' (nullptr: none), as the connect stage would.
IpReport judge_ip(std::string ip, const reputation::Record* ip_record,
                  const std::vector<const reputation::Record*>& networks,
                  const reputation::ModelSettings& model, const reputation::Thresholds& thresholds,
                  const std::optional<DeferralShown>& deferral, std::int64_t now);

std::string_view status_name(IpReport::Status status);  // "not listed", "deferred", "blocked"

// The best-practices section (anchor) and the advice for a signal.
struct Guidance {
  std::string_view topic;   // anchor on the best-practices page, e.g. "rdns"
  std::string_view advice;  // one or two sentences
};
Guidance guidance_for(reputation::Signal signal);

std::string html_escape(std::string_view text);
std::string json_escape(std::string_view text);  // without the quotes

std::string render_report_html(const IpReport& report);
std::string render_report_json(const IpReport& report);
// The lookup form alone, with an optional error ("not an IP address").
std::string render_lookup_html(std::string_view error);
std::string render_best_practices_html();
// A short page after a delisting request: a title, a sentence, and the checks when given.
std::string render_notice_html(std::string_view title, std::string_view message,
                               const LiveChecks* checks);
std::string_view portal_stylesheet();

}  // namespace mxgate::postmaster
