// The JSON form of an IpReport (GET /postmaster/?ip=IP with Accept: application/json); the
// fields are documented in portal.hpp.
#include <fmt/format.h>

#include "postmaster/page_parts.hpp"
#include "postmaster/portal_page.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::postmaster {
namespace {

std::string_view cause_name(IpReport::Cause cause) {
  switch (cause) {
    case IpReport::Cause::None:
      break;
    case IpReport::Cause::Listing:
      return "listing";
    case IpReport::Cause::Score:
      return "score";
    case IpReport::Cause::Deferral:
      return "deferral";
    case IpReport::Cause::Blocklist:
      return "blocklist";
  }
  return "";
}

std::string string_or_null(std::string_view text) {
  return text.empty() ? std::string("null") : fmt::format("\"{}\"", json_escape(text));
}

std::string time_or_null(std::int64_t at) {
  return at > 0 ? fmt::format("\"{}\"", format_time(at)) : std::string("null");
}

std::string reasons_json(const IpReport& r) {
  std::string out = ",\"reasons\":[";
  for (std::size_t i = 0; i < r.reasons.size(); ++i) {
    const auto& reason = r.reasons[i];
    const auto guidance = guidance_for(reason.signal);
    out += fmt::format(
        "{}{{\"signal\":\"{}\",\"text\":\"{}\",\"detail\":\"{}\",\"guidance\":\"{}\","
        "\"link\":\"{}#{}\"}}",
        i == 0 ? "" : ",", reputation::signal_name(reason.signal),
        json_escape(reason_text(r, reason)), json_escape(reason.detail),
        json_escape(guidance.advice), kBestPracticesPath, guidance.topic);
  }
  return out + "]";
}

std::string checks_json(const LiveChecks& c) {
  if (!c.ran) return {};
  std::string zones;
  for (const auto& zone : c.dnsbls) {
    zones += (zones.empty() ? "\"" : ",\"") + json_escape(zone) + "\"";
  }
  return fmt::format(
      ",\"checks\":{{\"ptr\":{},\"forward_confirmed\":{},\"generic\":{},\"lookup_failed\":{},"
      "\"reverse_dns_pass\":{},\"dnsbls\":[{}]}}",
      string_or_null(c.ptr), c.confirmed_name.empty() ? "false" : "true",
      c.generic ? string_or_null(*c.generic) : "null",
      c.lookup_failed ? "true" : "false", c.pass() ? "true" : "false", zones);
}

std::string delisting_json(const IpReport& r) {
  const auto d = decide_delist(r);
  std::string out = fmt::format(",\"delisting\":{{\"outcome\":\"{}\",\"review_because\":[",
                                outcome_name(d.outcome));
  const auto names = d.outcome == DelistDecision::Outcome::Review ? review_reason_names(d)
                                                                  : std::vector<std::string_view>{};
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}\"{}\"", i == 0 ? "" : ",", names[i]);
  }
  out += fmt::format("],\"last_delisted\":{},\"request\":", time_or_null(r.last_delisted));
  if (!r.request) return out + "null}";
  return out + fmt::format("{{\"state\":\"{}\",\"created\":{},\"decided\":{}}}}}",
                           delist_state_name(r.request->state), time_or_null(r.request->created),
                           time_or_null(r.request->decided));
}

}  // namespace

std::string render_report_json(const IpReport& r) {
  std::string out = fmt::format(
      "{{\"ip\":\"{}\",\"status\":\"{}\",\"cause\":{},\"listed_network\":{},\"allow_listed\":{}",
      json_escape(r.ip), status_name(r.status), string_or_null(cause_name(r.cause)),
      string_or_null(r.listed_network), r.allow_listed ? "true" : "false");
  out += fmt::format(",\"since\":{},\"until\":{}", time_or_null(r.since), time_or_null(r.until));
  out += reasons_json(r);
  out += linked_domain_json(r);
  if (r.ramp_allowance && r.status == IpReport::Status::NotListed) {
    out += fmt::format(",\"ramp_allowance_per_day\":{}", *r.ramp_allowance);
  }
  out += checks_json(r.checks);
  out += delisting_json(r);
  return out + "}\n";
}

}  // namespace mxgate::postmaster
