// The postmaster portal (issues 8 and 15) on its own listener ([portal] listen, default
// 127.0.0.1:8080; the URL in every 554 and 421 reply leads here). Server-rendered pages, no
// external assets:
//   GET  /postmaster/                  the lookup form
//   GET  /postmaster/?ip=IP            the IP's status, reasons, guidance, live reverse-DNS
//                                      checks and delisting (portal_page.hpp); JSON with
//                                      "Accept: application/json". 400 for a bad IP.
//   GET  /postmaster/best-practices    what the reasons link to
//   GET  /postmaster/style.css         the only stylesheet
//   POST /postmaster/delist            a delisting request (delist.hpp): ip, contact,
//                                      explanation as a form; an HTML page (or JSON with
//                                      "Accept: application/json") says what became of it and
//                                      what happens next
// What a request leads to is decide_delist() (ip_report.hpp), which the page shows before its
// form: the page offers the form only when the POST takes the request.
//
// The lookup JSON (an API: add fields freely, rename none without saying so in the README):
//   ip               the address asked about, canonical text
//   status           "blocked" (we refuse its mail, 554), "deferred" (we refuse it for now,
//                    421) or "not listed" (we accept it)
//   cause            what decided the status: "listing" (our listing of the IP or of a
//                    network containing it), "score" (our reputation score), "deferral" (a
//                    throttle limit; ends by itself), "blocklist" (an outside DNS blocklist);
//                    null when not listed
//   listed_network   "198.51.100.0/24" when the listing is a network's (the reasons and times
//                    are the network's record); null when the address itself is judged
//   allow_listed     true when the address (or its network) is on our allow list, so that no
//                    score refuses it. (Was "allowed" before issue 15: a listing, not a
//                    permission to send; that is "status".)
//   since, until     RFC 3339 UTC times of the listing or deferral; null: unknown, or (until)
//                    no end date
//   reasons[]        {signal (machine name), text (plain words), detail (the lister's reason,
//                    or the throttle limit), guidance, link (best-practices anchor)}
//   linked_domain    the latest message from the address that was refused because it links to
//                    a listed domain (issue 17), for a week; null for none: {domain,
//                    listed_by ("uri:evil.example" for our listing, else the URI blocklist's
//                    zone), listed_by_us, reason, refused_at (RFC 3339), guidance, delisting
//                    (who can lift the listing and how: not this address's delisting form),
//                    link (best-practices anchor)}. It does not change status.
//   ramp_allowance_per_day  present while the address is new to us and may send (not blocked
//                    or deferred): mail beyond this many messages a day is deferred
//   checks           the live checks, when they ran: ptr (null: none), forward_confirmed,
//                    generic (why the name looks generic, or null), lookup_failed,
//                    reverse_dns_pass (PTR confirms forward and is not generic; blocklists
//                    not included. Was "pass" before issue 15), dnsbls (zones listing it)
//   delisting        what a request would lead to now: outcome ("immediate", "review",
//                    "request-open", "wait", "ask-blocklist", "not-listed"), review_because
//                    (for "review": "network-listing", "manual-listing", "relisted",
//                    "reverse-dns"), last_delisted (RFC 3339 or null), request (the latest
//                    request: {state "open"|"approved"|"denied", created, decided}, or null;
//                    never the contact)
// The POST's JSON: result ("approved" 200, "queued" 202, "not-needed" 200, "already-open" 409,
// "quota" 429, "invalid" 400, "not-listed" 200, "error" 500), message, ip and status_url (when
// the IP was judged), review_because (for "queued"), next_steps (sentences).
//
// Every response carries Content-Security-Policy (nothing but our own stylesheet and forms to
// ourselves; frame-ancestors 'none'), X-Content-Type-Options: nosniff, Referrer-Policy and
// Cache-Control: no-store. Each client IP may make portal.requests_per_minute requests a
// minute (then 429 with Retry-After).
// Threading: the HTTP listener's thread (the control thread); store reads run on `blocking`.
// Failure: errors are HTTP responses (500 for a store error); nothing is thrown.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/cidr.hpp"
#include "http/handler.hpp"
#include "postmaster/portal_page.hpp"

namespace prometheus {
class Counter;
}
namespace mxgate::dns {
class Resolver;
}
namespace mxgate::storage {
class ReputationStore;
}

namespace mxgate::policy {
struct Rules;
class Throttling;
}  // namespace mxgate::policy

namespace mxgate::postmaster {

struct PostmasterMetrics;

class Portal final : public http::Handler {
 public:
  // Everything given outlives the portal. `resolver` (may be null: no live checks) runs on
  // the listener's thread.
  Portal(storage::ReputationStore& store, boost::asio::any_io_executor blocking,
         dns::Resolver* resolver, std::function<std::shared_ptr<const policy::Rules>()> rules,
         policy::Throttling* throttling, PostmasterMetrics& metrics);

  bool takes(std::string_view target) const override;
  boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, http::Request request,
                                     boost::asio::ip::address peer,
                                     std::chrono::milliseconds timeout) override;

  // The response, without version and keep-alive (for tests, too).
  boost::asio::awaitable<http::Response> answer(const http::Request& request,
                                                const boost::asio::ip::address& peer);

 private:
  // The report on `ip`, or nullopt when the store could not be read.
  boost::asio::awaitable<std::optional<IpReport>> report_for(common::IpBytes ip);
  boost::asio::awaitable<http::Response> lookup(const http::Request& request, std::string ip_text);
  boost::asio::awaitable<http::Response> delist(const http::Request& request);
  bool over_rate(const boost::asio::ip::address& peer, std::uint32_t per_minute);
  http::Response delist_reply(bool json, const DelistAnswer& answer);

  storage::ReputationStore& store_;
  boost::asio::any_io_executor blocking_;
  dns::Resolver* resolver_;
  std::function<std::shared_ptr<const policy::Rules>()> rules_;
  policy::Throttling* throttling_;
  PostmasterMetrics& metrics_;
  std::array<prometheus::Counter*, kDelistOutcomes> delist_outcomes_{};  // by DelistOutcome
  struct Window {
    std::int64_t minute = 0;
    std::uint32_t count = 0;
  };
  std::unordered_map<std::string, Window> windows_;  // per client IP, this minute's requests
};

// The security headers of every portal response.
void set_portal_headers(http::Response& response);

}  // namespace mxgate::postmaster
