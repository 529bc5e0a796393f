// Internal to mxgate_conf: the field table of every configuration section. A table is a
// function that names each key of its section in file order, the member it sets and the rule
// of its value: fields(v, section) calls v(key, member, rule) once per key. The loader visits
// with a TableReader (toml_reader.hpp, from schema.cpp), describe() with a Writer
// (describe.cpp), so the two cannot disagree on a key, its order or its format. Defaults are the
// member initializers in config.hpp and are never repeated here; checks that involve several
// keys or entries are code in schema.cpp, run after the table.
//
// A new key: its member and default in config.hpp, one line in its table here, its
// documentation in conf/mxgate.toml (tests/conf/mxgate_toml_test.cpp checks that file against
// the tables).
//
// Declarations and pure templates only; the checks named here throw ConfigError (schema.cpp).
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "conf/config.hpp"
#include "conf/detail.hpp"

namespace mxgate::conf::detail {

class TableReader;

// A check of a value once it is read: fails through `r` (naming `key`), or normalizes the
// value in place.
template <class T>
using Check = void (*)(TableReader& r, std::string_view key, T& value);

// The value rules. Each reads one TOML type, then runs its check when it has one, and is
// written back in the form it is read.
struct Text {  // a string
  Check<std::string> check = nullptr;
};
struct Flag {};      // true or false
struct Positive {};  // a duration above zero: "30s", "5m", or an integer of seconds
struct Size {        // bytes: an integer, or "10MiB"; written with a binary unit when exact
  std::uint64_t min;
};
struct Int {  // an integer within [min, max]
  std::int64_t min;
  std::int64_t max;
};
struct Number {  // an integer or a float within [min, max]
  double min;
  double max;
};
struct Choice {  // one of `names`, the values of the enum in order
  std::vector<std::string_view> names;
};
struct Word {  // a Choice read as a string first, with its own wording (server.line_endings)
  std::vector<std::string_view> names;
};
struct Address {  // "host:port", or an array of them (then checked by `check`)
  PortRule port;
  Check<std::vector<HostPort>> check = nullptr;
};
struct Texts {  // ["a", "b"]
  Check<std::vector<std::string>> check = nullptr;
};
struct Ints {  // [24, 32], each within [min, max]
  int min;
  int max;
  Check<std::vector<int>> check = nullptr;
};
struct Waits {};  // ["1m", "1h"]: at least one duration, each above zero
struct Table {};  // a sub-table [section.key] with a table of its own
struct Points {   // the sub-table [checks.<name>.points]; written only when the check has points
  std::string_view check;
};
template <class Rule>
struct Required {  // `rule`, and the key must be present; else `problem` says what to write
  Rule rule;
  std::string_view problem;
};

inline constexpr std::int64_t kMaxWorkers = 256;
inline constexpr std::int64_t kMaxSessions = 1'000'000;
inline constexpr std::int64_t kMaxRecipients = 100'000;
inline constexpr std::int64_t kMaxErrors = 1'000;
inline constexpr std::int64_t kMaxJunkCommands = 1'000'000;
inline constexpr std::int64_t kMaxPoolSize = 10'000;
inline constexpr std::int64_t kMaxDmarcRows = 10'000'000;
inline constexpr std::int64_t kMaxHttpConnections = 100'000;
inline constexpr std::int64_t kMaxDataRate = 1'000'000'000;  // bytes per second
inline constexpr std::int64_t kMaxBreakerFailures = 1'000;
inline constexpr std::uint64_t kMinMessageSize = 1024;
inline constexpr std::uint64_t kMinHeldMemory = 64 * 1024;  // one relay piece
inline constexpr std::uint16_t kDnsPort = 53;
inline constexpr std::int64_t kMaxDnsTries = 10;
inline constexpr std::int64_t kMaxDnsCache = 100'000'000;
inline constexpr std::int64_t kMaxRate = 100'000'000;  // events of a [[limit]] or [throttle]
inline constexpr double kMaxScore = 1'000'000;
inline constexpr int kMaxHistoryDays = 366;
inline constexpr std::int64_t kMaxVolume = 1'000'000'000;
inline constexpr std::uint64_t kMinCacheSize = 1 << 20;

// Checks of single values (schema.cpp).
void host_name(TableReader& r, std::string_view key, std::string& name);  // "" or a DNS name
void server_names(TableReader& r, std::string_view key, std::vector<std::string>& names);
void fingerprints(TableReader& r, std::string_view key, std::vector<std::string>& digests);
void one_line(TableReader& r, std::string_view key, std::string& text);         // no control chars
void mail_address(TableReader& r, std::string_view key, std::string& address);  // "" or a@b
// Paths: relative ones are made absolute against the configuration file's directory.
void directory(TableReader& r, std::string_view key, std::string& path);  // not ""
void file_path(TableReader& r, std::string_view key, std::string& path);  // "" or a path
void log_level(TableReader& r, std::string_view key, std::string& level);
void http_url(TableReader& r, std::string_view key, std::string& url);
void header_name(TableReader& r, std::string_view key, std::string& name);  // RFC 5322 ftext
void dns_zone(TableReader& r, std::string_view key, std::string& zone);     // lower case
void limit_name(TableReader& r, std::string_view key, std::string& name);
void networks(TableReader& r, std::string_view key, std::vector<std::string>& cidrs);
void return_filters(TableReader& r, std::string_view key, std::vector<std::string>& patterns);
void route_domains(TableReader& r, std::string_view key, std::vector<std::string>& domains);
void domain_names(TableReader& r, std::string_view key, std::vector<std::string>& domains);
void some_listener(TableReader& r, std::string_view key, std::vector<HostPort>& listen);
void some_downstream(TableReader& r, std::string_view key, std::vector<HostPort>& servers);
void prefix_lengths(TableReader& r, std::string_view key, std::vector<int>& lengths);  // sorts
void milter_address(TableReader& r, std::string_view key, std::string& address);
void redis_address(TableReader& r, std::string_view key, std::string& address);  // canonical
void node_name(TableReader& r, std::string_view key,
               std::string& name);  // "" or [A-Za-z0-9._-]       // canonical
void milter_stages(TableReader& r, std::string_view key, std::vector<std::string>& stages);
void macro_names(TableReader& r, std::string_view key, std::vector<std::string>& names);

// `S` is the section T, const or not (the reader fills it in, the writer reads it).
template <class S, class T>
concept Of = std::same_as<std::remove_const_t<S>, T>;

void fields(auto& v, Of<ServerConfig> auto& s) {
  v("listen", s.listen, Address{{.zero = "picks a free port"}, some_listener});
  v("hostname", s.hostname, Text{host_name});
  v("banner", s.banner, Text{one_line});
  v("workers", s.workers, Int{0, kMaxWorkers});
  v("max_sessions", s.max_sessions, Int{1, kMaxSessions});
  v("max_sessions_per_ip", s.max_sessions_per_ip, Int{1, kMaxSessions});
  v("max_message_size", s.max_message_size, Size{kMinMessageSize});
  v("max_recipients", s.max_recipients, Int{1, kMaxRecipients});
  v("max_errors", s.max_errors, Int{1, kMaxErrors});
  v("max_junk_commands", s.max_junk_commands, Int{0, kMaxJunkCommands});
  v("line_endings", s.line_endings, Word{{"reject", "normalize"}});
  v("command_timeout", s.command_timeout, Positive{});
  v("data_timeout", s.data_timeout, Positive{});
  v("min_data_rate", s.min_data_rate, Int{0, kMaxDataRate});
  v("drain_timeout", s.drain_timeout, Positive{});
  v("proxy_listen", s.proxy_listen, Address{{.zero = "picks a free port"}});
  v("proxy_trusted", s.proxy_trusted, Texts{networks});
  v("proxy_timeout", s.proxy_timeout, Positive{});
}

void fields(auto& v, Of<TlsConfig> auto& s) {
  v("certificate", s.certificate, Text{file_path});
  v("private_key", s.private_key, Text{file_path});
  v("require", s.require, Flag{});
  v("handshake_timeout", s.handshake_timeout, Positive{});
  v("min_version", s.min_version, Choice{{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}});
  v("ciphers", s.ciphers, Text{one_line});
  v("ciphersuites", s.ciphersuites, Text{one_line});
  v("groups", s.groups, Text{one_line});
  v("prefer_server_ciphers", s.prefer_server_ciphers, Flag{});
}

void fields(auto& v, Of<TlsCertificate> auto& s) {
  v("certificate", s.certificate,
    Required<Text>{{file_path}, "is required: the PEM chain of this certificate"});
  v("private_key", s.private_key,
    Required<Text>{{file_path}, "is required: the PEM private key of this certificate"});
  v("server_names", s.server_names, Texts{server_names});
}

void fields(auto& v, Of<HttpLimits> auto& s) {
  v("max_connections", s.max_connections, Int{1, kMaxHttpConnections});
  v("max_connections_per_client", s.max_connections_per_client, Int{0, kMaxHttpConnections});
  v("header_timeout", s.header_timeout, Positive{});
  v("request_timeout", s.request_timeout, Positive{});
}

void fields(auto& v, Of<HttpConfig> auto& s) {
  v("listen", s.listen, Address{{.zero = "disables"}});
  fields(v, s.limits);
}

void fields(auto& v, Of<FeedbackConfig> auto& s) { v("address", s.address, Text{mail_address}); }

void fields(auto& v, Of<AdminConfig> auto& s) { v("token_file", s.token_file, Text{file_path}); }

void fields(auto& v, Of<PortalConfig> auto& s) {
  v("listen", s.listen, Address{{.zero = "disables"}});
  v("requests_per_minute", s.requests_per_minute, Int{0, 1'000'000});
  v("delist_requests_per_day", s.delist_requests_per_day, Int{0, 1'000'000});
  fields(v, s.limits);
}

void fields(auto& v, Of<RelayConfig> auto& s) {
  v("mode", s.mode, Choice{{"inline", "queue"}});
  v("helo_name", s.helo_name, Text{host_name});
  v("connect_timeout", s.connect_timeout, Positive{});
  v("command_timeout", s.command_timeout, Positive{});
  v("data_timeout", s.data_timeout, Positive{});
  v("pool_size", s.pool_size, Int{0, kMaxPoolSize});
  v("pool_idle_timeout", s.pool_idle_timeout, Positive{});
  v("max_connections", s.max_connections, Int{0, kMaxPoolSize});
  v("breaker_failures", s.breaker_failures, Int{0, kMaxBreakerFailures});
  v("breaker_cooldown", s.breaker_cooldown, Positive{});
  v("breaker_max_cooldown", s.breaker_max_cooldown, Positive{});
  v("recipient_verification", s.recipient_verification, Choice{{"off", "callout", "list"}});
  v("recipient_list", s.recipient_list, Text{file_path});
  v("verify_positive_ttl", s.verify_positive_ttl, Positive{});
  v("verify_negative_ttl", s.verify_negative_ttl, Positive{});
  v("verify_cache_size", s.verify_cache_size, Int{1, 100'000'000});
  v("verify_timeout", s.verify_timeout, Positive{});
}

void fields(auto& v, Of<QueueConfig> auto& s) {
  v("path", s.path, Text{file_path});
  v("retry", s.retry, Waits{});
  v("max_age", s.max_age, Positive{});
  v("poll_interval", s.poll_interval, Positive{});
  v("max_deliveries", s.max_deliveries, Int{1, 100'000});
  v("dsn", s.dsn, Flag{});
}

void fields(auto& v, Of<OutboundConfig> auto& s) {
  v("bounce_relay", s.bounce_relay, Address{});
  v("port", s.port, Int{1, 65535});
}

void fields(auto& v, Of<DmarcReportsConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("org_name", s.org_name, Text{});
  v("from", s.from, Text{mail_address});
  v("contact", s.contact, Text{});
  v("period", s.period, Positive{});
  v("max_rows", s.max_rows, Int{1, kMaxDmarcRows});
  v("max_rows_per_domain", s.max_rows_per_domain, Int{1, kMaxDmarcRows});
  v("max_report_size", s.max_report_size, Size{1024});
  v("max_reports_per_day", s.max_reports_per_day, Int{1, 10'000'000});
  v("dkim_key", s.dkim_key, Text{file_path});
  v("dkim_selector", s.dkim_selector, Text{host_name});
  v("dkim_domain", s.dkim_domain, Text{host_name});
}

void fields(auto& v, Of<Route> auto& s) {
  v("domains", s.domains,
    Required<Texts>{{route_domains},
                    "is required: list the recipient domains of this route, e.g. "
                    "domains = [\"example.com\", \".example.com\"]"});
  v("downstream", s.downstream,
    Required<Address>{{{}, some_downstream},
                      "is required: list the mailbox servers of this route, e.g. "
                      "downstream = [\"10.0.0.5:25\"]"});
  v("require_tls", s.require_tls, Flag{});
  v("forward_client", s.forward_client, Choice{{"off", "xclient", "xforward"}});
  v("tls", s.tls, Choice{{"none", "may", "encrypt", "verify"}});
  v("tls_ca_file", s.tls_ca_file, Text{file_path});
  v("tls_fingerprints", s.tls_fingerprints, Texts{fingerprints});
}

void fields(auto& v, Of<StorageConfig> auto& s) { v("path", s.path, Text{directory}); }

void fields(auto& v, Of<DnsConfig> auto& s) {
  v("servers", s.servers, Address{{.default_port = kDnsPort}});
  v("timeout", s.timeout, Positive{});
  v("tries", s.tries, Int{1, kMaxDnsTries});
  v("cache_entries", s.cache_entries, Int{0, kMaxDnsCache});
  v("max_ttl", s.max_ttl, Positive{});
  v("max_negative_ttl", s.max_negative_ttl, Positive{});
}

void fields(auto& v, Of<DnsblConfig> auto& s) {
  v("zone", s.zone,
    Required<Text>{{dns_zone},
                   "is required: the list's DNS zone, e.g. zone = \"zen.spamhaus.org\""});
  v("type", s.type, Choice{{"ip", "helo", "sender_domain", "uri"}});
  v("returns", s.returns, Texts{return_filters});
  v("weight", s.weight, Number{-kMaxScore, kMaxScore});
  v("action", s.action, Choice{{"score", "reject", "defer"}});
  v("probe", s.probe, Flag{});
}

void fields(auto& v, Of<MilterConfig> auto& s) {
  v("name", s.name,
    Required<Text>{{limit_name}, "is required: a name for logs and metrics, e.g. \"rspamd\""});
  v("address", s.address,
    Required<Text>{{milter_address},
                   "is required: where the filter listens, e.g. \"inet:127.0.0.1:11332\" or "
                   "\"unix:/run/rspamd/milter.sock\""});
  v("stages", s.stages, Texts{milter_stages});
  v("connect_timeout", s.connect_timeout, Positive{});
  v("timeout", s.timeout, Positive{});
  v("default_action", s.default_action, Choice{{"tempfail", "accept", "reject"}});
  v("macros", s.macros, Texts{macro_names});
  v("replace_body", s.replace_body, Flag{});
  v("reuse", s.reuse, Choice{{"never", "after_message", "always"}});
  v("idle_timeout", s.idle_timeout, Positive{});
}

void fields(auto& v, Of<FleetConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("redis", s.redis, Text{redis_address});
  v("sentinels", s.sentinels, Address{{.zero = "is not a port"}});
  v("master_name", s.master_name, Text{one_line});
  v("password_file", s.password_file, Text{file_path});
  v("node_name", s.node_name, Text{node_name});
  v("flush_interval", s.flush_interval, Positive{});
  v("key_prefix", s.key_prefix, Text{node_name});
  v("max_queued", s.max_queued, Int{1, 100'000'000});
}

void fields(auto& v, Of<GreylistConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("mode", s.mode, Choice{{"doubtful", "all"}});
  v("min_delay", s.min_delay, Positive{});
  v("max_delay", s.max_delay, Positive{});
  v("auto_allow", s.auto_allow, Int{0, 1'000'000});
  v("pass_ttl", s.pass_ttl, Positive{});
  v("max_entries", s.max_entries, Int{1, 100'000'000});
}

void fields(auto& v, Of<PregreetConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("greet_pause", s.greet_pause, Positive{});
  v("greet_pause_under_load", s.greet_pause_under_load, Positive{});
  v("load_factor", s.load_factor, Number{0, 1});
  v("pass_ttl", s.pass_ttl, Positive{});
}

void fields(auto& v, Of<AuthConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("authserv_id", s.authserv_id, Text{host_name});
  v("max_signatures", s.max_signatures, Int{0, 100});
  v("max_header_size", s.max_header_size, Size{1024});
  v("dmarc_reject", s.dmarc_reject, Flag{});
  v("dmarc_quarantine", s.dmarc_quarantine, Flag{});
  v("dmarc_policy_lookup", s.dmarc_policy_lookup, Choice{{"psl", "tree_walk"}});
  v("key_cache_entries", s.key_cache_entries, Int{0, 10'000'000});
  v("trusted_arc_sealers", s.trusted_arc_sealers, Texts{domain_names});
}

void fields(auto& v, Of<ContentConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("memory_per_session", s.memory_per_session, Size{kMinHeldMemory});
  v("memory_budget", s.memory_budget, Size{kMinHeldMemory});
  v("max_depth", s.max_depth, Int{1, 100});
  v("max_parts", s.max_parts, Int{1, 100'000});
  v("max_header_fields", s.max_header_fields, Int{10, 100'000});
  v("max_line_length", s.max_line_length, Size{1000});
  v("max_decoded_bytes", s.max_decoded_bytes, Size{0});
  v("max_uri_domains", s.max_uri_domains, Int{0, 1000});
  v("bulk_daily_volume", s.bulk_daily_volume, Int{0, 1'000'000'000});
}

// [throttle]; its `limits` are the top-level [[limit]] array.
void fields(auto& v, Of<ThrottleConfig> auto& s) {
  v("enabled", s.enabled, Flag{});
  v("max_keys", s.max_keys, Int{1000, 1'000'000'000});
  v("persist_interval", s.persist_interval, Positive{});
  v("max_sessions_per_network", s.max_sessions_per_network, Int{0, 10'000'000});
  v("ramp_days", s.ramp_days, Int{0, 3650});
  v("ramp_floor", s.ramp_floor, Int{1, kMaxRate});
  v("ramp_factor", s.ramp_factor, Number{1, 1000});
  v("anomaly_factor", s.anomaly_factor, Number{0, 1'000'000});
  v("anomaly_min_per_hour", s.anomaly_min_per_hour, Int{0, kMaxRate});
  v("anomaly_half_life", s.anomaly_half_life, Positive{});
  v("hygiene_ratio", s.hygiene_ratio, Number{0, 1});
  v("hygiene_min_recipients", s.hygiene_min_recipients, Int{1, kMaxRate});
  v("hygiene_days", s.hygiene_days, Int{1, 365});
  v("tarpit_after", s.tarpit_after, Int{0, 1000});
  v("tarpit_delay", s.tarpit_delay, Positive{});
  v("tarpit_max", s.tarpit_max, Positive{});
  v("dictionary_limit", s.dictionary_limit, Int{0, 100'000});
}

void fields(auto& v, Of<LimitConfig> auto& s) {
  v("name", s.name,
    Required<Text>{{limit_name}, "is required: a name for logs and metrics, e.g. \"ip-messages\""});
  v("key", s.key, Choice{{"ip", "network", "sender_domain", "auth_domain", "ip_sender_domain"}});
  v("count", s.count, Choice{{"connections", "messages", "recipients"}});
  v("rate", s.rate, Required<Int>{{1, kMaxRate}, "is required: events per period, e.g. 100"});
  v("period", s.period, Positive{});
  v("burst", s.burst, Int{0, kMaxRate});
}

// [reputation.model], except history_days (a key of [reputation]).
void fields(auto& v, Of<reputation::ModelSettings> auto& s) {
  v("score_half_life_days", s.score_half_life_days, Number{0, kMaxHistoryDays});
  v("poor_score", s.poor_score, Number{0, kMaxScore});
  v("poor_points", s.poor_points, Number{0, kMaxScore});
  v("reject_ratio", s.reject_ratio, Number{0, 1});
  v("reject_ratio_min_volume", s.reject_ratio_min_volume, Int{1, kMaxVolume});
  v("reject_ratio_points", s.reject_ratio_points, Number{0, kMaxScore});
  v("complaint_rate", s.complaint_rate, Number{0, 1});
  v("complaint_min_delivered", s.complaint_min_delivered, Int{1, kMaxVolume});
  v("complaint_points", s.complaint_points, Number{0, kMaxScore});
  v("invalid_recipient_ratio", s.invalid_recipient_ratio, Number{0, 1});
  v("invalid_recipient_min_volume", s.invalid_recipient_min_volume, Int{1, kMaxVolume});
  v("invalid_recipient_points", s.invalid_recipient_points, Number{0, kMaxScore});
  v("first_seen_recent_days", s.first_seen_recent_days, Int{0, kMaxHistoryDays});
}

void fields(auto& v, Of<ReputationConfig> auto& s) {
  v("postmaster_url", s.postmaster_url, Text{http_url});
  v("defer_at", s.thresholds.defer_at, Number{0, kMaxScore});
  v("reject_at", s.thresholds.reject_at, Number{0, kMaxScore});
  v("quarantine_at", s.thresholds.quarantine_at, Number{0, kMaxScore});
  v("delay_reject", s.thresholds.delay_reject, Flag{});
  v("history_days", s.model.history_days, Int{1, kMaxHistoryDays});
  v("network_prefixes_v4", s.network_prefixes_v4, Ints{8, 32, prefix_lengths});
  v("network_prefixes_v6", s.network_prefixes_v6, Ints{16, 128, prefix_lengths});
  v("cache_size", s.cache_size, Size{kMinCacheSize});
  v("flush_interval", s.flush_interval, Positive{});
  v("trusted_networks", s.trusted_networks, Texts{networks});
  v("quarantine_header", s.quarantine_header, Text{header_name});
  v("quarantine_downstream", s.quarantine_downstream, Address{});
  v("model", s.model, Table{});
}

// [checks.<name>.points]: the check's own signals.
void fields(auto& v, Of<reputation::PointsList> auto& s) {
  for (auto& p : s) v(reputation::signal_name(p.signal), p.points, Number{-kMaxScore, kMaxScore});
}

// [checks.<name>]: one table per check.
void fields(auto& v, Of<reputation::CheckSettings> auto& s) {
  v("weight", s.weight, Number{-kMaxScore, kMaxScore});
  v("mode", s.mode, Choice{{"enforce", "observe", "off"}});
  v("timeout", s.timeout, Positive{});
  v("points", s.points, Points{s.name});
  v("on_error", s.on_error, Choice{{"defer", "ignore"}});
}

void fields(auto& v, Of<LogConfig> auto& s) {
  v("level", s.level, Text{log_level});
  v("format", s.format, Choice{{"text", "json"}});
}

}  // namespace mxgate::conf::detail
