// The loader's side of the schema: reads every section through its field table (fields.hpp),
// runs the checks of single values the tables name, then the checks that involve several keys
// or entries, and builds the arrays of tables ([[route]], [[dnsbl]], [[limit]], [checks.*]).
// Runs on the control thread at start-up and on reload; every problem throws ConfigError with
// the file, the line and the dotted key (TableReader).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <concepts>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/cidr.hpp"
#include "common/socket_endpoint.hpp"
#include "common/text.hpp"
#include "conf/fields.hpp"
#include "conf/toml_reader.hpp"
#include "reputation/checks.hpp"
#include "reputation/dnsbl.hpp"

namespace mxgate::conf::detail {
namespace {

constexpr std::size_t kMaxPrefixes = 4;  // storage::kMaxNetworkPrefixes
constexpr std::size_t kMaxLimitName = 64;
// The top level's keys, as read_config() reads them.
constexpr std::array<std::string_view, 25> kSections{
    "server",   "tls",     "http",     "portal", "admin",      "feedback", "relay",
    "queue",    "outbound", "dmarc_reports", "route",   "storage", "dns",       "dnsbl",    "milter",
    "pregreet", "auth",    "content", "throttle", "limit",     "reputation", "fleet",
    "checks",   "log",     "greylist"};
// [[milter]] stages, in the order a session meets them.
constexpr std::array<std::string_view, 7> kMilterStages{"connect", "helo",   "mail", "rcpt",
                                                        "data",    "header", "body"};
constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

// The table's keys, then no other key.
template <class S>
void read_table(TableReader r, S& section) {
  r.expect(section);
  fields(r, section);
  r.finish();
}

// The arrays of tables: [[name]] sections, each read by read_one(reader, index).
template <class ReadOne>
void read_array(TableReader& root, std::string_view name, ReadOne read_one) {
  const toml::node* node = root.find(name);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
    root.fail(node, name,
              fmt::format("expected tables written as [[{}]] sections, got {}", name,
                          describe_node(*node)));
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string prefix = root.prefix().empty() ? std::string(name)
                                                     : root.prefix() + "." + std::string(name);
    TableReader r(array->get(i)->as_table(), fmt::format("{}[{}]", prefix, i), root.file());
    read_one(r);
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

// Two keys of a table that go together: one set without the other is an error at the one set.
void set_together(TableReader& r, std::string_view a, const std::string& a_value,
                  std::string_view b, const std::string& b_value, std::string_view without_both) {
  if (a_value.empty() == b_value.empty()) return;
  const std::string_view present = a_value.empty() ? b : a;
  const std::string_view missing = a_value.empty() ? a : b;
  r.fail(r.find(present), missing,
         fmt::format("is missing: {0}.{1} is set, so set {0}.{2} too (or remove both {3})",
                     r.prefix(), present, missing, without_both));
}

void read_server(TableReader r, ServerConfig& s) {
  r.expect(s);
  fields(r, s);
  if (s.max_sessions_per_ip > s.max_sessions) {
    const toml::node* node = r.find("max_sessions_per_ip");
    r.fail(node != nullptr ? node : r.find("max_sessions"), "max_sessions_per_ip",
           "must not exceed server.max_sessions (" + std::to_string(s.max_sessions) + "), got " +
               std::to_string(s.max_sessions_per_ip) + "; lower it or raise server.max_sessions");
  }
  r.finish();
}

void read_tls(TableReader r, TlsConfig& t) {
  std::set<std::string> named;
  read_array(r, "certificates", [&](TableReader& entry) {
    TlsCertificate& c = t.certificates.emplace_back();
    entry.expect(c);
    fields(entry, c);
    check_readable_file(entry, "certificate", c.certificate);
    check_readable_file(entry, "private_key", c.private_key);
    for (const auto& name : c.server_names) {
      if (!named.insert(name).second) {
        entry.fail(entry.find("server_names"), "server_names",
                   quote(name) + " is already the name of another certificate");
      }
    }
    entry.finish();
  });
  read_table(r, t);
  set_together(r, "certificate", t.certificate, "private_key", t.private_key,
               "to run without STARTTLS");
  check_readable_file(r, "certificate", t.certificate);
  check_readable_file(r, "private_key", t.private_key);
  if (t.require && !t.enabled()) {
    r.fail(r.find("require"), "require",
           "needs tls.certificate and tls.private_key (or [[tls.certificates]]); set them, or "
           "set require = false");
  }
}

void read_dmarc_reports(TableReader r, DmarcReportsConfig& d) {
  read_table(r, d);
  set_together(r, "dkim_key", d.dkim_key, "dkim_selector", d.dkim_selector,
               "to send the reports unsigned");
  if (!d.dkim_domain.empty() && d.dkim_key.empty()) {
    r.fail(r.find("dkim_domain"), "dkim_domain",
           "signs nothing without dmarc_reports.dkim_key and dkim_selector; set them or remove it");
  }
  check_readable_file(r, "dkim_key", d.dkim_key);
}

void read_relay(TableReader r, RelayConfig& relay) {
  r.expect(relay);
  fields(r, relay);
  if (relay.breaker_max_cooldown < relay.breaker_cooldown) {
    r.fail(r.find("breaker_max_cooldown"), "breaker_max_cooldown",
           "must be at least breaker_cooldown");
  }
  if (relay.recipient_verification == RelayConfig::Verification::List &&
      relay.recipient_list.empty()) {
    r.fail(r.find("recipient_verification"), "recipient_verification",
           "is \"list\" but relay.recipient_list names no file; set it, e.g. "
           "recipient_list = \"/etc/mxgate/recipients\"");
  }
  r.finish();
}

void read_routes(TableReader& root, std::vector<Route>& routes) {
  constexpr std::string_view kRequired =
      "at least one [[route]] is required (a gateway with no routes relays nothing); add "
      "[[route]] with domains = [\"example.com\"] and downstream = [\"host:port\"]";
  const toml::node* node = root.find("route");
  if (node == nullptr) root.fail(nullptr, "route", std::string(kRequired));
  const toml::array* array = node->as_array();
  if (array != nullptr && array->empty()) root.fail(node, "route", std::string(kRequired));
  // A domain routed twice is an error rather than a silent first match.
  std::map<std::string, std::string> owners;
  read_array(root, "route", [&](TableReader& r) {
    Route& route = routes.emplace_back();
    r.expect(route);
    fields(r, route);
    for (std::size_t i = 0; i < route.domains.size(); ++i) {
      auto [owner, inserted] = owners.emplace(route.domains[i], r.prefix());
      if (!inserted) {
        r.fail(r.find("domains")->as_array()->get(i), "domains",
               quote(route.domains[i]) + " is already routed by " + owner->second +
                   "; list each domain in one route only");
      }
    }
    check_readable_file(r, "tls_ca_file", route.tls_ca_file);
    if ((!route.tls_ca_file.empty() || !route.tls_fingerprints.empty()) &&
        route.tls != Route::Tls::Verify) {
      const std::string_view key = route.tls_ca_file.empty() ? "tls_fingerprints" : "tls_ca_file";
      r.fail(r.find(key), key, "applies only with tls = \"verify\"");
    }
    r.finish();
  });
}

void read_dnsbls(TableReader& root, std::vector<DnsblConfig>& dnsbls) {
  std::map<std::string, std::string> zones;  // zone/type -> the entry that lists it
  read_array(root, "dnsbl", [&](TableReader& r) {
    DnsblConfig& d = dnsbls.emplace_back();
    r.expect(d);
    fields(r, d);
    const auto type = std::to_string(static_cast<int>(d.type));
    auto [owner, inserted] = zones.emplace(d.zone + "/" + type, r.prefix());
    if (!inserted) {
      r.fail(r.find("zone"), "zone", quote(d.zone) + " is already listed by " + owner->second);
    }
    r.finish();
  });
}

void read_milters(TableReader& root, std::vector<MilterConfig>& milters) {
  std::map<std::string, std::string> names;  // name -> the entry that has it
  read_array(root, "milter", [&](TableReader& r) {
    MilterConfig& m = milters.emplace_back();
    r.expect(m);
    fields(r, m);
    auto [owner, inserted] = names.emplace(m.name, r.prefix());
    if (!inserted) {
      r.fail(r.find("name"), "name", quote(m.name) + " is already the name of " + owner->second);
    }
    r.finish();
  });
}

void read_pregreet(TableReader r, PregreetConfig& p) {
  read_table(r, p);
  if (p.greet_pause_under_load > p.greet_pause) {
    r.fail(r.find("greet_pause_under_load"), "greet_pause_under_load",
           "must not exceed pregreet.greet_pause (" + format_duration(p.greet_pause) +
               "): under load the pause gets shorter, not longer");
  }
}

void read_content(TableReader r, ContentConfig& c) {
  read_table(r, c);
  if (c.memory_per_session > c.memory_budget) {
    r.fail(r.find("memory_per_session"), "memory_per_session",
           "must not exceed content.memory_budget: the budget is what all sessions share");
  }
}

// [greylist]: read after [reputation], whose thresholds make the doubtful band.
void read_greylist(TableReader r, Config& c) {
  auto& g = c.greylist;
  read_table(r, g);
  if (g.max_delay <= g.min_delay) {
    r.fail(r.find("max_delay"), "max_delay",
           "must exceed greylist.min_delay (" + format_duration(g.min_delay) +
               "): no retry could pass");
  }
  if (g.enabled && g.mode == GreylistConfig::Mode::Doubtful &&
      c.reputation.thresholds.defer_at <= 0) {
    r.fail(r.find("mode"), "mode",
           "\"doubtful\" needs reputation.defer_at above 0: with deferral off there is no "
           "doubtful band; use \"all\" or set defer_at");
  }
}

void read_limit(TableReader& r, LimitConfig& l, std::set<std::string>& names) {
  r.expect(l);
  fields(r, l);
  if (!names.insert(l.name).second) {
    r.fail(r.find("name"), "name", quote(l.name) + " is used twice");
  }
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
}

void read_throttle(TableReader& root, ThrottleConfig& t) {
  TableReader r = root.table("throttle");
  read_table(r, t);
  if (t.tarpit_max < t.tarpit_delay) {
    r.fail(r.find("tarpit_max"), "tarpit_max",
           "must not be below throttle.tarpit_delay (" + format_duration(t.tarpit_delay) + ")");
  }
  if (root.find("limit") == nullptr) return;  // the defaults
  t.limits.clear();                           // [[limit]] sections replace the defaults
  std::set<std::string> names;
  read_array(root, "limit",
             [&](TableReader& entry) { read_limit(entry, t.limits.emplace_back(), names); });
}

void read_reputation(TableReader r, ReputationConfig& reputation) {
  r.expect(reputation);
  fields(r, reputation);
  const auto& t = reputation.thresholds;
  if (t.defer_at > 0 && t.reject_at > 0 && t.defer_at > t.reject_at) {
    r.fail(r.find("defer_at"), "defer_at",
           fmt::format("({:g}) must not exceed reputation.reject_at ({:g}): a score that rejects "
                       "would never defer first; lower defer_at or raise reject_at",
                       t.defer_at, t.reject_at));
  }
  r.finish();
}

// [checks.<name>]: known checks only.
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
    read_table(r.table(name), *it);
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
  if (c.fleet.node_name.empty()) c.fleet.node_name = c.server.hostname;
  if (c.dmarc_reports.org_name.empty()) c.dmarc_reports.org_name = c.server.hostname;
  if (c.dmarc_reports.from.empty()) c.dmarc_reports.from = "noreply-dmarc@" + c.server.hostname;
  if (c.dmarc_reports.dkim_domain.empty() && !c.dmarc_reports.dkim_key.empty()) {
    c.dmarc_reports.dkim_domain = c.dmarc_reports.from.substr(c.dmarc_reports.from.rfind('@') + 1);
  }
}

// Where each path key was set (Config::origins).
Origins path_origins(const toml::table& root, const std::string& file) {
  Origins origins;
  for (std::string_view key : kPathKeys) {
    if (const toml::node* node = root.at_path(key).node()) {
      auto [where, line] = location(node, file);
      origins.keys.emplace_back(std::string(key), Origin{where, line});
    }
  }
  return origins;
}

}  // namespace

// The checks of single values that the tables name.

void host_name(TableReader& r, std::string_view key, std::string& name) {
  if (name.empty()) return;
  if (auto problem = domain_problem(name)) {
    r.fail(r.find(key), key, quote(name) + " is not a valid host name: it " + *problem);
  }
}

// Certificate SHA-256 fingerprints as `openssl x509 -fingerprint -sha256` writes them
// ("sha256 Fingerprint=AB:CD:..." or "AB:CD:..."), or 64 hex digits; kept as lowercase hex.
void fingerprints(TableReader& r, std::string_view key, std::vector<std::string>& digests) {
  for (auto& digest : digests) {
    std::string_view text = digest;
    if (const auto equals = text.rfind('='); equals != std::string_view::npos) {
      text.remove_prefix(equals + 1);
    }
    std::string hex;
    for (char c : text) {
      if (c == ':') continue;
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      r.fail(r.find(key), key,
             quote(digest) + " is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
    }
    digest = std::move(hex);
  }
}

// SNI names: host names, or "*.example.com" for one label under it (RFC 6125 §6.4.3); kept
// in lower case.
void server_names(TableReader& r, std::string_view key, std::vector<std::string>& names) {
  for (auto& name : names) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string_view host = name.starts_with("*.") ? std::string_view(name).substr(2) : name;
    if (auto problem = domain_problem(host)) {
      r.fail(r.find(key), key,
             quote(name) + " is not a host name (or *.domain): it " + *problem);
    }
  }
}

void one_line(TableReader& r, std::string_view key, std::string& text) {
  const bool control = std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
  if (control) r.fail(r.find(key), key, "must be one line of printable text");
}

void mail_address(TableReader& r, std::string_view key, std::string& address) {
  const auto at = address.find('@');
  if (!address.empty() && (at == std::string::npos || at == 0 || at + 1 == address.size() ||
                           address.find_first_of(" <>\"") != std::string::npos)) {
    r.fail(r.find(key), key, "must be a mail address like fbl@mx.example.net, or \"\" for none");
  }
}

void file_path(TableReader& r, std::string_view key, std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return;
  // Relative to the configuration file's directory, whether it came from the file or from -o:
  // the working directory of whoever runs mxgate must not move the store.
  const std::filesystem::path parent = std::filesystem::path(r.file()).parent_path();
  std::error_code ec;
  std::filesystem::path base =
      parent.empty() ? std::filesystem::current_path(ec) : std::filesystem::absolute(parent, ec);
  if (ec) r.fail(r.find(key), key, "cannot resolve " + quote(path) + ": " + ec.message());
  path = (base / path).lexically_normal().string();
}

void directory(TableReader& r, std::string_view key, std::string& path) {
  if (path.empty()) r.fail(r.find(key), key, "must name a directory, e.g. \"/var/lib/mxgate\"");
  file_path(r, key, path);
}

void log_level(TableReader& r, std::string_view key, std::string& level) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), level) == kLogLevels.end()) {
    r.fail(r.find(key), key,
           "expected one of trace, debug, info, warn, error, critical, off; got " + quote(level));
  }
}

void http_url(TableReader& r, std::string_view key, std::string& url) {
  bool scheme = url.starts_with("http://") || url.starts_with("https://");
  bool clean = std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
  });
  if (!scheme || !clean || url.ends_with("//")) {
    r.fail(r.find(key), key,
           "expected an http:// or https:// URL without spaces, such as "
           "\"https://postmaster.example.net/postmaster/\", got " +
               quote(url));
  }
}

void header_name(TableReader& r, std::string_view key, std::string& name) {
  // RFC 5322 §3.6.8: ftext is printable US-ASCII except ":".
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c > 32 && c < 127 && c != ':';
  });
  if (!valid) {
    r.fail(r.find(key), key,
           "expected a header field name such as \"X-Mxgate-Quarantine\" (printable ASCII, no "
           "colon or space), got " +
               quote(name));
  }
}

void dns_zone(TableReader& r, std::string_view key, std::string& zone) {
  zone = common::ascii_lower(zone);
  if (!zone.empty() && zone.back() == '.') zone.pop_back();
  if (auto problem = domain_problem(zone)) {
    r.fail(r.find(key), key, quote(zone) + " is not a DNS zone: it " + *problem);
  }
}

void limit_name(TableReader& r, std::string_view key, std::string& name) {
  const bool valid = !name.empty() && name.size() <= kMaxLimitName &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                     });
  if (!valid) {
    r.fail(r.find(key), key,
           quote(name) + " must be 1 to " + std::to_string(kMaxLimitName) +
               " letters, digits, '-' or '_'");
  }
}

void milter_address(TableReader& r, std::string_view key, std::string& address) {
  std::string why;
  const auto endpoint = common::parse_socket_endpoint(address, why);
  if (!endpoint) r.fail(r.find(key), key, quote(address) + ": " + why);
  address = endpoint->text();
}

// "host:port" (an IP address) or "unix:/path", written back as "127.0.0.1:6379", "[::1]:6379"
// or "unix:/path".
void redis_address(TableReader& r, std::string_view key, std::string& address) {
  const bool unix_path = address.starts_with("unix:");
  std::string why;
  const auto endpoint =
      common::parse_socket_endpoint(unix_path ? address : "inet:" + address, why);
  if (!endpoint) {
    r.fail(r.find(key), key,
           quote(address) + ": expected \"host:port\" with an IP address, or \"unix:/path\"");
  }
  if (unix_path) {
    address = endpoint->text();
  } else {
    address = HostPort{endpoint->host, endpoint->port}.text();
  }
}

// A name that goes into Redis keys and the status: letters, digits, '.', '-' and '_'.
void node_name(TableReader& r, std::string_view key, std::string& name) {
  const bool fine = name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                             c == '_';
                    });
  if (!fine) {
    r.fail(r.find(key), key,
           quote(name) + ": use letters, digits, '.', '-' and '_' (at most 255)");
  }
}

// In the order a session meets them, each once.
void milter_stages(TableReader& r, std::string_view key, std::vector<std::string>& stages) {
  std::vector<std::string> ordered;
  for (const auto stage : kMilterStages) {
    if (std::find(stages.begin(), stages.end(), stage) != stages.end()) {
      ordered.emplace_back(stage);
    }
  }
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (std::find(kMilterStages.begin(), kMilterStages.end(), stages[i]) == kMilterStages.end()) {
      r.fail(r.find(key)->as_array()->get(i), key,
             quote(stages[i]) +
                 " is not a stage; expected some of \"connect\", \"helo\", "
                 "\"mail\", \"rcpt\", \"data\", \"header\", \"body\" (the "
                 "end of the message is always sent)");
    }
  }
  stages = std::move(ordered);
}

// Sendmail's macro names: one character ("j", "_", "i") or a braced word ("{client_addr}").
void macro_names(TableReader& r, std::string_view key, std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const bool one = name.size() == 1 && std::isgraph(static_cast<unsigned char>(name[0])) &&
                     name != "{" && name != "}";
    const bool braced = name.size() > 2 && name.front() == '{' && name.back() == '}' &&
                        std::all_of(name.begin() + 1, name.end() - 1, [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                        });
    if (!one && !braced) {
      r.fail(r.find(key)->as_array()->get(i), key,
             quote(name) +
                 " is not a macro name; write one character (\"j\") or a braced "
                 "name (\"{client_addr}\")");
    }
  }
}

void networks(TableReader& r, std::string_view key, std::vector<std::string>& cidrs) {
  for (const auto& network : cidrs) {
    if (!common::parse_cidr(network)) {
      r.fail(r.find(key), key,
             quote(network) + " is not a network; write it as \"192.0.2.0/24\" or \"::1/128\"");
    }
  }
}

void return_filters(TableReader& r, std::string_view key, std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    std::string error;
    if (!reputation::ReturnFilter::parse(pattern, &error)) r.fail(r.find(key), key, error);
  }
}

// Stored in lower case; ".example.com" stands for the subdomains.
void route_domains(TableReader& r, std::string_view key, std::vector<std::string>& domains) {
  const toml::node* node = r.find(key);
  if (domains.empty()) r.fail(node, key, "must list at least one domain");
  for (std::size_t i = 0; i < domains.size(); ++i) {
    std::string domain = common::ascii_lower(domains[i]);
    std::string_view bare = domain.starts_with('.') ? std::string_view(domain).substr(1) : domain;
    if (auto problem = domain_problem(bare)) {
      r.fail(node->as_array()->get(i), key,
             quote(domains[i]) + " is not a valid domain: it " + *problem +
                 " (write \"example.com\" for the domain, \".example.com\" for its subdomains)");
    }
    domains[i] = std::move(domain);
  }
}

// Domain names (an empty list is fine), kept in lower case without a trailing dot.
void domain_names(TableReader& r, std::string_view key, std::vector<std::string>& domains) {
  const toml::node* node = r.find(key);
  for (std::size_t i = 0; i < domains.size(); ++i) {
    std::string domain = common::ascii_lower(domains[i]);
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (auto problem = domain_problem(domain)) {
      r.fail(node->as_array()->get(i), key,
             quote(domains[i]) + " is not a valid domain: it " + *problem);
    }
    domains[i] = std::move(domain);
  }
}

void some_listener(TableReader& r, std::string_view key, std::vector<HostPort>& listen) {
  if (listen.empty()) {
    r.fail(r.find(key), key, "needs at least one address such as \"0.0.0.0:25\"");
  }
}

void some_downstream(TableReader& r, std::string_view key, std::vector<HostPort>& servers) {
  if (servers.empty()) r.fail(r.find(key), key, "must list at least one \"host:port\"");
}

// Kept ascending (most specific last).
void prefix_lengths(TableReader& r, std::string_view key, std::vector<int>& lengths) {
  std::sort(lengths.begin(), lengths.end());
  if (std::adjacent_find(lengths.begin(), lengths.end()) != lengths.end() ||
      lengths.size() > kMaxPrefixes) {
    r.fail(r.find(key), key,
           "expected at most " + std::to_string(kMaxPrefixes) + " distinct prefix lengths");
  }
}

Config read_config(const toml::table& root, const std::string& file) {
  Config c;
  TableReader r(&root, "", file);
  // Unknown sections first: `[[routes]]` is the mistake, not the missing [[route]].
  for (std::string_view section : kSections) r.find(section);
  r.finish();
  read_server(r.table("server"), c.server);
  read_tls(r.table("tls"), c.tls);
  read_table(r.table("http"), c.http);
  read_table(r.table("portal"), c.portal);
  read_table(r.table("admin"), c.admin);
  read_table(r.table("feedback"), c.feedback);
  read_relay(r.table("relay"), c.relay);
  read_table(r.table("queue"), c.queue);
  read_table(r.table("outbound"), c.outbound);
  read_dmarc_reports(r.table("dmarc_reports"), c.dmarc_reports);
  read_routes(r, c.routes);
  read_table(r.table("storage"), c.storage);
  read_table(r.table("dns"), c.dns);
  read_dnsbls(r, c.dnsbls);
  read_milters(r, c.milters);
  read_pregreet(r.table("pregreet"), c.pregreet);
  read_table(r.table("auth"), c.auth);
  read_content(r.table("content"), c.content);
  read_throttle(r, c.throttle);
  read_reputation(r.table("reputation"), c.reputation);
  read_table(r.table("fleet"), c.fleet);
  read_checks(r.table("checks"), c.checks);
  read_table(r.table("log"), c.log);
  read_greylist(r.table("greylist"), c);
  r.finish();
  fill_host_names(r, c);
  c.source = file;
  c.origins = path_origins(root, file);
  return c;
}

}  // namespace mxgate::conf::detail
