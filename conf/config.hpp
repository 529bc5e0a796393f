// The running configuration: a plain, immutable-after-load value built from TOML by
// load_config(). Every field has a default, documented in conf/mxgate.toml (the source of
// truth for operators). Workers receive it as std::shared_ptr<const Config> snapshots, so a
// reload never changes a config under a running session.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reputation/checks.hpp"
#include "reputation/model.hpp"
#include "reputation/policy.hpp"

namespace mxgate::conf {

using Duration = std::chrono::milliseconds;

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (no brackets), "0.0.0.0", "::", or a name
  std::uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:25", "[::1]:25"
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

enum class LineEndings { Reject, Normalize };

struct ServerConfig {
  std::vector<HostPort> listen{{"127.0.0.1", 2525}};
  std::string hostname;  // default: the machine's host name
  std::string banner = "ESMTP mxgate";
  unsigned workers = 0;  // 0: one per core
  std::uint32_t max_sessions = 10000;
  std::uint32_t max_sessions_per_ip = 50;
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_errors = 20;
  std::uint32_t max_junk_commands = 100;  // NOOP, RSET, VRFY, HELP; past it each is an error
  LineEndings line_endings = LineEndings::Reject;
  Duration command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7
  Duration data_timeout = std::chrono::minutes(3);     // RFC 5321 §4.5.3.2.5
  std::uint64_t min_data_rate = 500;  // bytes/s a DATA or BDAT request must keep; 0: none
  Duration drain_timeout = std::chrono::seconds(30);
  // Listeners behind an L4 load balancer: each connection starts with a HAProxy PROXY v1/v2
  // header whose source address becomes the client IP. Accepted only from proxy_trusted.
  std::vector<HostPort> proxy_listen;
  std::vector<std::string> proxy_trusted{"127.0.0.0/8", "::1/128"};  // CIDR networks
  Duration proxy_timeout = std::chrono::seconds(10);                 // to receive the PROXY header
  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

// One certificate of [[tls.certificates]] (issue 21): several may be configured, e.g. an RSA
// and an ECDSA one (OpenSSL picks per client), and SNI picks among names.
struct TlsCertificate {
  std::string certificate;  // PEM chain
  std::string private_key;
  // Names (or "*.example.com") a client's SNI must ask for to get this one; empty: the
  // default certificates, for every other client.
  std::vector<std::string> server_names;
  friend bool operator==(const TlsCertificate&, const TlsCertificate&) = default;
};

// TLS 1.2 cipher list (OpenSSL syntax), server order: forward-secret AEAD first, then what old
// senders still speak (CBC, static RSA) rather than plaintext (RFC 7435); never RC4, 3DES,
// export, NULL or anonymous suites.
inline constexpr const char* kDefaultTlsCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:DHE+AES:RSA+AESGCM:RSA+AES:"
    "!aNULL:!eNULL:!EXPORT:!RC4:!3DES:!MD5:!DSS:!PSK:!SRP:!CAMELLIA:!ARIA";

struct TlsConfig {
  std::string certificate;  // PEM chain; STARTTLS is offered only when a certificate is set
  std::string private_key;
  std::vector<TlsCertificate> certificates;  // more, and per SNI name
  bool require = false;                      // MAIL before STARTTLS gets 530 5.7.0
  Duration handshake_timeout = std::chrono::seconds(30);
  enum class Version { Tls1, Tls1_1, Tls1_2, Tls1_3 };
  Version min_version = Version::Tls1_2;
  std::string ciphers = kDefaultTlsCiphers;  // TLS 1.2 and older
  std::string ciphersuites;                  // TLS 1.3; "": OpenSSL's default
  std::string groups;                        // key exchange groups; "": OpenSSL's default
  bool prefer_server_ciphers = true;
  bool enabled() const { return !certificate.empty() || !certificates.empty(); }
  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// What one client may hold of an HTTP listener ([http] and [portal] each have their own), so
// that slow or half-sent requests cannot keep the others out (http/server.hpp).
struct HttpLimits {
  std::uint32_t max_connections = 64;                 // open at once
  std::uint32_t max_connections_per_client = 8;       // per IP address, per /64 for IPv6; 0: no cap
  Duration header_timeout = std::chrono::seconds(5);  // request line and header; keep-alive idle
  Duration request_timeout = std::chrono::seconds(10);  // the body, then writing the response
  friend bool operator==(const HttpLimits&, const HttpLimits&) = default;
};

struct HttpConfig {
  HostPort listen{"127.0.0.1", 8025};  // port 0 disables the listener
  HttpLimits limits;
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

// Complaint reports by mail (server/feedback_intake.hpp).
struct FeedbackConfig {
  std::string address;  // "": none; else mxgate takes ARF reports sent to it
  friend bool operator==(const FeedbackConfig&, const FeedbackConfig&) = default;
};

// The admin API (server/admin_api.hpp, server/admin_token.hpp).
struct AdminConfig {
  std::string token_file;  // "": <storage.path>/admin.token, made at the first start
  friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

// The postmaster portal (issue 8; server/portal.hpp).
struct PortalConfig {
  HostPort listen{"127.0.0.1", 8080};         // port 0 disables it
  std::uint32_t requests_per_minute = 60;     // per client IP; 0: no limit
  std::uint32_t delist_requests_per_day = 3;  // per contact address; 0: no limit
  HttpLimits limits;
  friend bool operator==(const PortalConfig&, const PortalConfig&) = default;
};

struct RelayConfig {
  // inline: nothing is acknowledged before the downstream acknowledged it; queue: stored in
  // the durable spool first ([queue]), then delivered.
  enum class Mode { Inline, Queue };
  Mode mode = Mode::Inline;
  std::string helo_name;  // default: server.hostname
  Duration connect_timeout = std::chrono::seconds(10);
  Duration command_timeout = std::chrono::minutes(2);
  Duration data_timeout = std::chrono::minutes(5);
  std::uint32_t pool_size = 16;  // idle connections kept per worker and downstream
  Duration pool_idle_timeout = std::chrono::seconds(30);
  // Per downstream, across workers (relay/gates.hpp): connections in use at once (0: no
  // limit), and the circuit breaker (breaker_failures 0: off).
  std::uint32_t max_connections = 50;
  std::uint32_t breaker_failures = 5;
  Duration breaker_cooldown = std::chrono::seconds(30);
  Duration breaker_max_cooldown = std::chrono::minutes(5);
  // Recipient verification (issue 20; relay/verify.hpp): whether RCPT asks the route's mailbox
  // server (callout, cached like Postfix's verify(8)) or a list file before answering 250.
  enum class Verification { Off, Callout, List };
  Verification recipient_verification = Verification::Off;
  std::string recipient_list;  // addresses and @domain catch-alls, one per line (list mode)
  Duration verify_positive_ttl = std::chrono::hours(24);
  Duration verify_negative_ttl = std::chrono::hours(1);
  std::uint32_t verify_cache_size = 100'000;           // entries, all workers together
  Duration verify_timeout = std::chrono::seconds(10);  // a callout's exchange, then 450 4.1.1
  friend bool operator==(const RelayConfig&, const RelayConfig&) = default;
};

// Queue mode ([queue], relay.mode = "queue"; issue 7).
struct QueueConfig {
  std::string path;  // the spool's directory; default: <storage.path>/queue
  // Waits before the retries of a message (the last one repeats).
  std::vector<Duration> retry{std::chrono::minutes(1),  std::chrono::minutes(5),
                              std::chrono::minutes(15), std::chrono::minutes(30),
                              std::chrono::hours(1),    std::chrono::hours(2),
                              std::chrono::hours(4)};
  Duration max_age = std::chrono::hours(24 * 5);  // then it is bounced (dead-lettered)
  Duration poll_interval = std::chrono::seconds(1);
  std::uint32_t max_deliveries = 100;  // concurrent deliveries per worker
  bool dsn = true;                     // bounce failed recipients to the sender (RFC 3464)
  friend bool operator==(const QueueConfig&, const QueueConfig&) = default;
};

// Fleet mode ([fleet], issue 19): several nodes share listings and decisions, history
// counters and limits through Redis; the SMTP path keeps reading only local state.
struct FleetConfig {
  bool enabled = false;
  std::string redis = "127.0.0.1:6379";  // "host:port" (an IP address) or "unix:/path"
  std::vector<HostPort> sentinels;       // when set, the master comes from them (master_name)
  std::string master_name = "mxgate";
  std::string password_file;  // Redis's requirepass, one line; "": none
  std::string node_name;      // this node in the fleet; default: server.hostname
  Duration flush_interval = std::chrono::seconds(1);
  std::string key_prefix = "mxgate";
  std::uint64_t max_queued = 100'000;  // changes waiting while Redis is away; then the oldest go
  friend bool operator==(const FleetConfig&, const FleetConfig&) = default;
};

// Greylisting ([greylist], issue 20): a sender's first attempt for a triplet (client /24 or
// /64, envelope sender, recipient) gets 451 at RCPT; a retry between min_delay and max_delay
// passes, and the triplet is remembered for pass_ttl. Doubtful: only sessions whose score
// lands in the defer band (reputation.defer_at up to reject_at), which are greylisted instead
// of deferred; All: every client that is neither trusted nor allow-listed.
struct GreylistConfig {
  enum class Mode { Doubtful, All };
  bool enabled = false;
  Mode mode = Mode::Doubtful;
  Duration min_delay = std::chrono::minutes(5);
  Duration max_delay = std::chrono::hours(12);
  std::uint32_t auto_allow = 5;  // passed triplets after which the client IP skips; 0: never
  Duration pass_ttl = std::chrono::hours(24 * 35);
  std::uint64_t max_entries = 1'000'000;  // all workers together; when full, 451 and no growth
  friend bool operator==(const GreylistConfig&, const GreylistConfig&) = default;
};

// Where queue mode's bounces to senders outside every [[route]] go ([outbound], issue 20):
// through the bounce_relay smarthosts when set, else to the sender domain's mail exchangers
// (RFC 5321 §5.1) on `port`. Only mxgate's own mail (DSNs, DMARC reports) leaves this way.
struct OutboundConfig {
  std::vector<HostPort> bounce_relay;  // tried in order; empty: MX lookup
  std::uint16_t port = 25;             // of the mail exchangers (another one for tests)
  friend bool operator==(const OutboundConfig&, const OutboundConfig&) = default;
};

// DMARC aggregate reports (RFC 7489 §7.2; auth/dmarc_report.hpp, postmaster/dmarc_reporter.hpp):
// the DMARC results of each period, per policy domain whose record has a rua=, mailed to the
// rua addresses that pass the external destination check (§7.1) through the queue and
// [outbound]. The rows of a period are bounded (max_rows in all, max_rows_per_domain each);
// beyond, a message's row is left out and counted.
struct DmarcReportsConfig {
  bool enabled = false;
  std::string org_name;  // report_metadata/org_name; default: server.hostname
  std::string from;      // the reports' sender; default: noreply-dmarc@<server.hostname>
  std::string contact;   // report_metadata/extra_contact_info (a URL); "": none
  Duration period = std::chrono::hours(24);  // aligned to the Unix epoch (midnight UTC)
  std::uint32_t max_rows = 100'000;          // per period, all domains
  std::uint32_t max_rows_per_domain = 10'000;
  std::uint64_t max_report_size = std::uint64_t{10} << 20;  // gzipped, per report
  std::uint32_t max_reports_per_day = 10'000;               // all domains, per UTC day
  // DKIM signing of the reports (auth/dkim_sign.hpp): a PEM private key (RSA or Ed25519), its
  // selector and d=; "" key: unsigned. dkim_domain default: the domain of `from`.
  std::string dkim_key;
  std::string dkim_selector;
  std::string dkim_domain;
  friend bool operator==(const DmarcReportsConfig&, const DmarcReportsConfig&) = default;
};

struct Route {
  std::vector<std::string> domains;  // "example.com" exact, ".example.com" subdomains
  std::vector<HostPort> downstream;  // tried in order
  bool require_tls = false;          // refuse to relay unless the downstream does STARTTLS
  // Tell the downstream who the original client was (Postfix's XCLIENT or XFORWARD), when it
  // offers the command.
  enum class ForwardClient { Off, Xclient, Xforward };
  ForwardClient forward_client = ForwardClient::Off;
  // TLS toward the downstreams (Postfix's smtp_tls_security_level): None never asks for
  // STARTTLS; May uses it when offered, unverified; Encrypt requires it, unverified (as
  // require_tls); Verify requires it and a certificate that tls_ca_file (default: the system's
  // CAs) vouches for under the downstream's name, or one of tls_fingerprints when set.
  enum class Tls { None, May, Encrypt, Verify };
  Tls tls = Tls::May;
  std::string tls_ca_file;                    // PEM CAs for Verify; "": the system's
  std::vector<std::string> tls_fingerprints;  // SHA-256 of the certificate, lowercase hex
  // Not a key: set on the route that queue mode builds from an MX lookup for a DSN to an
  // outside domain. Its hosts share one metrics label (relay/metrics.hpp).
  bool mail_exchangers = false;
  Tls tls_level() const { return require_tls && tls < Tls::Encrypt ? Tls::Encrypt : tls; }
  friend bool operator==(const Route&, const Route&) = default;
};

struct StorageConfig {
  std::string path = "/var/lib/mxgate";
  friend bool operator==(const StorageConfig&, const StorageConfig&) = default;
};

struct DnsConfig {
  std::vector<HostPort> servers;               // empty: /etc/resolv.conf
  Duration timeout = std::chrono::seconds(2);  // per try
  std::uint32_t tries = 2;
  std::uint32_t cache_entries = 100000;               // per worker
  Duration max_ttl = std::chrono::hours(24);          // cached answers live at most this long
  Duration max_negative_ttl = std::chrono::hours(1);  // NXDOMAIN/NODATA (RFC 2308 §5)
  friend bool operator==(const DnsConfig&, const DnsConfig&) = default;
};

// One DNS block or allow list ([[dnsbl]]), queried at connect (type ip) or at MAIL (RHSBL:
// the HELO name or the sender domain).
struct DnsblConfig {
  enum class Type { Ip, Helo, SenderDomain, Uri };  // Uri: linked domains (issue 17)
  enum class Action { Score, Reject, Defer };
  std::string zone;  // "zen.spamhaus.org"
  Type type = Type::Ip;
  std::vector<std::string> returns;  // ReturnFilter patterns; empty: any listing answer
  double weight = 1;                 // score when listed; negative for allow lists
  Action action = Action::Score;     // Reject/Defer: a listing refuses outright
  bool probe = true;                 // test the zone periodically (127.0.0.2 listed, 127.0.0.1 not)
  friend bool operator==(const DnsblConfig&, const DnsblConfig&) = default;
};

// Pregreet: "220-" first, then wait; a client that talks before the full banner is dropped.
struct PregreetConfig {
  bool enabled = true;
  Duration greet_pause = std::chrono::seconds(3);
  Duration greet_pause_under_load = std::chrono::seconds(1);
  double load_factor = 0.5;  // "under load": sessions above this share of server.max_sessions
  Duration pass_ttl = std::chrono::hours(24);  // a client that passed skips the pause
  friend bool operator==(const PregreetConfig&, const PregreetConfig&) = default;
};

// Email authentication at the end of data (issue 5): SPF (checked at MAIL), DKIM, ARC and DMARC;
// the results go into an Authentication-Results header and the checks spf, dkim, arc and dmarc.
struct AuthConfig {
  enum class PolicyLookup { PublicSuffixList, TreeWalk };  // auth::dmarc::PolicyLookup
  bool enabled = true;
  std::string authserv_id;  // default: server.hostname
  std::uint32_t max_signatures = 5;
  std::uint64_t max_header_size = 1024 * 1024;  // a longer header section is not parsed
  bool dmarc_reject = true;      // p=reject: 550 5.7.1 (false: the dmarc_fail score only)
  bool dmarc_quarantine = true;  // p=quarantine: accepted into quarantine (false: score only)
  PolicyLookup dmarc_policy_lookup = PolicyLookup::PublicSuffixList;
  std::uint32_t key_cache_entries = 1000;  // parsed DKIM keys, per worker
  // ARC sealers (the AS d= of a chain's last set, lower case) whose recorded dmarc=pass or
  // aligned dkim=pass lets a DMARC failure score instead of p=reject/p=quarantine (RFC 8617 §7).
  std::vector<std::string> trusted_arc_sealers;
  friend bool operator==(const AuthConfig&, const AuthConfig&) = default;
};

// The message's content (issue 17): the streaming parser's limits (content/message_parser.hpp),
// the checks format, linked_domains and bulk_unsubscribe, and the memory that held content may
// take while a message is judged.
struct ContentConfig {
  bool enabled = true;  // parse the content of untrusted clients' mail and run its checks
  std::uint64_t memory_per_session = 1024 * 1024;     // held in memory; the rest spills to a file
  std::uint64_t memory_budget = 256 * 1024 * 1024;    // all sessions' held content in memory
  std::uint32_t max_depth = 10;                       // multipart nesting
  std::uint32_t max_parts = 100;                      // MIME parts per message
  std::uint32_t max_header_fields = 1000;             // per header section
  std::uint64_t max_line_length = 64 * 1024;          // bytes of one line inspected
  std::uint64_t max_decoded_bytes = 4 * 1024 * 1024;  // text decoded and scanned for URLs
  std::uint32_t max_uri_domains = 20;  // distinct linked domains looked up per message
  std::uint32_t bulk_daily_volume =
      0;  // a sender domain over this many messages a day is bulk; 0: off
  friend bool operator==(const ContentConfig&, const ContentConfig&) = default;
};

// A content filter spoken to over the milter protocol ([[milter]], issue 18), asked at each
// SMTP stage in the order of the entries, as Postfix's smtpd_milters.
struct MilterConfig {
  enum class DefaultAction { Tempfail, Accept, Reject };  // milter::DefaultAction, in order
  std::string name;                                       // for logs and metrics
  std::string address;  // "inet:127.0.0.1:11332" or "unix:/run/rspamd/milter.sock"
  // What the filter is told about: connect, helo, mail, rcpt, data, header, body; the end of
  // the message always.
  std::vector<std::string> stages = {"connect", "helo", "mail", "rcpt", "data", "header", "body"};
  Duration connect_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(30);  // each step; a progress reply restarts it
  DefaultAction default_action = DefaultAction::Tempfail;  // the filter down, slow or broken
  std::vector<std::string> macros = {
      "j", "_",           "{daemon_name}", "{client_addr}", "{client_name}", "{client_port}",
      "i", "{mail_addr}", "{rcpt_addr}",   "{tls_version}", "{cipher}",      "{cipher_bits}"};
  bool replace_body = true;  // the filter may replace the body
  // Keeping the connection for the next SMTP session (QUIT_NC): never, only after a message
  // the filter let continue (what libmilter's state machine allows), or always (Rspamd).
  enum class Reuse { Never, AfterMessage, Always };  // milter::Reuse, in order
  Reuse reuse = Reuse::AfterMessage;
  Duration idle_timeout = std::chrono::seconds(30);  // a kept connection unused this long closes
  friend bool operator==(const MilterConfig&, const MilterConfig&) = default;
};

// A named rate limit ([[limit]]): `rate` events per `period` with `burst` more back to back,
// per key of one kind. Checked by the throttle (issue 6); a client over it is deferred.
struct LimitConfig {
  enum class Key { Ip, Network, SenderDomain, AuthDomain, IpSenderDomain };
  enum class Count { Connections, Messages, Recipients };
  std::string name;
  Key key = Key::Ip;
  Count count = Count::Messages;
  std::uint32_t rate = 1;
  Duration period = std::chrono::hours(1);
  std::uint32_t burst = 0;
  friend bool operator==(const LimitConfig&, const LimitConfig&) = default;
};

// Sending-pattern throttling (issue 6): [throttle] and the [[limit]] list.
struct ThrottleConfig {
  bool enabled = true;
  std::uint64_t max_keys = 2'000'000;  // state entries kept in memory, all workers together
  Duration persist_interval = std::chrono::minutes(1);
  std::uint32_t max_sessions_per_network = 200;  // per /24 or /64; 0: no cap
  // New IPs: first seen less than ramp_days ago, at most max(ramp_floor, ramp_factor x the
  // previous day's accepted messages) accepted per day.
  std::uint32_t ramp_days = 30;
  std::uint32_t ramp_floor = 100;
  double ramp_factor = 2;
  // Established IPs: deferred when this hour's messages exceed anomaly_factor x their hourly
  // baseline (an EWMA with this half-life), and at least anomaly_min_per_hour.
  double anomaly_factor = 10;
  std::uint32_t anomaly_min_per_hour = 100;
  Duration anomaly_half_life = std::chrono::hours(24);
  // List hygiene: deferred when invalid recipients exceed hygiene_ratio of at least
  // hygiene_min_recipients over the last hygiene_days (IP and sender domain).
  double hygiene_ratio = 0.1;
  std::uint32_t hygiene_min_recipients = 50;
  std::uint32_t hygiene_days = 1;
  // One session: after tarpit_after errors each reply waits tarpit_delay, doubling up to
  // tarpit_max; dictionary_limit unknown recipients end the session.
  std::uint32_t tarpit_after = 5;
  Duration tarpit_delay = std::chrono::seconds(1);
  Duration tarpit_max = std::chrono::seconds(20);
  std::uint32_t dictionary_limit = 20;
  std::vector<LimitConfig> limits = default_limits();

  static std::vector<LimitConfig> default_limits();
  friend bool operator==(const ThrottleConfig&, const ThrottleConfig&) = default;
};

struct ReputationConfig {
  std::string postmaster_url = "https://postmaster.example.net/postmaster/";
  reputation::Thresholds thresholds;  // defer_at, reject_at, quarantine_at, delay_reject
  reputation::ModelSettings model;    // [reputation.model]; history_days is [reputation]'s
  // Network records looked up at connect and counted per transaction (prefix lengths).
  std::vector<int> network_prefixes_v4{24};
  std::vector<int> network_prefixes_v6{48, 64};
  std::uint64_t cache_size = std::uint64_t{256} << 20;  // RocksDB block cache
  Duration flush_interval = std::chrono::seconds(1);    // outcome counters to the store
  // Quarantined mail: accepted, marked with this header, and relayed to quarantine_downstream
  // instead of its route when that is set.
  // Clients that skip the DNS checks and the greet pause (listings still apply): the
  // organisation's own servers. CIDR networks.
  std::vector<std::string> trusted_networks{"127.0.0.0/8", "::1/128"};
  std::string quarantine_header = "X-Mxgate-Quarantine";
  std::vector<HostPort> quarantine_downstream;
  friend bool operator==(const ReputationConfig&, const ReputationConfig&) = default;
};

struct LogConfig {
  std::string level = "info";
  // "text": "<time> <level> event key=value ..."; "json": one JSON object a line
  // (common/log_json.hpp). Applies at once on a reload.
  enum class Format { Text, Json };
  Format format = Format::Text;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

// Where a value was set, for the messages about it: a line of the file, an override (file
// "-o KEY=VALUE", line 0), or nowhere (a default: file and line empty).
struct Origin {
  std::string file;
  std::uint32_t line = 0;
  std::string text() const;  // "conf/mxgate.toml:211", "-o storage.path=/x", "default"
};

// The origins of the path-valued keys (kPathKeys). Not part of the configuration's value: a
// configuration whose lines moved is the same configuration, so they always compare equal.
struct Origins {
  std::vector<std::pair<std::string, Origin>> keys;
  Origin of(std::string_view key) const;  // a default's Origin for a key not listed
  friend bool operator==(const Origins&, const Origins&) { return true; }
};

// The keys whose values are paths. A relative path in the file or in an -o override is
// relative to the configuration file's directory; load_config() makes every one absolute.
inline constexpr std::string_view kPathKeys[] = {
    "tls.certificate", "tls.private_key",     "admin.token_file",    "queue.path",
    "storage.path",    "fleet.password_file", "relay.recipient_list", "dmarc_reports.dkim_key"};

struct Config {
  ServerConfig server;
  TlsConfig tls;
  HttpConfig http;
  PortalConfig portal;
  AdminConfig admin;
  FeedbackConfig feedback;
  RelayConfig relay;
  QueueConfig queue;
  OutboundConfig outbound;
  DmarcReportsConfig dmarc_reports;
  std::vector<Route> routes;
  StorageConfig storage;
  DnsConfig dns;
  std::vector<DnsblConfig> dnsbls;    // [[dnsbl]]
  std::vector<MilterConfig> milters;  // [[milter]], in the order they are asked
  PregreetConfig pregreet;
  AuthConfig auth;
  ContentConfig content;
  ThrottleConfig throttle;
  ReputationConfig reputation;
  FleetConfig fleet;
  GreylistConfig greylist;
  std::vector<reputation::CheckSettings> checks =
      reputation::default_check_settings();  // [checks.<name>]: every known check, in order
  LogConfig log;
  std::filesystem::path source;  // the file it was loaded from
  Origins origins;               // where the paths were set
  friend bool operator==(const Config&, const Config&) = default;
};

// A configuration that cannot be used. what() reads "FILE:LINE: KEY: problem"; "FILE: KEY:
// problem" when the problem has no line (a missing required section); without "KEY: " when it
// concerns no key (a TOML syntax error). For an override FILE is the option,
// "-o server.max_recipients=abc", and KEY is left out when it is the option's own key. A file
// that cannot be read is "cannot read /abs/path: reason" (file() is the path, line() 0), and a
// value the machine cannot honour (a path that cannot be created) is "KEY (ORIGIN): problem"
// (value_error()).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::uint32_t line, std::string key, const std::string& problem);
  // what() is `message` as it is.
  static ConfigError verbatim(std::string file, std::string key, const std::string& message);
  const std::string& file() const { return file_; }
  std::uint32_t line() const { return line_; }
  const std::string& key() const { return key_; }

 private:
  struct Verbatim {};
  ConfigError(Verbatim, std::string file, std::uint32_t line, std::string key,
              const std::string& message);

  std::string file_;
  std::uint32_t line_;
  std::string key_;
};

// "storage.path (conf/mxgate.toml:211): problem": a loaded value the machine cannot honour.
ConfigError value_error(const Config& config, std::string_view key, const std::string& problem);

// Loads and validates `path`, then applies `overrides` ("dotted.key=value", value in TOML
// syntax, or a bare string) in order. Relative paths (kPathKeys) are resolved against the
// directory of `path`, in the file and in the overrides alike. Throws ConfigError.
Config load_config(const std::filesystem::path& path,
                   const std::vector<std::string>& overrides = {});

// Parses "host:port", "[v6]:port". Throws std::invalid_argument with a readable message.
HostPort parse_host_port(std::string_view text);

// "250ms", "30s", "5m", "1h", "2d" (one integer and one unit). Throws std::invalid_argument
// with a message that shows the accepted forms. format_duration() is its inverse (largest
// unit that divides exactly, e.g. "5m", "1500ms").
Duration parse_duration(std::string_view text);
std::string format_duration(Duration duration);

// A byte count: "1048576", "512KiB", "10MiB", "1GiB" (powers of 1024), "10MB" (powers of 1000),
// units case-insensitive. Throws std::invalid_argument. format_size() is its inverse.
std::uint64_t parse_size(std::string_view text);
std::string format_size(std::uint64_t bytes);

std::string to_string(LineEndings line_endings);  // "reject", "normalize"

// Checks that the server can create or open every path it will use (check-config): the
// directories it creates (storage.path; queue.path in queue mode) exist and are writable, or
// their nearest existing parent is; the files it reads (TLS, admin.token_file) are readable.
// As the user who will run the server: the current user, or, when that is root, the owner of
// the storage directory (or of its nearest existing parent). Throws ConfigError
// (value_error()).
void check_paths(const Config& config);

// The effective configuration as TOML (one `key = value` line per field, one section per
// table), loadable again by load_config(). Printed by `mxgate check-config`.
std::string describe(const Config& config);

}  // namespace mxgate::conf
