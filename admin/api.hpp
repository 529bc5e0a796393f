// The admin API of a running server, on the HTTP listener (http/server.hpp): reputation
// listings while the server holds the store. `mxgate rep` falls back to it automatically
// (rep_command.hpp); scripts can use it with curl. Plain text in, plain text out.
//
// <target>: an IP, a network ("192.0.2.0/24"), a sender domain ("domain:example.com") or a linked
// domain ("uri:evil.example", "uri:192.0.2.7"; issue 17): postmaster::parse_target().
//   GET    /admin/rep/<target>       200: the record as `mxgate rep get` prints it, with the
//                                    network listings that apply to an IP (rep_records.hpp);
//                                    404: the same form, "no record" (of its own)
//   PUT    /admin/rep/<target>       form body (application/x-www-form-urlencoded):
//                                    action=block|allow|none (required), reason=, expires=
//                                    (the expiry grammar of postmaster/record_text.hpp), source=
//                                    (default "admin-api"). Synced write. 200 "<target> blocked\n";
//                                    none clears the listing and keeps counters and history
//                                    (`rep set --clear`): 200, or 404 "no record for <target>,
//                                    nothing to clear"
//   DELETE /admin/rep/<target>       deletes the record (listing, counters, history).
//                                    200 "<target> deleted\n"; 404 "no record for <target>,
//                                    nothing deleted"
//   POST   /admin/rep/ingest         body: one "<family> <absolute path of an SST file>" line
//                                    (family: ip, network, sender_domain, linked_domain)
//                                    per file, as `mxgate rep import` writes them; ingested in
//                                    order, copied (the files stay the caller's).
//                                    200 "ingested <n> files\n"
//   GET    /admin/rep/export[?family=ip|network|domain|uri|all]   200 text/csv, chunked: the
//                                    active listings in the feed format (record_text.hpp): IPs,
//                                    networks, sender domains, then linked domains
//   /admin/queue...                  queue mode's spool, as `mxgate queue` (queue_command.hpp);
//                                    404 "queue mode is off ..." in inline mode
//   GET    /admin/delist[?state=open|approved|denied|all]   the postmaster portal's delisting
//                                    requests (delist.hpp), newest first, one per line:
//                                    ip TAB state TAB created TAB contact TAB decided_by TAB
//                                    explanation (newlines as \n); default state=open
//   POST   /admin/delist/<ip>/approve | /deny   form: note= (optional). Approving clears the
//                                    IP's listing (even an operator's) and softens its history;
//                                    a line "note: the network ... is still blocked" follows when
//                                    a network's block still refuses it.
//                                    404 without a request, 409 when it is not open
//   POST   /admin/reload             re-reads the configuration (as SIGHUP); 200 "reloaded\n",
//                                    or 500 with why the old one stays
//   POST   /admin/drain              starts a graceful stop (as SIGTERM) once its reply, 202
//                                    "draining\n", has been sent
//   POST   /admin/arf                body: a complaint report (RFC 5965, arf.hpp), at most 1 MiB.
//                                    A complaint is counted against its Source-IP and its
//                                    Reported-Domain and Original-Mail-From domains (the
//                                    complaint_rate signal: over 0.3% of delivered mail, the
//                                    sender is deferred). 200 "counted ...", 400 for a report
//                                    that is not one
// <ip-or-cidr> may be percent-encoded (192.0.2.0%2F24). Errors: 400 with the problem (bad
// target, field or file list), 403 for a peer that is not loopback, 404 unknown path, 405 with
// Allow for a wrong method, 413 for a body over http::Limits::max_body_bytes, 500 with the
// store's error. A store error in the middle of an export closes the connection before the
// last chunk, so the client sees an incomplete transfer.
//
// Access: only peers on 127.0.0.0/8 or ::1 (IPv4-mapped too), and only with the bearer token
// (token.hpp): 401 with "WWW-Authenticate: Bearer" without it or with another.
//
// Threading: serve() runs on the HTTP listener's thread (the control thread). GET/PUT/DELETE
// block it for one store read or one synced write (about a millisecond); an export walks the
// store kExportBatchRecords records at a time between socket writes; ingestion (it copies whole
// files) and queue operations (they read and write the spool) run on `blocking` when one is
// given, and the request waits for them.
// Failure: errors become HTTP replies; nothing is thrown to the listener.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "admin/paths.hpp"
#include "http/handler.hpp"
#include "postmaster/record_text.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::policy {
class Throttling;
}
namespace mxgate::postmaster {
struct PostmasterMetrics;
}
namespace mxgate::relay {
class QueueClaims;
}

namespace mxgate::admin {

class Api final : public http::Handler {
 public:
  // `store` must outlive the API and every connection that uses it.
  explicit Api(storage::ReputationStore& store, boost::asio::any_io_executor blocking = {});
  // The live throttle, so that a record shows a new sender's ramp and today's count.
  void set_throttling(policy::Throttling* throttling) { throttling_ = throttling; }
  // What the server does for POST /admin/reload and /admin/drain (on the listener's thread).
  struct Control {
    std::function<std::string()> reload;  // "" once in use, else why not
    std::function<void()> drain;
  };
  void set_control(Control control) { control_ = std::move(control); }
  void set_metrics(postmaster::PostmasterMetrics* metrics) { metrics_ = metrics; }
  // The bearer token every request must carry (token.hpp); empty: none required.
  void set_token(std::string token) { token_ = std::move(token); }
  // Queue mode's spool and the runners' claims (both outlive the API).
  void set_queue(storage::Spool* spool, relay::QueueClaims* claims) {
    spool_ = spool;
    claims_ = claims;
  }

  static bool handles(std::string_view target);  // the target is under /admin/
  bool takes(std::string_view target) const override { return handles(target); }
  std::size_t body_limit() const override;  // room for a complaint report (kMaxArfBytes)
  static bool allowed_peer(const boost::asio::ip::address& peer);

  // Answers `request` (already read) on `stream`, each write bounded by `timeout`. co_returns
  // whether the connection may carry another request.
  boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, http::Request request,
                                     boost::asio::ip::address peer,
                                     std::chrono::milliseconds timeout) override;

  // The reply to every request but an export and an ingestion (those need I/O); version,
  // keep-alive and Content-Length are left to the caller. For tests, too.
  http::Response answer(const http::Request& request, std::int64_t now);

 private:
  boost::asio::awaitable<http::Response> ingest(const http::Request& request);
  boost::asio::awaitable<bool> stream_export(boost::beast::tcp_stream& stream,
                                             const http::Request& request,
                                             std::chrono::milliseconds timeout);
  http::Response queue_request(const http::Request& request, std::string_view path);
  http::Response delist_request(const http::Request& request, std::string_view path,
                                std::int64_t now);
  http::Response control_request(const http::Request& request, std::string_view path);
  http::Response arf_request(const http::Request& request, std::int64_t now);
  std::string network_still_blocked(const std::string& ip, std::int64_t now);
  http::Response record_request(const http::Request& request, std::string_view target,
                                std::int64_t now);

  std::optional<postmaster::RampShown> live_ramp(const postmaster::RepTarget& target,
                                                 const reputation::Record* record,
                                                 std::int64_t now) const;
  storage::ReputationStore& store_;
  policy::Throttling* throttling_ = nullptr;
  std::string token_;
  Control control_;
  postmaster::PostmasterMetrics* metrics_ = nullptr;
  storage::Spool* spool_ = nullptr;
  relay::QueueClaims* claims_ = nullptr;
  boost::asio::any_io_executor blocking_;
};

}  // namespace mxgate::admin
