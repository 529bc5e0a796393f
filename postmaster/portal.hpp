// The postmaster portal (issue 8) on its own listener ([portal] listen, default 127.0.0.1:8080;
// the URL in every 554 and 421 reply leads here). Server-rendered pages, no external assets:
//   GET  /postmaster/                  the lookup form
//   GET  /postmaster/?ip=IP            the IP's status, reasons, guidance and live reverse-DNS
//                                      checks (portal_page.hpp); JSON with
//                                      "Accept: application/json". 400 for a bad IP.
//   GET  /postmaster/best-practices    what the reasons link to
//   GET  /postmaster/style.css         the only stylesheet
//   POST /postmaster/delist            a delisting request (delist.hpp): ip, contact,
//                                      explanation as a form; an HTML page (or JSON with
//                                      "Accept: application/json") says what became of it
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

// What became of a delisting request (the JSON "result", the metric's outcome label).
enum DelistOutcome : std::size_t {
  kApproved,
  kQueued,
  kChecksFail,
  kAlreadyOpen,
  kQuota,
  kInvalid,
  kNotListed,
  kError,
  kDelistOutcomes
};

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
  http::Response delist_reply(bool json, DelistOutcome outcome, std::string_view message = {},
                              const LiveChecks* checks = nullptr);

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
