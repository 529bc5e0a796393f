// Every Prometheus metric mxgate exports, declared once and resolved to handles at start-up
// (STYLE.md "Metrics"). Code increments handles; nothing looks a metric up by name per request,
// and no label value comes from client data.
// Threading: prometheus-cpp counters, gauges and histograms are safe to update from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace mxgate::common {

struct Metrics {
  explicit Metrics(prometheus::Registry& registry);

  // Connections and sessions
  prometheus::Counter& sessions_accepted;
  prometheus::Counter& sessions_refused_global_limit;
  prometheus::Counter& sessions_refused_ip_limit;
  prometheus::Counter& sessions_refused_draining;
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

  // PROXY protocol listeners
  prometheus::Counter& proxy_accepted;
  prometheus::Counter& proxy_untrusted;
  prometheus::Counter& proxy_invalid;

  // Reputation (connect-time screening)
  prometheus::Counter& reputation_lookups_cached;
  prometheus::Counter& reputation_lookups_blocking;
  prometheus::Counter& reputation_lookup_errors;
  prometheus::Histogram& reputation_lookup_seconds_cached;    // connect-time IP + networks
  prometheus::Histogram& reputation_lookup_seconds_blocking;  // ... that needed the disk
  // The store (refreshed periodically by the runtime): records per family, cache use,
  // outcome updates.
  prometheus::Gauge& reputation_records_ip;
  prometheus::Gauge& reputation_records_network;
  prometheus::Gauge& reputation_records_sender_domain;
  prometheus::Gauge& reputation_records_auth_domain;
  prometheus::Counter& reputation_cache_hits_block;  // RocksDB's block cache
  prometheus::Counter& reputation_cache_misses_block;
  prometheus::Gauge& reputation_cache_hit_ratio_block;  // since start
  prometheus::Counter& reputation_cache_hits_record;    // decoded records (storage/record_cache)
  prometheus::Counter& reputation_cache_misses_record;
  prometheus::Gauge& reputation_cache_hit_ratio_record;
  prometheus::Counter& reputation_updates_written;
  prometheus::Counter& reputation_updates_dropped;  // the pending batch was full
  prometheus::Counter& reputation_flush_errors;
  prometheus::Counter& quarantined_messages;
  // Queue mode.
  prometheus::Histogram& queue_commit_seconds;  // a message's synced write to the spool
  prometheus::Counter& queue_commit_errors;
  prometheus::Counter& queue_deliveries_done;      // every recipient delivered or refused
  prometheus::Counter& queue_deliveries_deferred;  // some recipient to be retried
  prometheus::Counter& queue_deliveries_expired;   // older than queue.max_age
  prometheus::Counter& queue_deliveries_dead;      // a bounce that could not be delivered
  prometheus::Counter& queue_dsns;                 // delivery status notifications queued
  prometheus::Gauge& queue_depth;
  prometheus::Gauge& queue_oldest_seconds;
  prometheus::Gauge& queue_messages_per_fsync;  // commits / WAL syncs since start
  prometheus::Counter& tarpit_delays;           // replies held back by the tarpit
  prometheus::Counter& tarpit_seconds;          // and for how long in all

  // TLS
  prometheus::Counter& tls_handshakes_tls12;
  prometheus::Counter& tls_handshakes_tls13;
  prometheus::Counter& tls_handshakes_failed;
  prometheus::Counter& starttls_injection;  // plaintext pipelined behind STARTTLS

  // Relay to the mailbox servers
  prometheus::Histogram& relay_seconds;  // end of client data to the downstream's final reply
  prometheus::Counter& downstream_connect_errors;
  prometheus::Counter& downstream_timeouts;
  prometheus::Counter& downstream_protocol_errors;
  prometheus::Counter& downstream_tls_errors;
  prometheus::Counter& downstream_connections_opened;
  prometheus::Counter& downstream_connections_reused;
  prometheus::Counter& downstream_busy;              // refused: route at max_connections
  prometheus::Counter& downstream_circuit_refusals;  // refused: circuit breaker open
  prometheus::Counter& downstream_circuit_opens;     // times a circuit opened
  prometheus::Gauge& downstream_open_circuits;       // downstreams whose circuit is open now

  // Control
  prometheus::Counter& config_reloads_ok;
  prometheus::Counter& config_reloads_failed;
  prometheus::Gauge& draining;

  // Postmaster portal and admin API (issue 8)
  prometheus::Counter& portal_lookups_blocked;  // lookups by the status they showed
  prometheus::Counter& portal_lookups_deferred;
  prometheus::Counter& portal_lookups_not_listed;
  prometheus::Counter& portal_lookups_invalid;               // not an IP: 400
  prometheus::Counter& portal_rate_limited;                  // 429
  prometheus::Family<prometheus::Counter>& delist_requests;  // {outcome}
  prometheus::Counter& delist_approved_by_admin;             // decisions through the admin API
  prometheus::Counter& delist_denied_by_admin;
  prometheus::Counter& complaints_api;  // ARF reports counted, by how they came
  prometheus::Counter& complaints_mail;

  void count_reply(int code);
};

}  // namespace mxgate::common
