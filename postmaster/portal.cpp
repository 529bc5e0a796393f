#include "postmaster/portal.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "auth/iprev.hpp"
#include "common/cidr.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "io/blocking.hpp"
#include "policy/dns_checks.hpp"
#include "policy/rules.hpp"
#include "policy/throttling.hpp"
#include "postmaster/delist.hpp"
#include "postmaster/metrics.hpp"
#include "reputation/dnsbl.hpp"
#include "reputation/sender_rules.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::postmaster {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kCssType = "text/css; charset=utf-8";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
constexpr std::size_t kMaxRateWindows = 100000;  // client IPs tracked per minute
constexpr std::size_t kMaxIpText = 64;

struct DelistReply {
  beast::http::status status;
  std::string_view label;  // metric
};
// Indexed by DelistOutcome (portal_page.hpp).
constexpr DelistReply kDelistReplies[kDelistOutcomes] = {
    {beast::http::status::ok, "approved"},
    {beast::http::status::accepted, "queued"},
    {beast::http::status::ok, "not_needed"},
    {beast::http::status::conflict, "already_open"},
    {beast::http::status::too_many_requests, "quota"},
    {beast::http::status::bad_request, "invalid"},
    {beast::http::status::ok, "not_listed"},
    {beast::http::status::internal_server_error, "error"},
};

http::Response respond(beast::http::status status, std::string_view type, std::string body) {
  http::Response res{status, 11};
  res.set(beast::http::field::server, "mxgate");
  res.set(beast::http::field::content_type, type);
  set_portal_headers(res);
  res.body() = std::move(body);
  return res;
}

bool wants_json(const http::Request& request) {
  const auto accept = request[beast::http::field::accept];
  return accept.find("application/json") != std::string_view::npos;
}

// The checks at request time: PTR, forward confirmation, generic names, and the configured
// IP block lists (RFC 5782).
asio::awaitable<LiveChecks> live_checks(
    dns::Resolver& resolver, common::IpBytes ip,
    std::vector<std::shared_ptr<const policy::DnsblZone>> zones) {
  LiveChecks checks;
  checks.ran = true;
  const auto iprev = co_await auth::check_iprev(resolver, ip);
  checks.ptr = iprev.name;
  if (iprev.result == auth::IprevResult::Pass) checks.confirmed_name = iprev.name;
  checks.lookup_failed = iprev.result == auth::IprevResult::TempError;
  if (!checks.ptr.empty()) checks.generic = reputation::generic_ptr_reason(ip, checks.ptr);
  for (const auto& zone : zones) {
    const auto& c = zone->config;
    if (c.type != conf::DnsblConfig::Type::Ip || c.weight < 0) continue;  // allow lists
    const auto lookup = co_await resolver.addresses(reputation::dnsbl_query_name(ip, c.zone), 4);
    std::vector<std::array<std::uint8_t, 4>> answers;
    for (const auto& record : lookup.records) {
      const auto& b = record.address.bytes;
      if (record.address.family == 4) answers.push_back({b[0], b[1], b[2], b[3]});
    }
    if (reputation::judge_dnsbl_answer(answers, zone->filters) == reputation::DnsblResult::Listed) {
      checks.dnsbls.push_back(c.zone);
    }
  }
  co_return checks;
}

// A listing weighs as the zone's [[dnsbl]] entry says: an action, or points. A blocklist that
// blocks, or defers an address we would accept, is what decides its status.
void apply_blocklists(IpReport& report,
                      const std::vector<std::shared_ptr<const policy::DnsblZone>>& zones,
                      const reputation::Thresholds& thresholds) {
  for (const auto& zone : zones) {
    const auto& c = zone->config;
    const auto& listing = report.checks.dnsbls;
    if (std::find(listing.begin(), listing.end(), c.zone) == listing.end()) continue;
    const bool blocks = c.action == conf::DnsblConfig::Action::Reject ||
                        (c.action == conf::DnsblConfig::Action::Score && thresholds.reject_at > 0 &&
                         c.weight >= thresholds.reject_at);
    const bool defers = c.action == conf::DnsblConfig::Action::Defer ||
                        (c.action == conf::DnsblConfig::Action::Score && thresholds.defer_at > 0 &&
                         c.weight >= thresholds.defer_at);
    if (blocks && report.status != IpReport::Status::Blocked) {
      report.status = IpReport::Status::Blocked;
      report.cause = IpReport::Cause::Blocklist;
      report.listed_network.clear();
    } else if (defers && report.status == IpReport::Status::NotListed) {
      report.status = IpReport::Status::Deferred;
      report.cause = IpReport::Cause::Blocklist;
    }
    report.reasons.push_back({reputation::Signal::DnsblListed, "listed on " + c.zone});
  }
}

}  // namespace

void set_portal_headers(http::Response& res) {
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
          "base-uri 'none'");
  res.set(beast::http::field::x_frame_options, "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set(beast::http::field::cache_control, "no-store");
}

Portal::Portal(storage::ReputationStore& store, asio::any_io_executor blocking,
               dns::Resolver* resolver, std::function<std::shared_ptr<const policy::Rules>()> rules,
               policy::Throttling* throttling, PostmasterMetrics& metrics)
    : store_(store),
      blocking_(std::move(blocking)),
      resolver_(resolver),
      rules_(std::move(rules)),
      throttling_(throttling),
      metrics_(metrics) {
  for (std::size_t i = 0; i < kDelistOutcomes; ++i) {
    delist_outcomes_[i] =
        &metrics_.delist_requests.Add({{"outcome", std::string(kDelistReplies[i].label)}});
  }
}

bool Portal::takes(std::string_view target) const {
  return target.starts_with(kPortalPath.substr(0, kPortalPath.size() - 1));
}

bool Portal::over_rate(const asio::ip::address& peer, std::uint32_t per_minute) {
  if (per_minute == 0) return false;
  const std::int64_t minute = common::unix_seconds() / 60;
  if (windows_.size() >= kMaxRateWindows) {
    std::erase_if(windows_, [&](const auto& w) { return w.second.minute != minute; });
  }
  auto& window = windows_[peer.to_string()];
  if (window.minute != minute) window = Window{minute, 0};
  return ++window.count > per_minute;
}

asio::awaitable<std::optional<IpReport>> Portal::report_for(common::IpBytes ip) {
  const auto ip_text = common::ip_text(ip);
  const auto address = asio::ip::make_address(ip_text);
  const auto rules = rules_();
  const auto& reputation = rules->config->reputation;
  struct Stored {
    storage::ConnectLookup lookup;
    std::optional<DelistRequest> request;
    std::int64_t last_delisted = 0;
    std::optional<storage::LinkedDomainNote> note;
  };
  const auto stored = co_await io::run_blocking(blocking_, [&] {
    return Stored{store_.get_connect(address), find_delist(store_, ip_text),
                  last_delisted(store_, ip_text),
                  store_.linked_domain_note(storage::ip_key(address))};
  });
  const auto& lookup = stored.lookup;
  if (lookup.ip.state == storage::Lookup::Error) co_return std::nullopt;
  const std::int64_t now = common::unix_seconds();
  std::vector<NetworkShown> networks;
  for (const auto& n : lookup.networks) {
    networks.push_back({storage::key_to_text(storage::Family::Network, n.key).value_or(""),
                        n.state == storage::Lookup::Found ? &n.record : nullptr});
  }
  std::optional<DeferralShown> deferral;
  if (throttling_ != nullptr) {
    if (auto last = throttling_->rules().last_deferral(lookup.ip.key)) {
      deferral = DeferralShown{last->limit == "ramp" || last->limit == "network-ramp"
                                   ? reputation::Signal::NewIpRamp
                                   : reputation::Signal::RateLimited,
                               last->reason, last->at_us / 1'000'000, last->until_us / 1'000'000};
    }
  }
  const auto* record = lookup.ip.state == storage::Lookup::Found ? &lookup.ip.record : nullptr;
  auto report =
      judge_ip(ip_text, record, networks, reputation.model, reputation.thresholds, deferral, now);
  report.request = stored.request;
  report.last_delisted = stored.last_delisted;
  if (stored.note && storage::linked_domain_note_shown(*stored.note, now)) {
    report.linked_domain = stored.note;
  }
  if (throttling_ != nullptr) {
    static const reputation::Record kNeverSeen;
    const auto history = throttle::history_of(record ? *record : kNeverSeen, now, 1);
    if (auto ramp = throttling_->rules().ramp(lookup.ip.key, history, now * 1'000'000)) {
      report.ramp_allowance = ramp->allowance;
    }
  }
  if (resolver_ != nullptr) {
    report.checks = co_await live_checks(*resolver_, ip, rules->dnsbls);
    apply_blocklists(report, rules->dnsbls, reputation.thresholds);
  }
  co_return report;
}

asio::awaitable<http::Response> Portal::lookup(const http::Request& request, std::string ip_text) {
  const bool json = wants_json(request);
  const auto ip = ip_text.size() <= kMaxIpText ? common::parse_ip(ip_text) : std::nullopt;
  if (!ip) {
    metrics_.portal_lookups_invalid.Increment();
    const std::string problem = "Not an IP address: give an IPv4 or IPv6 address.";
    co_return json
        ? respond(beast::http::status::bad_request, kJsonType,
                  fmt::format("{{\"error\":\"{}\"}}\n", json_escape(problem)))
        : respond(beast::http::status::bad_request, kHtmlType, render_lookup_html(problem));
  }
  const auto report = co_await report_for(*ip);
  if (!report) {
    co_return respond(beast::http::status::internal_server_error, kTextType,
                      "the reputation store could not be read; try again later\n");
  }
  (report->status == IpReport::Status::Blocked    ? metrics_.portal_lookups_blocked
   : report->status == IpReport::Status::Deferred ? metrics_.portal_lookups_deferred
                                                  : metrics_.portal_lookups_not_listed)
      .Increment();
  co_return json ? respond(beast::http::status::ok, kJsonType, render_report_json(*report))
                 : respond(beast::http::status::ok, kHtmlType, render_report_html(*report));
}

http::Response Portal::delist_reply(bool json, const DelistAnswer& answer) {
  delist_outcomes_[answer.outcome]->Increment();
  const auto status = kDelistReplies[answer.outcome].status;
  return json ? respond(status, kJsonType, render_delist_json(answer))
              : respond(status, kHtmlType, render_delist_html(answer));
}

asio::awaitable<http::Response> Portal::delist(const http::Request& request) {
  const bool json = wants_json(request);
  const std::string_view form = request.body();
  const auto ip_text = common::form_value(form, "ip").value_or("");
  const auto contact = common::form_value(form, "contact").value_or("");
  const auto explanation = common::form_value(form, "explanation").value_or("");
  const auto ip = ip_text.size() <= kMaxIpText ? common::parse_ip(ip_text) : std::nullopt;
  std::string problem =
      !ip ? "Not an IP address: give an IPv4 or IPv6 address." : check_contact(contact);
  if (problem.empty()) problem = check_explanation(explanation);
  if (!problem.empty()) co_return delist_reply(json, {kInvalid, problem});
  const auto report = co_await report_for(*ip);
  if (!report) {
    co_return delist_reply(json, {kError,
                                  "The reputation store could not be read; nothing was "
                                  "changed. Try again in a few minutes."});
  }
  // The page offered (or did not offer) the form on this same decision.
  const auto decision = decide_delist(*report);
  switch (decision.outcome) {
    case DelistDecision::Outcome::NotListed:
      co_return delist_reply(json, {kNotListed, {}, &*report});
    case DelistDecision::Outcome::RequestOpen:
      co_return delist_reply(json, {kAlreadyOpen, {}, &*report});
    case DelistDecision::Outcome::WaitsOut:
    case DelistDecision::Outcome::AskBlocklist:
      co_return delist_reply(json, {kNotNeeded, {}, &*report});
    case DelistDecision::Outcome::Immediate:
    case DelistDecision::Outcome::Review:
      break;
  }
  const auto per_day = rules_()->config->portal.delist_requests_per_day;
  const std::int64_t now = common::unix_seconds();
  const bool immediate = decision.outcome == DelistDecision::Outcome::Immediate;
  DelistRequest made{report->ip, contact, explanation, now};
  const auto outcome = co_await io::run_blocking(blocking_, [&] {
    // Read again: another request may have been made since the report.
    if (auto existing = find_delist(store_, made.ip);
        existing && existing->state == DelistRequest::State::Open) {
      return kAlreadyOpen;
    }
    if (!take_quota(store_, contact, per_day, now)) return kQuota;
    if (immediate) {
      return approve_delist(store_, made, "policy",
                            "automatic listing, reverse DNS passes, not delisted in 30 days", false,
                            now)
                 ? kError
                 : kApproved;
    }
    return save_delist(store_, made) ? kError : kQueued;
  });
  spdlog::info("portal_delist ip={} outcome={} decision={}", made.ip, kDelistReplies[outcome].label,
               outcome_name(decision.outcome));
  co_return delist_reply(json, {outcome, {}, &*report});
}

asio::awaitable<http::Response> Portal::answer(const http::Request& request,
                                               const asio::ip::address& peer) {
  const auto rules = rules_();
  if (over_rate(peer, rules->config->portal.requests_per_minute)) {
    metrics_.portal_rate_limited.Increment();
    auto res = respond(beast::http::status::too_many_requests, kTextType,
                       "too many requests from your address; try again in a minute\n");
    res.set(beast::http::field::retry_after, "60");
    co_return res;
  }
  const std::string_view target = request.target();
  const auto q = std::min(target.find('?'), target.size());
  const std::string_view path = target.substr(0, q);
  const std::string_view query = target.substr(std::min(q + 1, target.size()));
  const bool get =
      request.method() == beast::http::verb::get || request.method() == beast::http::verb::head;
  if (path == kStylePath || path == kBestPracticesPath || path == kPortalPath ||
      path == kPortalPath.substr(0, kPortalPath.size() - 1)) {
    if (!get) {
      auto res =
          respond(beast::http::status::method_not_allowed, kTextType, "method not allowed\n");
      res.set(beast::http::field::allow, "GET, HEAD");
      co_return res;
    }
  }
  if (path == kStylePath)
    co_return respond(beast::http::status::ok, kCssType, std::string(portal_stylesheet()));
  if (path == kBestPracticesPath) {
    co_return respond(beast::http::status::ok, kHtmlType, render_best_practices_html());
  }
  if (path == kDelistPath) {
    if (request.method() != beast::http::verb::post) {
      auto res =
          respond(beast::http::status::method_not_allowed, kTextType, "method not allowed\n");
      res.set(beast::http::field::allow, "POST");
      co_return res;
    }
    auto res = co_await delist(request);
    co_return res;
  }
  if (path == kPortalPath || path == kPortalPath.substr(0, kPortalPath.size() - 1)) {
    auto ip = common::form_value(query, "ip");
    if (!ip) co_return respond(beast::http::status::ok, kHtmlType, render_lookup_html(""));
    auto res = co_await lookup(request, std::move(*ip));
    co_return res;
  }
  co_return respond(beast::http::status::not_found, kTextType, "not found\n");
}

asio::awaitable<bool> Portal::serve(boost::beast::tcp_stream& stream, http::Request request,
                                    asio::ip::address peer, std::chrono::milliseconds timeout) {
  auto res = co_await answer(request, peer);
  res.version(request.version());
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  if (request.method() == beast::http::verb::head) {
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  stream.expires_after(timeout);
  auto [ec, n] =
      co_await beast::http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  co_return !ec && res.keep_alive();
}

}  // namespace mxgate::postmaster
