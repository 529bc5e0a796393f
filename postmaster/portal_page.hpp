// The postmaster portal's content (issues 8 and 15), pure: the HTML and JSON forms of an
// IpReport (ip_report.hpp), the answer to a delisting request, the lookup form and the
// best-practices page. The portal (portal.hpp) gathers the facts; this file only renders them,
// so that tests can feed it any report.
//
// The page is written for a sender who got a 554 or a 421 and followed its link: the status
// in one word and one sentence (what is listed: the address, or the network containing it),
// human dates in UTC with "in 3 days" / "2 hours ago", each reason in plain words (signal
// names only in a small "for support" code), what to do, the reverse-DNS checks, and what a
// delisting request would lead to (decide_delist) before its form. The JSON keeps RFC 3339
// times; its fields are documented in portal.hpp.
// Every piece of text that came from outside (listing reasons, PTR names, input) is escaped
// for HTML and for JSON on output.
// Threading: pure functions. Failure: none; unknown signals fall back to generic words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "postmaster/ip_report.hpp"

namespace mxgate::postmaster {

inline constexpr std::string_view kPortalPath = "/postmaster/";
inline constexpr std::string_view kBestPracticesPath = "/postmaster/best-practices";
inline constexpr std::string_view kStylePath = "/postmaster/style.css";
inline constexpr std::string_view kDelistPath = "/postmaster/delist";

// The best-practices section (anchor) and the advice for a signal.
struct Guidance {
  std::string_view topic;   // anchor on the best-practices page, e.g. "rdns"
  std::string_view advice;  // one or two sentences
};
Guidance guidance_for(reputation::Signal signal);
// The reason in a sender's words ("Our operators listed the network 198.51.100.0/24.").
std::string reason_text(const IpReport& report, const PortalReason& reason);

std::string html_escape(std::string_view text);
std::string json_escape(std::string_view text);  // without the quotes

std::string render_report_html(const IpReport& report);
std::string render_report_json(const IpReport& report);
// The lookup form alone, with an optional error ("not an IP address").
std::string render_lookup_html(std::string_view error);
std::string render_best_practices_html();
std::string_view portal_stylesheet();

// What became of a delisting request (the JSON "result", the metric's outcome label).
enum DelistOutcome : std::size_t {
  kApproved,     // delisted at once
  kQueued,       // waiting for an operator
  kNotNeeded,    // a throttle deferral or an outside blocklist: nothing we could delist
  kAlreadyOpen,  // a request for the IP is already open
  kQuota,        // the contact made portal.delist_requests_per_day requests today
  kInvalid,
  kNotListed,
  kError,
  kDelistOutcomes
};
std::string_view delist_result_name(DelistOutcome outcome);  // "approved", "already-open", ...

// What the answer to a delisting request says.
struct DelistAnswer {
  DelistOutcome outcome = kError;
  std::string problem;               // kInvalid, kError: what is wrong, in words for the sender
  const IpReport* report = nullptr;  // the IP as judged before the request (when it was)
};
// The page after a POST: what became of the request and what happens next (how soon a
// delisting takes effect, keeping mail clean, the 30-day rule, where to see the state).
std::string render_delist_html(const DelistAnswer& answer);
std::string render_delist_json(const DelistAnswer& answer);

}  // namespace mxgate::postmaster
