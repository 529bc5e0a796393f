// The configuration schema: which keys each table has, their types, ranges and cross-checks.
// conf/mxgate.toml documents the same keys for operators; keep the two in step.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/cidr.hpp"
#include "conf/toml_reader.hpp"
#include "reputation/checks.hpp"
#include "reputation/dnsbl.hpp"

namespace mxgate::conf::detail {
namespace {

constexpr std::int64_t kMaxWorkers = 256;
constexpr std::int64_t kMaxSessions = 1'000'000;
constexpr std::int64_t kMaxRecipients = 100'000;
constexpr std::int64_t kMaxErrors = 1'000;
constexpr std::int64_t kMaxPoolSize = 10'000;
constexpr std::int64_t kMaxBreakerFailures = 1'000;
constexpr std::uint64_t kMinMessageSize = 1024;
constexpr std::uint16_t kDnsPort = 53;
constexpr double kMaxScore = 1'000'000;
constexpr int kMaxHistoryDays = 366;
constexpr std::int64_t kMaxVolume = 1'000'000'000;
constexpr std::size_t kMaxPrefixes = 4;  // storage::kMaxNetworkPrefixes
constexpr std::uint64_t kMinCacheSize = 1 << 20;
constexpr std::int64_t kMaxDnsTries = 10;
constexpr std::int64_t kMaxDnsCache = 100'000'000;
constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

bool has_control_chars(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

std::string lowercase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

void check_host_name(TableReader& r, std::string_view key, const std::string& name) {
  if (name.empty()) return;
  if (auto problem = domain_problem(name)) {
    r.fail(r.find(key), key, quote(name) + " is not a valid host name: it " + *problem);
  }
}

void check_readable_file(TableReader& r, std::string_view key, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    r.fail(r.find(key), key, quote(path) + " is a directory; give the path of a PEM file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::string reason = std::strerror(errno);
    r.fail(r.find(key), key,
           "cannot read " + quote(path) + " (" + reason +
               "); check the path and that mxgate's user may read it");
  }
}

void read_server(TableReader r, ServerConfig& s) {
  r.read("listen", s.listen, PortRule{});
  if (s.listen.empty()) {
    r.fail(r.find("listen"), "listen", "needs at least one address such as \"0.0.0.0:25\"");
  }
  r.read("hostname", s.hostname);
  check_host_name(r, "hostname", s.hostname);
  r.read("banner", s.banner);
  if (has_control_chars(s.banner)) {
    r.fail(r.find("banner"), "banner", "must be one line of printable text");
  }
  r.read_int("workers", s.workers, 0, kMaxWorkers);
  r.read_int("max_sessions", s.max_sessions, 1, kMaxSessions);
  r.read_int("max_sessions_per_ip", s.max_sessions_per_ip, 1, kMaxSessions);
  if (s.max_sessions_per_ip > s.max_sessions) {
    const toml::node* node = r.find("max_sessions_per_ip");
    r.fail(node != nullptr ? node : r.find("max_sessions"), "max_sessions_per_ip",
           "must not exceed server.max_sessions (" + std::to_string(s.max_sessions) + "), got " +
               std::to_string(s.max_sessions_per_ip) + "; lower it or raise server.max_sessions");
  }
  r.read_size("max_message_size", s.max_message_size, kMinMessageSize);
  r.read_int("max_recipients", s.max_recipients, 1, kMaxRecipients);
  r.read_int("max_errors", s.max_errors, 1, kMaxErrors);
  std::string line_endings = to_string(s.line_endings);
  r.read("line_endings", line_endings);
  if (line_endings != "reject" && line_endings != "normalize") {
    r.fail(r.find("line_endings"), "line_endings",
           "expected \"reject\" or \"normalize\", got " + quote(line_endings));
  }
  s.line_endings = line_endings == "reject" ? LineEndings::Reject : LineEndings::Normalize;
  r.read_positive("command_timeout", s.command_timeout);
  r.read_positive("data_timeout", s.data_timeout);
  r.read_positive("drain_timeout", s.drain_timeout);
  r.read("proxy_listen", s.proxy_listen, PortRule{});
  r.read("proxy_trusted", s.proxy_trusted);
  for (const auto& network : s.proxy_trusted) {
    if (!common::parse_cidr(network)) {
      r.fail(r.find("proxy_trusted"), "proxy_trusted",
             quote(network) + " is not a network; write it as \"192.0.2.0/24\" or \"::1/128\"");
    }
  }
  r.read_positive("proxy_timeout", s.proxy_timeout);
  r.finish();
}

void read_tls(TableReader r, TlsConfig& t) {
  r.read("certificate", t.certificate);
  r.read("private_key", t.private_key);
  r.read("require", t.require);
  r.read_positive("handshake_timeout", t.handshake_timeout);
  r.finish();
  if (t.certificate.empty() != t.private_key.empty()) {
    std::string_view present = t.certificate.empty() ? "private_key" : "certificate";
    std::string_view missing = t.certificate.empty() ? "certificate" : "private_key";
    r.fail(r.find(present), missing,
           "is missing: tls." + std::string(present) + " is set, so set tls." +
               std::string(missing) + " too (or remove both to run without STARTTLS)");
  }
  check_readable_file(r, "certificate", t.certificate);
  check_readable_file(r, "private_key", t.private_key);
  if (t.require && t.certificate.empty()) {
    r.fail(r.find("require"), "require",
           "needs tls.certificate and tls.private_key; set them, or set require = false");
  }
}

void read_relay(TableReader r, RelayConfig& relay) {
  std::size_t mode = 0;
  r.read_choice("mode", mode, {"inline", "queue"});
  relay.mode = static_cast<RelayConfig::Mode>(mode);
  r.read("helo_name", relay.helo_name);
  check_host_name(r, "helo_name", relay.helo_name);
  r.read_positive("connect_timeout", relay.connect_timeout);
  r.read_positive("command_timeout", relay.command_timeout);
  r.read_positive("data_timeout", relay.data_timeout);
  r.read_int("pool_size", relay.pool_size, 0, kMaxPoolSize);
  r.read_positive("pool_idle_timeout", relay.pool_idle_timeout);
  r.read_int("max_connections", relay.max_connections, 0, kMaxPoolSize);
  r.read_int("breaker_failures", relay.breaker_failures, 0, kMaxBreakerFailures);
  r.read_positive("breaker_cooldown", relay.breaker_cooldown);
  r.read_positive("breaker_max_cooldown", relay.breaker_max_cooldown);
  if (relay.breaker_max_cooldown < relay.breaker_cooldown) {
    r.fail(r.find("breaker_max_cooldown"), "breaker_max_cooldown",
           "must be at least breaker_cooldown");
  }
  r.finish();
}

void read_queue(TableReader r, QueueConfig& queue) {
  r.read("path", queue.path);
  if (const toml::node* node = r.find("retry")) {
    std::vector<std::string> texts;
    r.read("retry", texts);
    if (texts.empty()) r.fail(node, "retry", "must list at least one wait, e.g. [\"1m\", \"1h\"]");
    queue.retry.clear();
    for (const auto& text : texts) {
      try {
        queue.retry.push_back(parse_duration(text));
      } catch (const std::invalid_argument& e) {
        r.fail(node, "retry", e.what());
      }
      if (queue.retry.back() <= Duration::zero()) r.fail(node, "retry", "waits must be positive");
    }
  }
  r.read_positive("max_age", queue.max_age);
  r.read_positive("poll_interval", queue.poll_interval);
  r.read_int("max_deliveries", queue.max_deliveries, 1, 100000);
  r.read("dsn", queue.dsn);
  r.finish();
}

// Domains are stored lowercased; `owners` maps each domain to the route that has it, so that
// a domain routed twice is an error rather than a silent first-match.
void read_domains(TableReader& r, Route& route, std::map<std::string, std::string>& owners) {
  const toml::node* node = r.find("domains");
  if (node == nullptr) {
    r.fail(r.node(), "domains",
           "is required: list the recipient domains of this route, e.g. "
           "domains = [\"example.com\", \".example.com\"]");
  }
  r.read("domains", route.domains);
  if (route.domains.empty()) r.fail(node, "domains", "must list at least one domain");
  const toml::array& elements = *node->as_array();
  for (std::size_t i = 0; i < route.domains.size(); ++i) {
    std::string domain = lowercase(route.domains[i]);
    std::string_view bare = domain.starts_with('.') ? std::string_view(domain).substr(1) : domain;
    if (auto problem = domain_problem(bare)) {
      r.fail(elements.get(i), "domains",
             quote(route.domains[i]) + " is not a valid domain: it " + *problem +
                 " (write \"example.com\" for the domain, \".example.com\" for its subdomains)");
    }
    auto [owner, inserted] = owners.emplace(domain, r.prefix());
    if (!inserted) {
      r.fail(elements.get(i), "domains",
             quote(domain) + " is already routed by " + owner->second +
                 "; list each domain in one route only");
    }
    route.domains[i] = std::move(domain);
  }
}

Route read_route(TableReader r, std::map<std::string, std::string>& owners) {
  Route route;
  read_domains(r, route, owners);
  const toml::node* downstream = r.find("downstream");
  if (downstream == nullptr) {
    r.fail(r.node(), "downstream",
           "is required: list the mailbox servers of this route, e.g. "
           "downstream = [\"10.0.0.5:25\"]");
  }
  r.read("downstream", route.downstream, PortRule{});
  if (route.downstream.empty()) {
    r.fail(downstream, "downstream", "must list at least one \"host:port\"");
  }
  r.read("require_tls", route.require_tls);
  r.finish();
  return route;
}

void read_routes(TableReader& r, std::vector<Route>& routes) {
  constexpr std::string_view kRequired =
      "at least one [[route]] is required (a gateway with no routes relays nothing); add "
      "[[route]] with domains = [\"example.com\"] and downstream = [\"host:port\"]";
  const toml::node* node = r.find("route");
  if (node == nullptr) r.fail(nullptr, "route", std::string(kRequired));
  const toml::array* array = node->as_array();
  if (array != nullptr && array->empty()) r.fail(node, "route", std::string(kRequired));
  if (array == nullptr || !array->is_array_of_tables()) {
    r.fail(node, "route",
           "expected tables written as [[route]] sections, got " + describe_node(*node));
  }
  std::map<std::string, std::string> owners;
  for (std::size_t i = 0; i < array->size(); ++i) {
    std::string prefix = "route[" + std::to_string(i) + "]";
    routes.push_back(read_route(TableReader(array->get(i)->as_table(), prefix, r.file()), owners));
  }
}

// Prefix lengths of the network records; kept ascending (most specific last).
void read_prefixes(TableReader& r, std::string_view key, std::vector<int>& out, int min, int max) {
  r.read_ints(key, out, min, max);
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end() || out.size() > kMaxPrefixes) {
    r.fail(r.find(key), key,
           "expected at most " + std::to_string(kMaxPrefixes) + " distinct prefix lengths");
  }
}

bool is_header_name(std::string_view name) {
  // RFC 5322 §3.6.8: ftext is printable US-ASCII except ":".
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return c > 32 && c < 127 && c != ':'; });
}

void read_model(TableReader r, reputation::ModelSettings& m) {
  r.read_number("score_half_life_days", m.score_half_life_days, 0, kMaxHistoryDays);
  r.read_number("poor_score", m.poor_score, 0, kMaxScore);
  r.read_number("poor_points", m.poor_points, 0, kMaxScore);
  r.read_number("reject_ratio", m.reject_ratio, 0, 1);
  r.read_int("reject_ratio_min_volume", m.reject_ratio_min_volume, 1, kMaxVolume);
  r.read_number("reject_ratio_points", m.reject_ratio_points, 0, kMaxScore);
  r.read_number("complaint_rate", m.complaint_rate, 0, 1);
  r.read_int("complaint_min_delivered", m.complaint_min_delivered, 1, kMaxVolume);
  r.read_number("complaint_points", m.complaint_points, 0, kMaxScore);
  r.read_number("invalid_recipient_ratio", m.invalid_recipient_ratio, 0, 1);
  r.read_int("invalid_recipient_min_volume", m.invalid_recipient_min_volume, 1, kMaxVolume);
  r.read_number("invalid_recipient_points", m.invalid_recipient_points, 0, kMaxScore);
  r.read_int("first_seen_recent_days", m.first_seen_recent_days, 0, kMaxHistoryDays);
  r.finish();
}

void read_reputation(TableReader r, ReputationConfig& reputation) {
  r.read("postmaster_url", reputation.postmaster_url);
  const std::string& url = reputation.postmaster_url;
  bool scheme = url.starts_with("http://") || url.starts_with("https://");
  bool clean = std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
  });
  if (!scheme || !clean || url.ends_with("//")) {
    r.fail(r.find("postmaster_url"), "postmaster_url",
           "expected an http:// or https:// URL without spaces, such as "
           "\"https://postmaster.example.net/postmaster/\", got " +
               quote(url));
  }
  auto& t = reputation.thresholds;
  r.read_number("defer_at", t.defer_at, 0, kMaxScore);
  r.read_number("reject_at", t.reject_at, 0, kMaxScore);
  r.read_number("quarantine_at", t.quarantine_at, 0, kMaxScore);
  r.read("delay_reject", t.delay_reject);
  if (t.defer_at > 0 && t.reject_at > 0 && t.defer_at > t.reject_at) {
    r.fail(r.find("defer_at"), "defer_at",
           fmt::format("({:g}) must not exceed reputation.reject_at ({:g}): a score that rejects "
                       "would never defer first; lower defer_at or raise reject_at",
                       t.defer_at, t.reject_at));
  }
  r.read_int("history_days", reputation.model.history_days, 1, kMaxHistoryDays);
  read_prefixes(r, "network_prefixes_v4", reputation.network_prefixes_v4, 8, 32);
  read_prefixes(r, "network_prefixes_v6", reputation.network_prefixes_v6, 16, 128);
  r.read_size("cache_size", reputation.cache_size, kMinCacheSize);
  r.read_positive("flush_interval", reputation.flush_interval);
  r.read("trusted_networks", reputation.trusted_networks);
  for (const auto& network : reputation.trusted_networks) {
    if (!common::parse_cidr(network)) {
      r.fail(r.find("trusted_networks"), "trusted_networks",
             quote(network) + " is not a network; write it as \"192.0.2.0/24\" or \"::1/128\"");
    }
  }
  r.read("quarantine_header", reputation.quarantine_header);
  if (!is_header_name(reputation.quarantine_header)) {
    r.fail(r.find("quarantine_header"), "quarantine_header",
           "expected a header field name such as \"X-Mxgate-Quarantine\" (printable ASCII, no "
           "colon or space), got " +
               quote(reputation.quarantine_header));
  }
  r.read("quarantine_downstream", reputation.quarantine_downstream, PortRule{});
  read_model(r.table("model"), reputation.model);
  r.finish();
}

// [checks.<name>.points]: the points of the check's own signals.
void read_points(TableReader r, reputation::CheckSettings& check) {
  if (r.node() == nullptr) return;
  for (auto& p : check.points) {
    r.read_number(reputation::signal_name(p.signal), p.points, -kMaxScore, kMaxScore);
  }
  if (check.points.empty() && !r.node()->empty()) {
    const auto first = r.node()->begin();
    r.fail(&first->second, first->first.str(),
           "check " + std::string(check.name) +
               " has no points to set (its scores come from elsewhere)");
  }
  r.finish();
}

// [checks.<name>]: only known checks; each may set weight, mode, timeout and on_error.
void read_checks(TableReader r, std::vector<reputation::CheckSettings>& checks) {
  checks = reputation::default_check_settings();
  if (r.node() == nullptr) return;
  for (const auto& [key, node] : *r.node()) {
    const std::string name(key.str());
    auto it = std::find_if(checks.begin(), checks.end(),
                           [&](const auto& check) { return check.name == name; });
    if (it == checks.end()) {
      std::string names;
      for (const auto& check : checks)
        names += (names.empty() ? "" : ", ") + std::string(check.name);
      r.fail(&node, name, "is not a check mxgate has; the checks are: " + names);
    }
    TableReader c = r.table(name);
    c.read_number("weight", it->weight, -kMaxScore, kMaxScore);
    auto mode = static_cast<std::size_t>(it->mode);
    c.read_choice("mode", mode, {"enforce", "observe", "off"});
    it->mode = static_cast<reputation::CheckSettings::Mode>(mode);
    c.read_positive("timeout", it->timeout);
    read_points(c.table("points"), *it);
    std::size_t on_error = it->on_error == reputation::CheckSettings::OnError::Defer ? 0 : 1;
    c.read_choice("on_error", on_error, {"defer", "ignore"});
    it->on_error = on_error == 0 ? reputation::CheckSettings::OnError::Defer
                                 : reputation::CheckSettings::OnError::Ignore;
    c.finish();
  }
}

void read_log(TableReader r, LogConfig& log) {
  r.read("level", log.level);
  if (std::find(kLogLevels.begin(), kLogLevels.end(), log.level) == kLogLevels.end()) {
    r.fail(
        r.find("level"), "level",
        "expected one of trace, debug, info, warn, error, critical, off; got " + quote(log.level));
  }
  r.finish();
}

void read_http(TableReader r, HttpConfig& http) {
  r.read("listen", http.listen, PortRule{.allow_zero = true});
  r.finish();
}

void read_feedback(TableReader r, FeedbackConfig& feedback) {
  r.read("address", feedback.address);
  const auto at = feedback.address.find('@');
  if (!feedback.address.empty() &&
      (at == std::string::npos || at == 0 || at + 1 == feedback.address.size() ||
       feedback.address.find_first_of(" <>\"") != std::string::npos)) {
    r.fail(r.find("address"), "address",
           "must be a mail address like fbl@mx.example.net, or \"\" for none");
  }
  r.finish();
}

void read_admin(TableReader r, AdminConfig& admin) {
  r.read("token_file", admin.token_file);
  r.finish();
}

void read_portal(TableReader r, PortalConfig& portal) {
  r.read("listen", portal.listen, PortRule{.allow_zero = true});
  r.read_int("requests_per_minute", portal.requests_per_minute, 0, 1'000'000);
  r.read_int("delist_requests_per_day", portal.delist_requests_per_day, 0, 1'000'000);
  r.finish();
}

void read_storage(TableReader r, StorageConfig& storage) {
  r.read("path", storage.path);
  if (storage.path.empty()) {
    r.fail(r.find("path"), "path", "must name a directory, e.g. \"/var/lib/mxgate\"");
  }
  r.finish();
}

void read_dns(TableReader r, DnsConfig& dns) {
  r.read("servers", dns.servers, PortRule{.default_port = kDnsPort});
  r.read_positive("timeout", dns.timeout);
  r.read_int("tries", dns.tries, 1, kMaxDnsTries);
  r.read_int("cache_entries", dns.cache_entries, 0, kMaxDnsCache);
  r.read_positive("max_ttl", dns.max_ttl);
  r.read_positive("max_negative_ttl", dns.max_negative_ttl);
  r.finish();
}

DnsblConfig read_dnsbl(TableReader r, std::map<std::string, std::string>& zones) {
  DnsblConfig d;
  const toml::node* zone = r.find("zone");
  if (zone == nullptr) {
    r.fail(r.node(), "zone", "is required: the list's DNS zone, e.g. zone = \"zen.spamhaus.org\"");
  }
  r.read("zone", d.zone);
  d.zone = lowercase(d.zone);
  if (!d.zone.empty() && d.zone.back() == '.') d.zone.pop_back();
  if (auto problem = domain_problem(d.zone)) {
    r.fail(zone, "zone", quote(d.zone) + " is not a DNS zone: it " + *problem);
  }
  std::size_t type = 0;
  r.read_choice("type", type, {"ip", "helo", "sender_domain"});
  d.type = static_cast<DnsblConfig::Type>(type);
  auto [owner, inserted] = zones.emplace(d.zone + "/" + std::to_string(type), r.prefix());
  if (!inserted) {
    r.fail(zone, "zone", quote(d.zone) + " is already listed by " + owner->second);
  }
  r.read("returns", d.returns);
  const toml::node* returns = r.find("returns");
  for (const auto& pattern : d.returns) {
    std::string error;
    if (!reputation::ReturnFilter::parse(pattern, &error)) r.fail(returns, "returns", error);
  }
  r.read_number("weight", d.weight, -kMaxScore, kMaxScore);
  std::size_t action = 0;
  r.read_choice("action", action, {"score", "reject", "defer"});
  d.action = static_cast<DnsblConfig::Action>(action);
  r.read("probe", d.probe);
  r.finish();
  return d;
}

void read_dnsbls(TableReader& r, std::vector<DnsblConfig>& dnsbls) {
  const toml::node* node = r.find("dnsbl");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
    r.fail(node, "dnsbl",
           "expected tables written as [[dnsbl]] sections, got " + describe_node(*node));
  }
  std::map<std::string, std::string> zones;
  for (std::size_t i = 0; i < array->size(); ++i) {
    std::string prefix = "dnsbl[" + std::to_string(i) + "]";
    dnsbls.push_back(read_dnsbl(TableReader(array->get(i)->as_table(), prefix, r.file()), zones));
  }
}

void read_pregreet(TableReader r, PregreetConfig& p) {
  r.read("enabled", p.enabled);
  r.read_positive("greet_pause", p.greet_pause);
  r.read_positive("greet_pause_under_load", p.greet_pause_under_load);
  r.read_number("load_factor", p.load_factor, 0, 1);
  r.read_positive("pass_ttl", p.pass_ttl);
  r.finish();
  if (p.greet_pause_under_load > p.greet_pause) {
    r.fail(r.find("greet_pause_under_load"), "greet_pause_under_load",
           "must not exceed pregreet.greet_pause (" + format_duration(p.greet_pause) +
               "): under load the pause gets shorter, not longer");
  }
}

void read_auth(TableReader r, AuthConfig& a) {
  r.read("enabled", a.enabled);
  r.read("authserv_id", a.authserv_id);
  check_host_name(r, "authserv_id", a.authserv_id);
  r.read_int("max_signatures", a.max_signatures, 0, 100);
  r.read_size("max_header_size", a.max_header_size, 1024);
  r.read("dmarc_reject", a.dmarc_reject);
  r.read("dmarc_quarantine", a.dmarc_quarantine);
  std::size_t lookup = 0;
  r.read_choice("dmarc_policy_lookup", lookup, {"psl", "tree_walk"});
  a.dmarc_policy_lookup = static_cast<AuthConfig::PolicyLookup>(lookup);
  r.read_int("key_cache_entries", a.key_cache_entries, 0, 10000000);
  r.finish();
}

LimitConfig read_limit(TableReader r, std::set<std::string>& names) {
  LimitConfig l;
  const toml::node* name = r.find("name");
  if (name == nullptr) {
    r.fail(r.node(), "name", "is required: a name for logs and metrics, e.g. \"ip-messages\"");
  }
  r.read("name", l.name);
  const bool valid = !l.name.empty() && l.name.size() <= 64 &&
                     std::all_of(l.name.begin(), l.name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                     });
  if (!valid) {
    r.fail(name, "name", quote(l.name) + " must be 1 to 64 letters, digits, '-' or '_'");
  }
  if (!names.insert(l.name).second) r.fail(name, "name", quote(l.name) + " is used twice");
  std::size_t key = 0;
  r.read_choice("key", key, {"ip", "network", "sender_domain", "auth_domain", "ip_sender_domain"});
  l.key = static_cast<LimitConfig::Key>(key);
  std::size_t count = 1;
  r.read_choice("count", count, {"connections", "messages", "recipients"});
  l.count = static_cast<LimitConfig::Count>(count);
  if (r.find("rate") == nullptr)
    r.fail(r.node(), "rate", "is required: events per period, e.g. 100");
  r.read_int("rate", l.rate, 1, 100'000'000);
  r.read_positive("period", l.period);
  r.read_int("burst", l.burst, 0, 100'000'000);
  r.finish();
  const bool connect_only = l.key == LimitConfig::Key::Ip || l.key == LimitConfig::Key::Network;
  if (l.count == LimitConfig::Count::Connections && !connect_only) {
    r.fail(r.find("count"), "count",
           "\"connections\" needs key \"ip\" or \"network\" (the rest is not known at connect)");
  }
  if (l.key == LimitConfig::Key::AuthDomain && l.count != LimitConfig::Count::Messages) {
    r.fail(r.find("count"), "count",
           "key \"auth_domain\" counts \"messages\" (domains authenticate at end of data)");
  }
  return l;
}

void read_throttle(TableReader& root, ThrottleConfig& t) {
  TableReader r = root.table("throttle");
  r.read("enabled", t.enabled);
  r.read_int("max_keys", t.max_keys, 1000, 1'000'000'000);
  r.read_positive("persist_interval", t.persist_interval);
  r.read_int("max_sessions_per_network", t.max_sessions_per_network, 0, 10'000'000);
  r.read_int("ramp_days", t.ramp_days, 0, 3650);
  r.read_int("ramp_floor", t.ramp_floor, 1, 100'000'000);
  r.read_number("ramp_factor", t.ramp_factor, 1, 1000);
  r.read_number("anomaly_factor", t.anomaly_factor, 0, 1'000'000);
  r.read_int("anomaly_min_per_hour", t.anomaly_min_per_hour, 0, 100'000'000);
  r.read_positive("anomaly_half_life", t.anomaly_half_life);
  r.read_number("hygiene_ratio", t.hygiene_ratio, 0, 1);
  r.read_int("hygiene_min_recipients", t.hygiene_min_recipients, 1, 100'000'000);
  r.read_int("hygiene_days", t.hygiene_days, 1, 365);
  r.read_int("tarpit_after", t.tarpit_after, 0, 1000);
  r.read_positive("tarpit_delay", t.tarpit_delay);
  r.read_positive("tarpit_max", t.tarpit_max);
  r.read_int("dictionary_limit", t.dictionary_limit, 0, 100000);
  r.finish();
  if (t.tarpit_max < t.tarpit_delay) {
    r.fail(r.find("tarpit_max"), "tarpit_max",
           "must not be below throttle.tarpit_delay (" + format_duration(t.tarpit_delay) + ")");
  }
  const toml::node* node = root.find("limit");
  if (node == nullptr) return;  // the defaults
  const toml::array* array = node->as_array();
  if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
    root.fail(node, "limit",
              "expected tables written as [[limit]] sections, got " + describe_node(*node));
  }
  t.limits.clear();  // [[limit]] sections replace the defaults
  std::set<std::string> names;
  for (std::size_t i = 0; i < array->size(); ++i) {
    std::string prefix = "limit[" + std::to_string(i) + "]";
    t.limits.push_back(
        read_limit(TableReader(array->get(i)->as_table(), prefix, root.file()), names));
  }
}

// An empty server.hostname means the machine's name; relay.helo_name defaults to it.
void fill_host_names(TableReader& root, Config& c) {
  if (c.server.hostname.empty()) {
    std::array<char, HOST_NAME_MAX + 1> name{};
    if (gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') {
      root.fail(nullptr, "server.hostname",
                "is not set and the machine's host name is unavailable; set it, e.g. "
                "hostname = \"mx.example.net\"");
    }
    c.server.hostname = name.data();
  }
  if (c.relay.helo_name.empty()) c.relay.helo_name = c.server.hostname;
  if (c.auth.authserv_id.empty()) c.auth.authserv_id = c.server.hostname;
  if (c.queue.path.empty())
    c.queue.path = (std::filesystem::path(c.storage.path) / "queue").string();
}

}  // namespace

Config read_config(const toml::table& root, const std::string& file) {
  Config c;
  TableReader r(&root, "", file);
  read_server(r.table("server"), c.server);
  read_tls(r.table("tls"), c.tls);
  read_http(r.table("http"), c.http);
  read_portal(r.table("portal"), c.portal);
  read_admin(r.table("admin"), c.admin);
  read_feedback(r.table("feedback"), c.feedback);
  read_relay(r.table("relay"), c.relay);
  read_queue(r.table("queue"), c.queue);
  read_routes(r, c.routes);
  read_storage(r.table("storage"), c.storage);
  read_dns(r.table("dns"), c.dns);
  read_dnsbls(r, c.dnsbls);
  read_pregreet(r.table("pregreet"), c.pregreet);
  read_auth(r.table("auth"), c.auth);
  read_throttle(r, c.throttle);
  read_reputation(r.table("reputation"), c.reputation);
  read_checks(r.table("checks"), c.checks);
  read_log(r.table("log"), c.log);
  r.finish();
  fill_host_names(r, c);
  c.source = file;
  return c;
}

}  // namespace mxgate::conf::detail
