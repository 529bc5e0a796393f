// describe(): the effective configuration as TOML, one `key = value` line per field, in the
// order of conf/mxgate.toml. The output loads again with load_config() to the same Config.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/detail.hpp"

namespace mxgate::conf {
namespace {

class Writer {
 public:
  void section(std::string_view header) {
    if (!out_.empty()) out_ += "\n";
    out_ += std::string(header) + "\n";
  }
  void line(std::string_view key, const std::string& value) {
    out_ += std::string(key) + " = " + value + "\n";
  }
  void string(std::string_view key, std::string_view value) { line(key, detail::quote(value)); }
  void number(std::string_view key, std::uint64_t value) { line(key, std::to_string(value)); }
  void real(std::string_view key, double value) { line(key, fmt::format("{:g}", value)); }
  void ints(std::string_view key, const std::vector<int>& values) {
    line(key, fmt::format("[{}]", fmt::join(values, ", ")));
  }
  void boolean(std::string_view key, bool value) { line(key, value ? "true" : "false"); }
  void duration(std::string_view key, Duration value) { string(key, format_duration(value)); }
  void list(std::string_view key, const std::vector<std::string>& values) {
    std::string text = "[";
    for (const auto& value : values) text += (text.size() > 1 ? ", " : "") + detail::quote(value);
    line(key, text + "]");
  }
  void list(std::string_view key, const std::vector<HostPort>& values) {
    std::vector<std::string> texts;
    for (const auto& value : values) texts.push_back(value.text());
    list(key, texts);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void write_server(Writer& w, const ServerConfig& s) {
  w.section("[server]");
  w.list("listen", s.listen);
  w.string("hostname", s.hostname);
  w.string("banner", s.banner);
  w.number("workers", s.workers);
  w.number("max_sessions", s.max_sessions);
  w.number("max_sessions_per_ip", s.max_sessions_per_ip);
  w.string("max_message_size", format_size(s.max_message_size));
  w.number("max_recipients", s.max_recipients);
  w.number("max_errors", s.max_errors);
  w.string("line_endings", to_string(s.line_endings));
  w.duration("command_timeout", s.command_timeout);
  w.duration("data_timeout", s.data_timeout);
  w.duration("drain_timeout", s.drain_timeout);
  w.list("proxy_listen", s.proxy_listen);
  w.list("proxy_trusted", s.proxy_trusted);
  w.duration("proxy_timeout", s.proxy_timeout);
}

void write_tls_http_relay(Writer& w, const Config& c) {
  w.section("[tls]");
  w.string("certificate", c.tls.certificate);
  w.string("private_key", c.tls.private_key);
  w.boolean("require", c.tls.require);
  w.duration("handshake_timeout", c.tls.handshake_timeout);
  w.section("[http]");
  w.string("listen", c.http.listen.text());
  w.section("[feedback]");
  w.string("address", c.feedback.address);
  w.section("[admin]");
  w.string("token_file", c.admin.token_file);
  w.section("[portal]");
  w.string("listen", c.portal.listen.text());
  w.number("requests_per_minute", c.portal.requests_per_minute);
  w.number("delist_requests_per_day", c.portal.delist_requests_per_day);
  w.section("[relay]");
  w.string("mode", c.relay.mode == RelayConfig::Mode::Queue ? "queue" : "inline");
  w.string("helo_name", c.relay.helo_name);
  w.duration("connect_timeout", c.relay.connect_timeout);
  w.duration("command_timeout", c.relay.command_timeout);
  w.duration("data_timeout", c.relay.data_timeout);
  w.number("pool_size", c.relay.pool_size);
  w.duration("pool_idle_timeout", c.relay.pool_idle_timeout);
  w.number("max_connections", c.relay.max_connections);
  w.number("breaker_failures", c.relay.breaker_failures);
  w.duration("breaker_cooldown", c.relay.breaker_cooldown);
  w.duration("breaker_max_cooldown", c.relay.breaker_max_cooldown);
  w.section("[queue]");
  w.string("path", c.queue.path);
  std::vector<std::string> retry;
  for (const auto& wait : c.queue.retry) retry.push_back(format_duration(wait));
  w.list("retry", retry);
  w.duration("max_age", c.queue.max_age);
  w.duration("poll_interval", c.queue.poll_interval);
  w.number("max_deliveries", c.queue.max_deliveries);
  w.boolean("dsn", c.queue.dsn);
}

void write_reputation(Writer& w, const Config& c) {
  const auto& r = c.reputation;
  w.section("[reputation]");
  w.string("postmaster_url", r.postmaster_url);
  w.real("defer_at", r.thresholds.defer_at);
  w.real("reject_at", r.thresholds.reject_at);
  w.real("quarantine_at", r.thresholds.quarantine_at);
  w.boolean("delay_reject", r.thresholds.delay_reject);
  w.number("history_days", static_cast<std::uint64_t>(r.model.history_days));
  w.ints("network_prefixes_v4", r.network_prefixes_v4);
  w.ints("network_prefixes_v6", r.network_prefixes_v6);
  w.string("cache_size", format_size(r.cache_size));
  w.duration("flush_interval", r.flush_interval);
  w.list("trusted_networks", r.trusted_networks);
  w.string("quarantine_header", r.quarantine_header);
  w.list("quarantine_downstream", r.quarantine_downstream);
  const auto& m = r.model;
  w.section("[reputation.model]");
  w.real("score_half_life_days", m.score_half_life_days);
  w.real("poor_score", m.poor_score);
  w.real("poor_points", m.poor_points);
  w.real("reject_ratio", m.reject_ratio);
  w.number("reject_ratio_min_volume", m.reject_ratio_min_volume);
  w.real("reject_ratio_points", m.reject_ratio_points);
  w.real("complaint_rate", m.complaint_rate);
  w.number("complaint_min_delivered", m.complaint_min_delivered);
  w.real("complaint_points", m.complaint_points);
  w.real("invalid_recipient_ratio", m.invalid_recipient_ratio);
  w.number("invalid_recipient_min_volume", m.invalid_recipient_min_volume);
  w.real("invalid_recipient_points", m.invalid_recipient_points);
  w.number("first_seen_recent_days", static_cast<std::uint64_t>(m.first_seen_recent_days));
  for (const auto& check : c.checks) {
    w.section("[checks." + std::string(check.name) + "]");
    w.real("weight", check.weight);
    static constexpr const char* kModes[] = {"enforce", "observe", "off"};
    w.string("mode", kModes[static_cast<int>(check.mode)]);
    w.duration("timeout", check.timeout);
    w.string("on_error",
             check.on_error == reputation::CheckSettings::OnError::Defer ? "defer" : "ignore");
    if (!check.points.empty()) {
      w.section("[checks." + std::string(check.name) + ".points]");
      for (const auto& p : check.points) w.real(reputation::signal_name(p.signal), p.points);
    }
  }
}

}  // namespace

std::string describe(const Config& config) {
  Writer w;
  w.section("# Effective configuration" +
            (config.source.empty() ? std::string() : " of " + config.source.string()));
  write_server(w, config.server);
  write_tls_http_relay(w, config);
  for (const Route& route : config.routes) {
    w.section("[[route]]");
    w.list("domains", route.domains);
    w.list("downstream", route.downstream);
    w.boolean("require_tls", route.require_tls);
  }
  w.section("[storage]");
  w.string("path", config.storage.path);
  w.section("[dns]");
  w.list("servers", config.dns.servers);
  w.duration("timeout", config.dns.timeout);
  w.number("tries", config.dns.tries);
  w.number("cache_entries", config.dns.cache_entries);
  w.duration("max_ttl", config.dns.max_ttl);
  w.duration("max_negative_ttl", config.dns.max_negative_ttl);
  for (const auto& d : config.dnsbls) {
    static constexpr const char* kTypes[] = {"ip", "helo", "sender_domain"};
    static constexpr const char* kActions[] = {"score", "reject", "defer"};
    w.section("[[dnsbl]]");
    w.string("zone", d.zone);
    w.string("type", kTypes[static_cast<int>(d.type)]);
    w.list("returns", d.returns);
    w.real("weight", d.weight);
    w.string("action", kActions[static_cast<int>(d.action)]);
    w.boolean("probe", d.probe);
  }
  const auto& p = config.pregreet;
  w.section("[pregreet]");
  w.boolean("enabled", p.enabled);
  w.duration("greet_pause", p.greet_pause);
  w.duration("greet_pause_under_load", p.greet_pause_under_load);
  w.real("load_factor", p.load_factor);
  w.duration("pass_ttl", p.pass_ttl);
  const auto& a = config.auth;
  w.section("[auth]");
  w.boolean("enabled", a.enabled);
  w.string("authserv_id", a.authserv_id);
  w.number("max_signatures", a.max_signatures);
  w.string("max_header_size", format_size(a.max_header_size));
  w.boolean("dmarc_reject", a.dmarc_reject);
  w.boolean("dmarc_quarantine", a.dmarc_quarantine);
  w.string("dmarc_policy_lookup",
           a.dmarc_policy_lookup == AuthConfig::PolicyLookup::TreeWalk ? "tree_walk" : "psl");
  w.number("key_cache_entries", a.key_cache_entries);
  const auto& t = config.throttle;
  w.section("[throttle]");
  w.boolean("enabled", t.enabled);
  w.number("max_keys", t.max_keys);
  w.duration("persist_interval", t.persist_interval);
  w.number("max_sessions_per_network", t.max_sessions_per_network);
  w.number("ramp_days", t.ramp_days);
  w.number("ramp_floor", t.ramp_floor);
  w.real("ramp_factor", t.ramp_factor);
  w.real("anomaly_factor", t.anomaly_factor);
  w.number("anomaly_min_per_hour", t.anomaly_min_per_hour);
  w.duration("anomaly_half_life", t.anomaly_half_life);
  w.real("hygiene_ratio", t.hygiene_ratio);
  w.number("hygiene_min_recipients", t.hygiene_min_recipients);
  w.number("hygiene_days", t.hygiene_days);
  w.number("tarpit_after", t.tarpit_after);
  w.duration("tarpit_delay", t.tarpit_delay);
  w.duration("tarpit_max", t.tarpit_max);
  w.number("dictionary_limit", t.dictionary_limit);
  for (const auto& l : t.limits) {
    static constexpr const char* kKeys[] = {"ip", "network", "sender_domain", "auth_domain",
                                            "ip_sender_domain"};
    static constexpr const char* kCounts[] = {"connections", "messages", "recipients"};
    w.section("[[limit]]");
    w.string("name", l.name);
    w.string("key", kKeys[static_cast<int>(l.key)]);
    w.string("count", kCounts[static_cast<int>(l.count)]);
    w.number("rate", l.rate);
    w.duration("period", l.period);
    w.number("burst", l.burst);
  }
  write_reputation(w, config);
  w.section("[log]");
  w.string("level", config.log.level);
  return w.take();
}

}  // namespace mxgate::conf
