#include "common/metrics.hpp"

namespace mxgate::common {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const char* name,
                                                 const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r);
}

const prometheus::Histogram::BucketBoundaries kLookupBuckets{
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1};

prometheus::Family<prometheus::Histogram>& lookup_histogram(prometheus::Registry& r) {
  return BuildHistogram()
      .Name("mxgate_reputation_lookup_seconds")
      .Help("Connect-time reputation lookups (IP and networks) by how they were served")
      .Register(r);
}

prometheus::Family<prometheus::Gauge>& cache_hit_ratio(prometheus::Registry& r) {
  return BuildGauge()
      .Name("mxgate_reputation_cache_hit_ratio")
      .Help("Reputation store cache hits / lookups since start, by cache")
      .Register(r);
}

prometheus::Family<prometheus::Gauge>& records(prometheus::Registry& r) {
  return BuildGauge()
      .Name("mxgate_reputation_records")
      .Help("Records in the reputation store by family (RocksDB's estimate)")
      .Register(r);
}

}  // namespace

Metrics::Metrics(prometheus::Registry& r)
    : sessions_accepted(counter(r, "mxgate_sessions_total", "SMTP sessions accepted").Add({})),
      sessions_refused_global_limit(
          counter(r, "mxgate_sessions_refused_total", "Connections refused with 421 at connect")
              .Add({{"reason", "global_limit"}})),
      sessions_refused_ip_limit(
          counter(r, "mxgate_sessions_refused_total", "").Add({{"reason", "ip_limit"}})),
      sessions_refused_draining(
          counter(r, "mxgate_sessions_refused_total", "").Add({{"reason", "draining"}})),
      sessions_active(BuildGauge()
                          .Name("mxgate_sessions_active")
                          .Help("SMTP sessions open now")
                          .Register(r)
                          .Add({})),
      session_timeouts(counter(r, "mxgate_session_timeouts_total",
                               "Sessions closed with 421 4.4.2 after a read deadline")
                           .Add({})),
      session_errors_limit(
          counter(r, "mxgate_session_error_limit_total", "Sessions closed after too many errors")
              .Add({})),
      session_exceptions(counter(r, "mxgate_session_exceptions_total",
                                 "Sessions ended by an unexpected exception (a bug)")
                             .Add({})),
      transactions_accepted(counter(r, "mxgate_transactions_total", "Mail transactions by result")
                                .Add({{"result", "accepted"}})),
      transactions_rejected(
          counter(r, "mxgate_transactions_total", "").Add({{"result", "rejected"}})),
      transactions_deferred(
          counter(r, "mxgate_transactions_total", "").Add({{"result", "deferred"}})),
      transactions_aborted(
          counter(r, "mxgate_transactions_total", "").Add({{"result", "aborted"}})),
      replies_2xx(counter(r, "mxgate_replies_total", "SMTP replies sent to clients by class")
                      .Add({{"class", "2xx"}})),
      replies_3xx(counter(r, "mxgate_replies_total", "").Add({{"class", "3xx"}})),
      replies_4xx(counter(r, "mxgate_replies_total", "").Add({{"class", "4xx"}})),
      replies_5xx(counter(r, "mxgate_replies_total", "").Add({{"class", "5xx"}})),
      received_bytes(
          counter(r, "mxgate_received_bytes_total", "Message content octets received from clients")
              .Add({})),
      bare_line_endings_command(counter(r, "mxgate_bare_line_endings_total",
                                        "Bare CR or LF seen (SMTP smuggling attempts)")
                                    .Add({{"where", "command"}})),
      bare_line_endings_data(
          counter(r, "mxgate_bare_line_endings_total", "").Add({{"where", "data"}})),
      proxy_accepted(
          counter(r, "mxgate_proxy_headers_total", "PROXY protocol connections by result")
              .Add({{"result", "accepted"}})),
      proxy_untrusted(counter(r, "mxgate_proxy_headers_total", "").Add({{"result", "untrusted"}})),
      proxy_invalid(counter(r, "mxgate_proxy_headers_total", "").Add({{"result", "invalid"}})),
      reputation_lookups_cached(counter(r, "mxgate_reputation_lookups_total",
                                        "Connect-time reputation lookups by how they were served")
                                    .Add({{"result", "cached"}})),
      reputation_lookups_blocking(
          counter(r, "mxgate_reputation_lookups_total", "").Add({{"result", "blocking"}})),
      reputation_lookup_errors(
          counter(r, "mxgate_reputation_lookups_total", "").Add({{"result", "error"}})),
      reputation_lookup_seconds_cached(
          lookup_histogram(r).Add({{"served", "cached"}}, kLookupBuckets)),
      reputation_lookup_seconds_blocking(
          lookup_histogram(r).Add({{"served", "blocking"}}, kLookupBuckets)),
      reputation_records_ip(records(r).Add({{"family", "ip"}})),
      reputation_records_network(records(r).Add({{"family", "network"}})),
      reputation_records_sender_domain(records(r).Add({{"family", "sender_domain"}})),
      reputation_records_auth_domain(records(r).Add({{"family", "auth_domain"}})),
      reputation_cache_hits_block(counter(r, "mxgate_reputation_cache_hits_total",
                                          "Reputation store cache hits: decoded records "
                                          "(record) and RocksDB blocks (block)")
                                      .Add({{"cache", "block"}})),
      reputation_cache_misses_block(counter(r, "mxgate_reputation_cache_misses_total",
                                            "Reputation store cache misses, by cache")
                                        .Add({{"cache", "block"}})),
      reputation_cache_hit_ratio_block(cache_hit_ratio(r).Add({{"cache", "block"}})),
      reputation_cache_hits_record(
          counter(r, "mxgate_reputation_cache_hits_total", "").Add({{"cache", "record"}})),
      reputation_cache_misses_record(
          counter(r, "mxgate_reputation_cache_misses_total", "").Add({{"cache", "record"}})),
      reputation_cache_hit_ratio_record(cache_hit_ratio(r).Add({{"cache", "record"}})),
      reputation_updates_written(counter(r, "mxgate_reputation_updates_total",
                                         "Outcome counter updates for the reputation store")
                                     .Add({{"result", "written"}})),
      reputation_updates_dropped(
          counter(r, "mxgate_reputation_updates_total", "").Add({{"result", "dropped"}})),
      reputation_flush_errors(counter(r, "mxgate_reputation_flush_errors_total",
                                      "Failed writes of outcome counters to the store")
                                  .Add({})),
      quarantined_messages(
          counter(r, "mxgate_quarantined_total", "Messages accepted into quarantine").Add({})),
      queue_commit_seconds(
          BuildHistogram()
              .Name("mxgate_queue_commit_seconds")
              .Help("Queue mode: a message's synced write to the spool")
              .Register(r)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025, 0.05, 0.1, 0.25, 1})),
      queue_commit_errors(counter(r, "mxgate_queue_commit_errors_total",
                                  "Queue mode: spool writes that failed (answered 451 4.3.0)")
                              .Add({})),
      queue_deliveries_done(
          counter(r, "mxgate_queue_deliveries_total", "Queue mode: delivery attempts by outcome")
              .Add({{"result", "done"}})),
      queue_deliveries_deferred(
          counter(r, "mxgate_queue_deliveries_total", "").Add({{"result", "deferred"}})),
      queue_deliveries_expired(
          counter(r, "mxgate_queue_deliveries_total", "").Add({{"result", "expired"}})),
      queue_deliveries_dead(
          counter(r, "mxgate_queue_deliveries_total", "").Add({{"result", "dead"}})),
      queue_dsns(
          counter(r, "mxgate_queue_dsns_total", "Queue mode: delivery status notifications queued")
              .Add({})),
      queue_depth(BuildGauge()
                      .Name("mxgate_queue_depth")
                      .Help("Queue mode: messages waiting in the spool")
                      .Register(r)
                      .Add({})),
      queue_oldest_seconds(BuildGauge()
                               .Name("mxgate_queue_oldest_message_seconds")
                               .Help("Queue mode: age of the oldest message in the spool")
                               .Register(r)
                               .Add({})),
      queue_messages_per_fsync(BuildGauge()
                                   .Name("mxgate_queue_messages_per_fsync")
                                   .Help("Queue mode: messages committed per WAL sync since start")
                                   .Register(r)
                                   .Add({})),
      tarpit_delays(counter(r, "mxgate_tarpit_delays_total",
                            "Replies delayed by the tarpit (clients that keep failing)")
                        .Add({})),
      tarpit_seconds(
          counter(r, "mxgate_tarpit_seconds_total", "Time replies were delayed by the tarpit")
              .Add({})),
      tls_handshakes_tls12(
          counter(r, "mxgate_tls_handshakes_total", "Inbound STARTTLS handshakes by result")
              .Add({{"result", "TLSv1.2"}})),
      tls_handshakes_tls13(
          counter(r, "mxgate_tls_handshakes_total", "").Add({{"result", "TLSv1.3"}})),
      tls_handshakes_failed(
          counter(r, "mxgate_tls_handshakes_total", "").Add({{"result", "failed"}})),
      starttls_injection(counter(r, "mxgate_starttls_injection_total",
                                 "Sessions that pipelined plaintext behind STARTTLS")
                             .Add({})),
      relay_seconds(
          BuildHistogram()
              .Name("mxgate_relay_duration_seconds")
              .Help("End of client data to the downstream's final reply")
              .Register(r)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                               5, 10, 30, 60})),
      downstream_connect_errors(counter(r, "mxgate_downstream_errors_total",
                                        "Failures talking to the mailbox servers by kind")
                                    .Add({{"kind", "connect"}})),
      downstream_timeouts(
          counter(r, "mxgate_downstream_errors_total", "").Add({{"kind", "timeout"}})),
      downstream_protocol_errors(
          counter(r, "mxgate_downstream_errors_total", "").Add({{"kind", "protocol"}})),
      downstream_tls_errors(
          counter(r, "mxgate_downstream_errors_total", "").Add({{"kind", "tls"}})),
      downstream_connections_opened(
          counter(r, "mxgate_downstream_connections_total", "Downstream connections by origin")
              .Add({{"origin", "opened"}})),
      downstream_connections_reused(
          counter(r, "mxgate_downstream_connections_total", "").Add({{"origin", "pool"}})),
      downstream_busy(counter(r, "mxgate_downstream_errors_total", "").Add({{"kind", "busy"}})),
      downstream_circuit_refusals(
          counter(r, "mxgate_downstream_errors_total", "").Add({{"kind", "circuit_open"}})),
      downstream_circuit_opens(counter(r, "mxgate_downstream_circuit_opens_total",
                                       "Times a downstream's circuit breaker opened")
                                   .Add({})),
      downstream_open_circuits(BuildGauge()
                                   .Name("mxgate_downstream_open_circuits")
                                   .Help("Downstreams whose circuit breaker is open now")
                                   .Register(r)
                                   .Add({})),
      config_reloads_ok(counter(r, "mxgate_config_reloads_total", "Configuration reloads by result")
                            .Add({{"result", "ok"}})),
      config_reloads_failed(
          counter(r, "mxgate_config_reloads_total", "").Add({{"result", "failed"}})),
      draining(BuildGauge()
                   .Name("mxgate_draining")
                   .Help("1 while the server drains after SIGTERM")
                   .Register(r)
                   .Add({})),
      portal_lookups_blocked(
          counter(r, "mxgate_portal_lookups_total", "Postmaster portal lookups by the status shown")
              .Add({{"status", "blocked"}})),
      portal_lookups_deferred(
          counter(r, "mxgate_portal_lookups_total", "").Add({{"status", "deferred"}})),
      portal_lookups_not_listed(
          counter(r, "mxgate_portal_lookups_total", "").Add({{"status", "not_listed"}})),
      portal_lookups_invalid(
          counter(r, "mxgate_portal_lookups_total", "").Add({{"status", "invalid"}})),
      portal_rate_limited(counter(r, "mxgate_portal_rate_limited_total",
                                  "Portal requests refused with 429 (portal.requests_per_minute)")
                              .Add({})),
      delist_requests(counter(r, "mxgate_delist_requests_total",
                              "Delisting requests by outcome (approved, queued, checks_fail, "
                              "already_open, quota, invalid, not_listed, error)")),
      delist_approved_by_admin(counter(r, "mxgate_delist_decisions_total",
                                       "Delisting requests decided through the admin API")
                                   .Add({{"decision", "approve"}})),
      delist_denied_by_admin(
          counter(r, "mxgate_delist_decisions_total", "").Add({{"decision", "deny"}})),
      complaints_api(counter(r, "mxgate_complaints_total",
                             "Complaint reports (RFC 5965) counted, by how they arrived")
                         .Add({{"source", "api"}})),
      complaints_mail(counter(r, "mxgate_complaints_total", "").Add({{"source", "mail"}})) {}

void Metrics::count_reply(int code) {
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

}  // namespace mxgate::common
