// The SMTP server's Prometheus metrics, declared once and resolved to handles at start-up
// (STYLE.md "Metrics"); every label value comes from a fixed set, never from client data.
//   mxgate_sessions_total, mxgate_sessions_refused_total{reason}, mxgate_sessions_active,
//   mxgate_session_timeouts_total, mxgate_session_error_limit_total,
//   mxgate_session_exceptions_total                sessions (worker, session)
//   mxgate_transactions_total{result}               mail transactions by how they ended
//   mxgate_replies_total{class}                     replies sent to clients (count_reply)
//   mxgate_received_bytes_total, mxgate_bare_line_endings_total{where}
//   mxgate_proxy_headers_total{result}              PROXY protocol listeners
//   mxgate_held_content_bytes, mxgate_held_content_spilled_bytes_total,
//   mxgate_held_content_spills_total, mxgate_held_content_refusals_total
//                                                   judged messages held ([content] budget)
//   mxgate_tls_handshakes_total{version,result}, mxgate_starttls_injection_total,
//   mxgate_tls_certificate_expiry_timestamp_seconds{certificate}
//   mxgate_tarpit_delays_total, mxgate_tarpit_seconds_total
//   mxgate_config_reloads_total{result}, mxgate_draining   the runtime (control thread)
//   mxgate_http_connections_shed_total{listener,reason}   HTTP connections closed to keep the
//                                                   listeners' slots (http/server.hpp)
// Threading: one ServerMetrics for the process, shared by every worker and the control thread
// (prometheus-cpp handles are thread-safe). It outlives the workers.
// Failure: the constructor throws std::invalid_argument when a name is already registered with
// another type (a bug, at start-up); counting never fails.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mxgate::server {

struct ServerMetrics {
  explicit ServerMetrics(prometheus::Registry& registry);

  // Adds one to the replies_* counter of `code`'s class (2xx to 5xx; anything else is 5xx).
  void count_reply(int code);
  // The configured certificates' notAfter, at start and after every reload; the series of
  // certificates no longer configured go. Control thread only.
  void certificate_expiry(
      const std::vector<std::pair<std::string, std::optional<std::int64_t>>>& certificates);

  // Connections and sessions
  prometheus::Counter& sessions_accepted;
  prometheus::Counter& sessions_refused_global_limit;
  prometheus::Counter& sessions_refused_ip_limit;
  prometheus::Counter& sessions_refused_network_limit;
  prometheus::Gauge& sessions_active;
  prometheus::Counter& session_timeouts;
  prometheus::Counter& session_errors_limit;  // closed after too many errors
  prometheus::Counter& session_exceptions;    // a bug: an exception escaped a session

  // Transactions (one per MAIL that reached the end of its data or was abandoned)
  prometheus::Counter& transactions_accepted;
  prometheus::Counter& transactions_rejected;
  prometheus::Counter& transactions_deferred;
  prometheus::Counter& transactions_aborted;

  // Replies sent to clients, by class
  prometheus::Counter& replies_2xx;
  prometheus::Counter& replies_3xx;
  prometheus::Counter& replies_4xx;
  prometheus::Counter& replies_5xx;

  prometheus::Counter& received_bytes;  // message content accepted from clients
  prometheus::Counter& bare_line_endings_command;
  prometheus::Counter& bare_line_endings_data;

  // Held content (messages held while they are judged)
  prometheus::Gauge& held_content_bytes;            // in memory, taken from the budget
  prometheus::Counter& held_content_spilled_bytes;  // written to spill files
  prometheus::Counter& held_content_spills;         // messages that spilled
  prometheus::Counter& held_content_refusals;       // DATA/BDAT refused: the budget was used up

  // PROXY protocol listeners
  prometheus::Counter& proxy_accepted;
  prometheus::Counter& proxy_untrusted;
  prometheus::Counter& proxy_invalid;

  prometheus::Counter& tarpit_delays;   // replies held back by the tarpit
  prometheus::Counter& tarpit_seconds;  // and for how long in all

  // TLS
  prometheus::Counter& tls_handshakes_tls12;
  prometheus::Counter& tls_handshakes_tls13;
  prometheus::Counter& tls_handshakes_failed;
  prometheus::Counter& starttls_injection;  // plaintext pipelined behind STARTTLS

  // Control
  // The HTTP listeners' shedding (http::SheddingCounters), for listener "http" and "portal".
  struct Shedding {
    prometheus::Counter& evicted;
    prometheus::Counter& refused;
    prometheus::Counter& header_timeout;
  };
  Shedding http_shedding;
  Shedding portal_shedding;

  prometheus::Counter& config_reloads_ok;
  prometheus::Counter& config_reloads_failed;
  prometheus::Gauge& draining;

 private:
  prometheus::Family<prometheus::Gauge>& certificate_expiry_;
  std::vector<prometheus::Gauge*> certificates_;
};

}  // namespace mxgate::server
