#include "server/metrics.hpp"

#include "common/metric.hpp"

namespace mxgate::server {
namespace {

using common::counter;
using common::gauge;
using Name = common::MetricName;

constexpr Name kSessions{"mxgate_sessions_total", "SMTP sessions accepted"};
constexpr Name kRefused{"mxgate_sessions_refused_total", "Connections refused with 421 at connect"};
constexpr Name kActive{"mxgate_sessions_active", "SMTP sessions open now"};
constexpr Name kTimeouts{"mxgate_session_timeouts_total",
                         "Sessions closed with 421 4.4.2 after a read deadline"};
constexpr Name kErrorLimit{"mxgate_session_error_limit_total",
                           "Sessions closed after too many errors"};
constexpr Name kExceptions{"mxgate_session_exceptions_total",
                           "Sessions ended by an unexpected exception (a bug)"};
constexpr Name kTransactions{"mxgate_transactions_total", "Mail transactions by result"};
constexpr Name kReplies{"mxgate_replies_total", "SMTP replies sent to clients by class"};
constexpr Name kReceived{"mxgate_received_bytes_total",
                         "Message content octets received from clients"};
constexpr Name kBare{"mxgate_bare_line_endings_total",
                     "Bare CR or LF seen (SMTP smuggling attempts)"};
constexpr Name kHeldBytes{"mxgate_held_content_bytes",
                          "Held message content in memory, all sessions ([content] memory_budget)"};
constexpr Name kHeldSpilledBytes{"mxgate_held_content_spilled_bytes_total",
                                 "Held message content written to spill files"};
constexpr Name kHeldSpills{"mxgate_held_content_spills_total",
                           "Messages whose held content spilled to disk"};
constexpr Name kHeldRefusals{
    "mxgate_held_content_refusals_total",
    "DATA or BDAT refused with 451 4.3.1: the held content budget was used up"};
constexpr Name kProxy{"mxgate_proxy_headers_total", "PROXY protocol connections by result"};
constexpr Name kTarpitDelays{"mxgate_tarpit_delays_total",
                             "Replies delayed by the tarpit (clients that keep failing)"};
constexpr Name kTarpitSeconds{"mxgate_tarpit_seconds_total",
                              "Time replies were delayed by the tarpit"};
constexpr Name kTls{"mxgate_tls_handshakes_total",
                    "Inbound STARTTLS handshakes by protocol version and result"};
constexpr Name kCertificateExpiry{"mxgate_tls_certificate_expiry_timestamp_seconds",
                                  "When the configured TLS certificate expires (its notAfter, "
                                  "Unix seconds)"};
constexpr Name kInjection{"mxgate_starttls_injection_total",
                          "Sessions that pipelined plaintext behind STARTTLS"};
constexpr Name kShed{"mxgate_http_connections_shed_total",
                     "HTTP connections closed to keep a listener's slots for other clients, by "
                     "listener and reason"};
constexpr Name kReloads{"mxgate_config_reloads_total", "Configuration reloads by result"};

ServerMetrics::Shedding shedding(prometheus::Registry& r, const char* listener) {
  return {counter(r, kShed, {{"listener", listener}, {"reason", "evicted"}}),
          counter(r, kShed, {{"listener", listener}, {"reason", "refused"}}),
          counter(r, kShed, {{"listener", listener}, {"reason", "header_timeout"}})};
}
constexpr Name kDraining{"mxgate_draining", "1 while the server drains after SIGTERM"};

}  // namespace

ServerMetrics::ServerMetrics(prometheus::Registry& r)
    : sessions_accepted(counter(r, kSessions)),
      sessions_refused_global_limit(counter(r, kRefused, {{"reason", "global_limit"}})),
      sessions_refused_ip_limit(counter(r, kRefused, {{"reason", "ip_limit"}})),
      sessions_refused_network_limit(counter(r, kRefused, {{"reason", "network_limit"}})),
      sessions_active(gauge(r, kActive)),
      session_timeouts(counter(r, kTimeouts)),
      session_errors_limit(counter(r, kErrorLimit)),
      session_exceptions(counter(r, kExceptions)),
      transactions_accepted(counter(r, kTransactions, {{"result", "accepted"}})),
      transactions_rejected(counter(r, kTransactions, {{"result", "rejected"}})),
      transactions_deferred(counter(r, kTransactions, {{"result", "deferred"}})),
      transactions_aborted(counter(r, kTransactions, {{"result", "aborted"}})),
      replies_2xx(counter(r, kReplies, {{"class", "2xx"}})),
      replies_3xx(counter(r, kReplies, {{"class", "3xx"}})),
      replies_4xx(counter(r, kReplies, {{"class", "4xx"}})),
      replies_5xx(counter(r, kReplies, {{"class", "5xx"}})),
      received_bytes(counter(r, kReceived)),
      bare_line_endings_command(counter(r, kBare, {{"where", "command"}})),
      bare_line_endings_data(counter(r, kBare, {{"where", "data"}})),
      held_content_bytes(gauge(r, kHeldBytes)),
      held_content_spilled_bytes(counter(r, kHeldSpilledBytes)),
      held_content_spills(counter(r, kHeldSpills)),
      held_content_refusals(counter(r, kHeldRefusals)),
      proxy_accepted(counter(r, kProxy, {{"result", "accepted"}})),
      proxy_untrusted(counter(r, kProxy, {{"result", "untrusted"}})),
      proxy_invalid(counter(r, kProxy, {{"result", "invalid"}})),
      tarpit_delays(counter(r, kTarpitDelays)),
      tarpit_seconds(counter(r, kTarpitSeconds)),
      tls_handshakes_tls12(counter(r, kTls, {{"version", "TLSv1.2"}, {"result", "ok"}})),
      tls_handshakes_tls13(counter(r, kTls, {{"version", "TLSv1.3"}, {"result", "ok"}})),
      tls_handshakes_failed(counter(r, kTls, {{"version", "unknown"}, {"result", "failed"}})),
      starttls_injection(counter(r, kInjection)),
      http_shedding(shedding(r, "http")),
      portal_shedding(shedding(r, "portal")),
      config_reloads_ok(counter(r, kReloads, {{"result", "ok"}})),
      config_reloads_failed(counter(r, kReloads, {{"result", "failed"}})),
      draining(gauge(r, kDraining)),
      certificate_expiry_(prometheus::BuildGauge()
                              .Name(kCertificateExpiry.name)
                              .Help(kCertificateExpiry.help)
                              .Register(r)) {}

void ServerMetrics::certificate_expiry(
    const std::vector<std::pair<std::string, std::optional<std::int64_t>>>& certificates) {
  for (auto* gauge : certificates_) certificate_expiry_.Remove(gauge);
  certificates_.clear();
  for (const auto& [certificate, not_after] : certificates) {
    if (!not_after) continue;
    auto& gauge = certificate_expiry_.Add({{"certificate", certificate}});
    gauge.Set(static_cast<double>(*not_after));
    certificates_.push_back(&gauge);
  }
}

void ServerMetrics::count_reply(int code) {
  switch (code / 100) {
    case 2:
      replies_2xx.Increment();
      break;
    case 3:
      replies_3xx.Increment();
      break;
    case 4:
      replies_4xx.Increment();
      break;
    default:
      replies_5xx.Increment();
      break;
  }
}

}  // namespace mxgate::server
