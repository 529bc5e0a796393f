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
#include <vector>

namespace mxgate::conf {

using Duration = std::chrono::milliseconds;

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (no brackets), "0.0.0.0", "::", or a name
  std::uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:25", "[::1]:25"
};

enum class LineEndings { Reject, Normalize };

struct ServerConfig {
  std::vector<HostPort> listen{{"127.0.0.1", 2525}};
  std::string hostname;               // default: the machine's host name
  std::string banner = "ESMTP mxgate";
  unsigned workers = 0;               // 0: one per core
  std::uint32_t max_sessions = 10000;
  std::uint32_t max_sessions_per_ip = 50;
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_errors = 20;
  LineEndings line_endings = LineEndings::Reject;
  Duration command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7
  Duration data_timeout = std::chrono::minutes(3);     // RFC 5321 §4.5.3.2.5
  Duration drain_timeout = std::chrono::seconds(30);
};

struct TlsConfig {
  std::string certificate;  // PEM chain; STARTTLS is offered only when set
  std::string private_key;
  bool require = false;     // MAIL before STARTTLS gets 530 5.7.0
  Duration handshake_timeout = std::chrono::seconds(30);
};

struct HttpConfig {
  HostPort listen{"127.0.0.1", 8025};  // port 0 disables the listener
};

struct RelayConfig {
  std::string helo_name;  // default: server.hostname
  Duration connect_timeout = std::chrono::seconds(10);
  Duration command_timeout = std::chrono::minutes(2);
  Duration data_timeout = std::chrono::minutes(5);
  std::uint32_t pool_size = 16;  // idle connections kept per worker and downstream
  Duration pool_idle_timeout = std::chrono::seconds(30);
};

struct Route {
  std::vector<std::string> domains;     // "example.com" exact, ".example.com" subdomains
  std::vector<HostPort> downstream;     // tried in order
  bool require_tls = false;             // refuse to relay unless the downstream does STARTTLS
};

struct StorageConfig {
  std::string path = "/var/lib/mxgate";
};

struct DnsConfig {
  std::vector<HostPort> servers;  // empty: /etc/resolv.conf
};

struct ReputationConfig {
  std::string postmaster_url = "https://postmaster.example.net/postmaster/";
};

struct LogConfig {
  std::string level = "info";
};

struct Config {
  ServerConfig server;
  TlsConfig tls;
  HttpConfig http;
  RelayConfig relay;
  std::vector<Route> routes;
  StorageConfig storage;
  DnsConfig dns;
  ReputationConfig reputation;
  LogConfig log;
  std::filesystem::path source;  // the file it was loaded from
};

// A configuration that cannot be used. what() reads "FILE:LINE: KEY: problem" (LINE is 0 when
// the problem has no line, e.g. an unreadable file or a missing required key).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::uint32_t line, std::string key, const std::string& problem);
  const std::string& file() const { return file_; }
  std::uint32_t line() const { return line_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  std::uint32_t line_;
  std::string key_;
};

// Loads and validates `path`, then applies `overrides` ("dotted.key=value", value in TOML
// syntax, or a bare string) in order. Throws ConfigError.
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});

// Parses "host:port", "[v6]:port". Throws std::invalid_argument with a readable message.
HostPort parse_host_port(std::string_view text);

}  // namespace mxgate::conf
