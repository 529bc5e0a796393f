// describe(): the effective configuration as TOML, one `key = value` line per field, in the
// order of conf/mxgate.toml. The output loads again with load_config() to the same Config.
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
  w.section("[relay]");
  w.string("helo_name", c.relay.helo_name);
  w.duration("connect_timeout", c.relay.connect_timeout);
  w.duration("command_timeout", c.relay.command_timeout);
  w.duration("data_timeout", c.relay.data_timeout);
  w.number("pool_size", c.relay.pool_size);
  w.duration("pool_idle_timeout", c.relay.pool_idle_timeout);
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
  w.section("[reputation]");
  w.string("postmaster_url", config.reputation.postmaster_url);
  w.section("[log]");
  w.string("level", config.log.level);
  return w.take();
}

}  // namespace mxgate::conf
