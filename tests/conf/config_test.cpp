// load_config(): the shipped file, error reporting (file, line, key), overrides, describe().
#include "conf/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/conf/temp_dir.hpp"

namespace mxgate::conf {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kRoute =
    "[[route]]\ndomains = [\"example.com\"]\ndownstream = [\"127.0.0.1:2526\"]\n";

std::string error_of(const std::string& file, const std::vector<std::string>& overrides = {}) {
  try {
    load_config(file, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string machine_host_name() {
  std::array<char, HOST_NAME_MAX + 1> name{};
  gethostname(name.data(), name.size() - 1);
  return name.data();
}

// The defaults of config.hpp with the fields load_config() always fills in.
Config defaults_as_loaded(const std::string& file) {
  Config c;
  c.server.hostname = machine_host_name();
  c.relay.helo_name = c.server.hostname;
  c.auth.authserv_id = c.server.hostname;
  c.queue.path = (std::filesystem::path(c.storage.path) / "queue").string();
  c.fleet.node_name = c.server.hostname;
  c.dmarc_reports.org_name = c.server.hostname;
  c.dmarc_reports.from = "noreply-dmarc@" + c.server.hostname;
  c.routes = {Route{{"example.com"}, {{"127.0.0.1", 2526}}, false}};
  c.source = file;
  return c;
}

TEST(ShippedConfig, LoadsAndKeepsTheDefaultsExceptStorageAndRoute) {
  const std::string file = MXGATE_SOURCE_DIR "/conf/mxgate.toml";
  Config loaded = load_config(file);
  Config expected = defaults_as_loaded(file);
  expected.routes = {Route{{"example.com", ".example.com"}, {{"127.0.0.1", 2526}}, false}};
  // "../var/mxgate", relative to conf/: the repository's var/, wherever mxgate runs from.
  expected.storage.path = std::filesystem::path(MXGATE_SOURCE_DIR "/var/mxgate").lexically_normal();
  expected.queue.path = expected.storage.path + "/queue";
  EXPECT_EQ(loaded.server, expected.server);
  EXPECT_EQ(loaded.tls, expected.tls);
  EXPECT_EQ(loaded.http, expected.http);
  EXPECT_EQ(loaded.relay, expected.relay);
  EXPECT_EQ(loaded.routes, expected.routes);
  EXPECT_EQ(loaded.storage, expected.storage);
  EXPECT_EQ(loaded.dns, expected.dns);
  EXPECT_EQ(loaded.reputation, expected.reputation);
  EXPECT_EQ(loaded.auth, expected.auth);
  EXPECT_EQ(loaded.checks, expected.checks);
  EXPECT_EQ(loaded.fleet, expected.fleet);
  EXPECT_EQ(loaded.log, expected.log);
  EXPECT_EQ(loaded, expected);
  EXPECT_EQ(loaded.server.listen, (std::vector<HostPort>{{"127.0.0.1", 2525}}));
  EXPECT_EQ(loaded.http.listen.text(), "127.0.0.1:8025");
}

TEST(LoadConfig, AFileWithOnlyARouteTakesEveryDefault) {
  TestDir dir;
  std::string file = dir.write("mxgate.toml", kRoute);
  EXPECT_EQ(load_config(file), defaults_as_loaded(file));
}

TEST(LoadConfig, ListenPortZeroPicksAFreePort) {
  TestDir dir;
  std::string file = dir.write(
      "mxgate.toml", std::string("[server]\nlisten = [\"127.0.0.1:0\"]\nproxy_listen = "
                                 "[\"[::1]:0\"]\n") + kRoute);
  const Config config = load_config(file);
  EXPECT_EQ(config.server.listen, (std::vector<HostPort>{{"127.0.0.1", 0}}));
  EXPECT_EQ(config.server.proxy_listen, (std::vector<HostPort>{{"::1", 0}}));
}

TEST(LoadConfig, ReadsTheFleet) {
  TestDir dir;
  const std::string file = dir.write("mxgate.toml", std::string(kRoute) + R"(
[fleet]
enabled = true
redis = "[::1]:6380"
sentinels = ["127.0.0.1:26379", "[::1]:26380"]
password_file = "redis.pass"
node_name = "mx-2.example.net"
flush_interval = "250ms"
)");
  const auto fleet = load_config(file).fleet;
  EXPECT_TRUE(fleet.enabled);
  EXPECT_EQ(fleet.redis, "[::1]:6380");
  ASSERT_EQ(fleet.sentinels.size(), 2u);
  EXPECT_EQ(fleet.sentinels[1].text(), "[::1]:26380");
  EXPECT_EQ(fleet.password_file, dir / "redis.pass");
  EXPECT_EQ(fleet.node_name, "mx-2.example.net");
  EXPECT_EQ(fleet.flush_interval, std::chrono::milliseconds(250));
  const std::string unix_file = dir.write("unix.toml", std::string(kRoute) +
                                                           "[fleet]\nredis = \"unix:/run/r.sock\"\n");
  EXPECT_EQ(load_config(unix_file).fleet.redis, "unix:/run/r.sock");
}

TEST(LoadConfig, ReadsEveryKind) {
  TestDir dir;
  std::string cert = dir.write("cert.pem", "certificate");
  std::string key = dir.write("key.pem", "key");
  std::string file = dir.write("mxgate.toml", R"(
[server]
listen = ["0.0.0.0:25", "[::]:25"]
hostname = "MX.example.net"
max_message_size = "10MB"
line_endings = "normalize"
command_timeout = 90
data_timeout = "250ms"
[tls]
certificate = ")" + cert + R"("
private_key = ")" + key + R"("
require = true
[http]
listen = "127.0.0.1:0"
[relay]
helo_name = "relay.example.net"
pool_size = 0
[[route]]
domains = ["Example.COM"]
downstream = ["10.0.0.5:25", "[2001:db8::5]:25"]
require_tls = true
[[route]]
domains = [".example.org"]
downstream = ["mail.example.org:2525"]
[dns]
servers = ["127.0.0.1", "[::1]", "10.0.0.53:5353"]
[outbound]
bounce_relay = ["smarthost.example.net:587"]
port = 2526
[log]
level = "debug"
)");
  Config c = load_config(file);
  EXPECT_EQ(c.server.listen, (std::vector<HostPort>{{"0.0.0.0", 25}, {"::", 25}}));
  EXPECT_EQ(c.server.hostname, "MX.example.net");
  EXPECT_EQ(c.server.max_message_size, 10'000'000u);
  EXPECT_EQ(c.server.line_endings, LineEndings::Normalize);
  EXPECT_EQ(c.server.command_timeout, 90s);
  EXPECT_EQ(c.server.data_timeout, 250ms);
  EXPECT_EQ(c.tls.certificate, cert);
  EXPECT_TRUE(c.tls.require);
  EXPECT_EQ(c.http.listen, (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(c.relay.helo_name, "relay.example.net");
  EXPECT_EQ(c.relay.pool_size, 0u);
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].domains, std::vector<std::string>{"example.com"});
  EXPECT_EQ(c.routes[0].downstream[1], (HostPort{"2001:db8::5", 25}));
  EXPECT_TRUE(c.routes[0].require_tls);
  EXPECT_EQ(c.routes[1].domains, std::vector<std::string>{".example.org"});
  EXPECT_EQ(c.dns.servers,
            (std::vector<HostPort>{{"127.0.0.1", 53}, {"::1", 53}, {"10.0.0.53", 5353}}));
  EXPECT_EQ(c.outbound.bounce_relay, (std::vector<HostPort>{{"smarthost.example.net", 587}}));
  EXPECT_EQ(c.outbound.port, 2526);
  EXPECT_EQ(c.log.level, "debug");
}

// Each case's TOML is followed by kRoute unless it is about routes; `where` is what follows
// the file name in what(): ":LINE: KEY: ", `hint` is part of the problem text.
struct ErrorCase {
  const char* name;
  std::string toml;
  std::string where;
  std::string hint;
  bool add_route = true;
};

const ErrorCase kErrorCases[] = {
    {"limit without a name", "[[limit]]\nrate = 5\n", ":1: limit[0].name: ", "is required"},
    {"limit name twice",
     "[[limit]]\nname = \"a\"\nrate = 1\n[[limit]]\nname = \"a\"\nrate = 2\n",
     ":5: limit[1].name: ", "\"a\" is used twice"},
    {"limit key", "[[limit]]\nname = \"a\"\nkey = \"asn\"\nrate = 1\n", ":3: limit[0].key: ",
     "ip_sender_domain"},
    {"limit rate", "[[limit]]\nname = \"a\"\nrate = 0\n", ":3: limit[0].rate: ",
     "must be between 1 and"},
    {"connections per domain",
     "[[limit]]\nname = \"a\"\nkey = \"sender_domain\"\ncount = \"connections\"\nrate = 1\n",
     ":4: limit[0].count: ", "needs key \"ip\" or \"network\""},
    {"auth domain recipients",
     "[[limit]]\nname = \"a\"\nkey = \"auth_domain\"\ncount = \"recipients\"\nrate = 1\n",
     ":4: limit[0].count: ", "counts \"messages\""},
    {"tarpit max below delay", "[throttle]\ntarpit_delay = \"5s\"\ntarpit_max = \"1s\"\n",
     ":3: throttle.tarpit_max: ", "must not be below throttle.tarpit_delay (5s)"},
    {"dmarc lookup", "[auth]\ndmarc_policy_lookup = \"walk\"\n",
     ":2: auth.dmarc_policy_lookup: ", "tree_walk"},
    {"arc sealer",
     "[auth]\ntrusted_arc_sealers = [\"lists.example.org\", \"lists@example.org\"]\n",
     ":2: auth.trusted_arc_sealers: ", "\"lists@example.org\" is not a valid domain"},
    {"unknown key", "[server]\nmax_recipent = 5\n", ":2: server.max_recipent: ",
     "unknown key; did you mean \"max_recipients\"? the keys of [server] are: listen, "},
    {"unknown table", "[servr]\nlisten = []\n", ":1: servr: ", "did you mean \"server\"?"},
    {"unknown top-level key", "\nverbose = true\n", ":2: verbose: ", "unknown key"},
    {"wrong type", "[server]\n\nmax_recipients = \"5\"\n",
     ":3: server.max_recipients: ", "expected an integer, got the string \"5\""},
    {"table expected", "tls = 5\n", ":1: tls: ", "expected a table [tls], got the integer 5"},
    {"below range", "[server]\nmax_recipients = 0\n",
     ":2: server.max_recipients: ", "must be between 1 and 100000, got 0"},
    {"above range", "[server]\nworkers = 257\n",
     ":2: server.workers: ", "must be between 0 and 256, got 257"},
    {"per-ip above total", "[server]\nmax_sessions = 10\nmax_sessions_per_ip = 11\n",
     ":3: server.max_sessions_per_ip: ", "must not exceed server.max_sessions (10)"},
    {"proxy network garbage", "[server]\nproxy_trusted = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n",
     ":2: server.proxy_trusted: ", "\"10.0.0.0/40\" is not a network"},
    {"proxy listen without port", "[server]\nproxy_listen = [\"127.0.0.1\"]\n",
     ":2: server.proxy_listen: ", "port"},
    {"per-ip default above total", "[server]\nmax_sessions = 10\n",
     ":2: server.max_sessions_per_ip: ", "must not exceed server.max_sessions (10), got 50"},
    {"duration words", "[server]\ncommand_timeout = \"5 minutes\"\n",
     ":2: server.command_timeout: ",
     "expected a duration such as \"30s\" or \"5m\", got \"5 minutes\""},
    {"duration zero", "[relay]\nconnect_timeout = \"0s\"\n",
     ":2: relay.connect_timeout: ", "must be greater than zero"},
    {"duration negative", "[tls]\nhandshake_timeout = -5\n",
     ":2: tls.handshake_timeout: ", "must be greater than zero"},
    {"duration float", "[server]\ndrain_timeout = 1.5\n",
     ":2: server.drain_timeout: ", "expected a duration such as \"30s\" or \"5m\", got a float"},
    {"size too small", "[server]\nmax_message_size = 100\n",
     ":2: server.max_message_size: ", "must be at least 1024 bytes"},
    {"size unit", "[server]\nmax_message_size = \"10 parsecs\"\n",
     ":2: server.max_message_size: ", "expected a size in bytes"},
    {"line endings", "[server]\nline_endings = \"crlf\"\n",
     ":2: server.line_endings: ", "expected \"reject\" or \"normalize\", got \"crlf\""},
    {"listen without port", "[server]\nlisten = [\n  \"127.0.0.1:25\",\n  \"127.0.0.1\",\n]\n",
     ":4: server.listen: ", "missing port"},
    {"listen port too large", "[server]\nlisten = [\"127.0.0.1:65536\"]\n",
     ":2: server.listen: ", "the port must be 0..65535 (0 picks a free port)"},
    {"route downstream port zero", "[[route]]\ndomains = [\"example.com\"]\ndownstream = [\"10.0.0.5:0\"]\n",
     ":3: route[0].downstream: ", "the port must be 1..65535"},
    {"listen empty", "[server]\nlisten = []\n", ":2: server.listen: ", "at least one address"},
    {"listen not strings", "[server]\nlisten = [25]\n",
     ":2: server.listen: ", "expected an array of strings"},
    {"http listen", "[http]\nlisten = \"localhost\"\n", ":2: http.listen: ", "missing port"},
    {"hostname", "[server]\nhostname = \"mx example\"\n",
     ":2: server.hostname: ", "is not a valid host name"},
    {"banner", "[server]\nbanner = \"a\\r\\nb\"\n", ":2: server.banner: ", "one line"},
    {"certificate without key", "[tls]\ncertificate = \"/etc/hosts\"\n",
     ":2: tls.private_key: ", "is missing: tls.certificate is set, so set tls.private_key too"},
    {"unreadable certificate",
     "[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"/etc/hosts\"\n",
     ":2: tls.certificate: ", "cannot read \"/nonexistent/cert.pem\" (No such file"},
    {"report key without selector", "[dmarc_reports]\ndkim_key = \"/etc/hosts\"\n",
     ":2: dmarc_reports.dkim_selector: ",
     "is missing: dmarc_reports.dkim_key is set, so set dmarc_reports.dkim_selector too"},
    {"report selector without key", "[dmarc_reports]\n\ndkim_selector = \"reports\"\n",
     ":3: dmarc_reports.dkim_key: ", "is missing: dmarc_reports.dkim_selector is set"},
    {"report domain without key", "[dmarc_reports]\ndkim_domain = \"mx.example.net\"\n",
     ":2: dmarc_reports.dkim_domain: ", "signs nothing without dmarc_reports.dkim_key"},
    {"report selector", "[dmarc_reports]\ndkim_key = \"/etc/hosts\"\ndkim_selector = \"a b\"\n",
     ":3: dmarc_reports.dkim_selector: ", "is not a valid host name"},
    {"unreadable report key",
     "[dmarc_reports]\ndkim_key = \"/nonexistent/dkim.pem\"\ndkim_selector = \"reports\"\n",
     ":2: dmarc_reports.dkim_key: ", "cannot read \"/nonexistent/dkim.pem\" (No such file"},
    {"require without certificate", "[tls]\nrequire = true\n",
     ":2: tls.require: ", "needs tls.certificate and tls.private_key"},
    {"require not a bool", "[tls]\nrequire = \"yes\"\n",
     ":2: tls.require: ", "expected true or false"},
    {"no route", "[server]\n", ": route: ", "at least one [[route]] is required", false},
    {"empty route array", "route = []\n", ":1: route: ", "at least one [[route]] is required",
     false},
    {"route not tables", "route = \"example.com\"\n", ":1: route: ", "[[route]] sections", false},
    {"route unknown key",
     kRoute + "[[route]]\ndomains = [\"b.example\"]\ndownstream = [\"10.0.0.1:25\"]\nfoo = 1\n",
     ":7: route[1].foo: ", "the keys of [[route]] are: domains, downstream, require_tls", false},
    {"route duplicate domain",
     kRoute + "[[route]]\ndomains = [\"b.example\", \"EXAMPLE.com\"]\ndownstream = [\"x:1\"]\n",
     ":5: route[1].domains: ", "\"example.com\" is already routed by route[0]", false},
    {"route invalid domain", "[[route]]\ndomains = [\"@example.com\"]\ndownstream = [\"x:1\"]\n",
     ":2: route[0].domains: ", "\"@example.com\" is not a valid domain", false},
    {"route without domains", "[[route]]\ndownstream = [\"x:1\"]\n",
     ":1: route[0].domains: ", "is required", false},
    {"route empty downstream", "[[route]]\ndomains = [\"a.example\"]\ndownstream = []\n",
     ":3: route[0].downstream: ", "at least one \"host:port\"", false},
    {"route downstream port", "[[route]]\ndomains = [\"a.example\"]\ndownstream = [\"x\"]\n",
     ":3: route[0].downstream: ", "missing port", false},
    {"dns server", "[dns]\nservers = [\"::1\", \"resolver\", \"1:2:3\"]\n",
     ":2: dns.servers: ", "an IPv6 address needs brackets"},
    {"postmaster url", "[reputation]\npostmaster_url = \"postmaster.example\"\n",
     ":2: reputation.postmaster_url: ", "expected an http:// or https:// URL"},
    {"threshold range", "[reputation]\nreject_at = -1\n", ":2: reputation.reject_at: ",
     "must be between 0 and 1000000, got the integer -1"},
    {"threshold type", "[reputation]\ndefer_at = \"5\"\n", ":2: reputation.defer_at: ",
     "expected a number, got the string \"5\""},
    {"defer above reject", "[reputation]\ndefer_at = 20\n", ":2: reputation.defer_at: ",
     "(20) must not exceed reputation.reject_at (10)"},
    {"v4 prefix range", "[reputation]\nnetwork_prefixes_v4 = [24, 33]\n",
     ":2: reputation.network_prefixes_v4: ", "must be between 8 and 32, got 33"},
    {"v6 prefix duplicate", "[reputation]\nnetwork_prefixes_v6 = [64, 64]\n",
     ":2: reputation.network_prefixes_v6: ", "at most 4 distinct prefix lengths"},
    {"quarantine header", "[reputation]\nquarantine_header = \"X Bad:\"\n",
     ":2: reputation.quarantine_header: ", "expected a header field name"},
    {"model ratio", "[reputation.model]\nreject_ratio = 1.5\n",
     ":2: reputation.model.reject_ratio: ", "must be between 0 and 1"},
    {"model unknown key", "[reputation.model]\npoor_scor = 1\n",
     ":2: reputation.model.poor_scor: ", "did you mean \"poor_score\"?"},
    {"unknown check", "[checks.spam_score]\nweight = 2\n", ":1: checks.spam_score: ",
     "is not a check mxgate has; the checks are: ip_history, sender_domain_history"},
    {"check mode", "[checks.ip_history]\nmode = \"log\"\n", ":2: checks.ip_history.mode: ",
     "expected one of \"enforce\", \"observe\", \"off\", got the string \"log\""},
    {"check on_error", "[checks.sender_domain_history]\non_error = \"accept\"\n",
     ":2: checks.sender_domain_history.on_error: ", "expected one of \"defer\", \"ignore\""},
    {"check timeout", "[checks.ip_history]\ntimeout = \"0s\"\n",
     ":2: checks.ip_history.timeout: ", "must be greater than zero"},
    {"points of a check without", "[checks.ip_history.points]\nfoo = 1\n",
     ":2: checks.ip_history.points.foo: ", "check ip_history has no points to set"},
    {"points of another signal", "[checks.rdns.points]\nhelo_invalid = 1\n",
     ":2: checks.rdns.points.helo_invalid: ",
     "the keys of [checks.rdns.points] are: rdns_missing, rdns_mismatch, rdns_generic"},
    {"dnsbl without zone", "[[dnsbl]]\nweight = 2\n", ":1: dnsbl[0].zone: ", "is required"},
    {"dnsbl bad zone", "[[dnsbl]]\nzone = \"bl example\"\n", ":2: dnsbl[0].zone: ",
     "is not a DNS zone"},
    {"dnsbl twice", "[[dnsbl]]\nzone = \"bl.example\"\n[[dnsbl]]\nzone = \"BL.example.\"\n",
     ":4: dnsbl[1].zone: ", "\"bl.example\" is already listed by dnsbl[0]"},
    {"dnsbl returns", "[[dnsbl]]\nzone = \"bl.example\"\nreturns = [\"127.0.0.[9..2]\"]\n",
     ":3: dnsbl[0].returns: ", "write it like \"127.0.0.2\""},
    {"dnsbl type", "[[dnsbl]]\nzone = \"bl.example\"\ntype = \"domain\"\n",
     ":3: dnsbl[0].type: ", "expected one of \"ip\", \"helo\", \"sender_domain\""},
    {"dnsbl not tables", "dnsbl = \"bl.example\"\n", ":1: dnsbl: ", "[[dnsbl]] sections"},
    {"milter without name", "[[milter]]\naddress = \"inet:127.0.0.1:1\"\n", ":1: milter[0].name: ",
     "is required"},
    {"milter without address", "[[milter]]\nname = \"rspamd\"\n", ":1: milter[0].address: ",
     "is required: where the filter listens"},
    {"milter host name", "[[milter]]\nname = \"r\"\naddress = \"inet:localhost:11332\"\n",
     ":3: milter[0].address: ", "the host must be an IP address, not \"localhost\""},
    {"milter scheme", "[[milter]]\nname = \"r\"\naddress = \"tcp:127.0.0.1:1\"\n",
     ":3: milter[0].address: ", "expected inet:HOST:PORT or unix:/PATH"},
    {"milter stage", "[[milter]]\nname = \"r\"\naddress = \"unix:/run/r.sock\"\n"
     "stages = [\"mail\", \"eom\"]\n",
     ":4: milter[0].stages: ", "\"eom\" is not a stage"},
    {"milter macro", "[[milter]]\nname = \"r\"\naddress = \"unix:/run/r.sock\"\n"
     "macros = [\"client_addr\"]\n",
     ":4: milter[0].macros: ", "\"client_addr\" is not a macro name"},
    {"milter reuse", "[[milter]]\nname = \"r\"\naddress = \"unix:/run/r.sock\"\n"
     "reuse = \"sometimes\"\n",
     ":4: milter[0].reuse: ", "expected one of \"never\", \"after_message\", \"always\""},
    {"fleet redis name", "[fleet]\nredis = \"localhost:6379\"\n", ":2: fleet.redis: ",
     "expected \"host:port\" with an IP address, or \"unix:/path\""},
    {"fleet redis port", "[fleet]\nredis = \"127.0.0.1\"\n", ":2: fleet.redis: ",
     "\"127.0.0.1\": expected"},
    {"fleet node name", "[fleet]\nnode_name = \"mx 1\"\n", ":2: fleet.node_name: ",
     "use letters, digits"},
    {"fleet key", "[fleet]\nredis_url = \"x\"\n", ":2: fleet.redis_url: ", ""},
    {"greylist window", "[greylist]\nmin_delay = \"1h\"\nmax_delay = \"30m\"\n",
     ":3: greylist.max_delay: ", "must exceed greylist.min_delay (1h)"},
    {"greylist doubtful without a band",
     "[reputation]\ndefer_at = 0.0\n[greylist]\nenabled = true\nmode = \"doubtful\"\n",
     ":5: greylist.mode: ", "needs reputation.defer_at above 0"},
    {"milter default action", "[[milter]]\nname = \"r\"\naddress = \"unix:/run/r.sock\"\n"
     "default_action = \"discard\"\n",
     ":4: milter[0].default_action: ", "expected one of \"tempfail\", \"accept\", \"reject\""},
    {"milter twice", "[[milter]]\nname = \"r\"\naddress = \"unix:/a\"\n[[milter]]\nname = \"r\"\n"
     "address = \"unix:/b\"\n",
     ":5: milter[1].name: ", "\"r\" is already the name of milter[0]"},
    {"dns tries", "[dns]\ntries = 0\n", ":2: dns.tries: ", "must be between 1 and 10"},
    {"tls min version", "[tls]\nmin_version = \"SSLv3\"\n", ":2: tls.min_version: ",
     "expected one of \"TLSv1\", \"TLSv1.1\", \"TLSv1.2\", \"TLSv1.3\""},
    {"tls entry without key", "[[tls.certificates]]\ncertificate = \"/etc/hostname\"\n",
     ":1: tls.certificates[0].private_key: ", "is required"},
    {"tls server name",
     "[[tls.certificates]]\ncertificate = \"/etc/hostname\"\nprivate_key = \"/etc/hostname\"\n"
     "server_names = [\"mx..example\"]\n",
     ":4: tls.certificates[0].server_names: ", "\"mx..example\" is not a host name"},
    {"route fingerprint",
     "[[route]]\ndomains = [\"a.example\"]\ndownstream = [\"10.0.0.5:25\"]\ntls = \"verify\"\n"
     "tls_fingerprints = [\"AB:CD\"]\n",
     ":5: route[0].tls_fingerprints: ", "\"AB:CD\" is not a SHA-256 fingerprint", false},
    {"route ca without verify",
     "[[route]]\ndomains = [\"a.example\"]\ndownstream = [\"10.0.0.5:25\"]\n"
     "tls_ca_file = \"/etc/hostname\"\n",
     ":4: route[0].tls_ca_file: ", "applies only with tls = \"verify\"", false},
    {"outbound port", "[outbound]\nport = 0\n", ":2: outbound.port: ",
     "must be between 1 and 65535"},
    {"outbound relay", "[outbound]\nbounce_relay = [\"smarthost.example\"]\n",
     ":2: outbound.bounce_relay: ", "\"smarthost.example\": missing port"},
    {"pregreet pauses", "[pregreet]\ngreet_pause = \"1s\"\ngreet_pause_under_load = \"2s\"\n",
     ":3: pregreet.greet_pause_under_load: ", "must not exceed pregreet.greet_pause (1s)"},
    {"content memory", "[content]\nmemory_per_session = \"2MiB\"\nmemory_budget = \"1MiB\"\n",
     ":2: content.memory_per_session: ", "must not exceed content.memory_budget"},
    {"content small budget", "[content]\nmemory_budget = 1000\n", ":2: content.memory_budget: ",
     "must be at least 65536 bytes"},
    {"log level", "[log]\nlevel = \"verbose\"\n", ":2: log.level: ",
     "expected one of trace, debug, info, warn, error, critical, off; got \"verbose\""},
    {"storage path", "[storage]\npath = \"\"\n", ":2: storage.path: ", "must name a directory"},
    {"toml syntax", "[server]\nmax_recipients = \n", ":2: invalid TOML: ", "expected"},
};

TEST(LoadConfig, TrustedArcSealersAreDomainsInLowerCase) {
  TestDir dir;
  const auto config = load_config(dir.write(
      "mxgate.toml",
      "[auth]\ntrusted_arc_sealers = [\"Lists.Example.ORG.\", \"groups.example\"]\n" + kRoute));
  EXPECT_EQ(config.auth.trusted_arc_sealers,
            (std::vector<std::string>{"lists.example.org", "groups.example"}));
  EXPECT_TRUE(load_config(dir.write("default.toml", kRoute)).auth.trusted_arc_sealers.empty());
}

TEST(LoadConfig, TheReportsSignWithTheDomainOfTheirSenderUnlessTold) {
  TestDir dir;
  const std::string key = dir.write("dkim.pem", "not read by load_config\n");
  const std::string signed_reports = "[dmarc_reports]\nfrom = \"r@reports.example.org\"\n"
                                     "dkim_key = \"dkim.pem\"\ndkim_selector = \"s2026\"\n";
  auto c = load_config(dir.write("signed.toml", signed_reports + kRoute)).dmarc_reports;
  EXPECT_EQ(c.dkim_key, key) << "relative to the configuration file";
  EXPECT_EQ(c.dkim_selector, "s2026");
  EXPECT_EQ(c.dkim_domain, "reports.example.org");
  c = load_config(dir.write("told.toml", signed_reports + "dkim_domain = \"example.org\"\n" +
                                             kRoute))
          .dmarc_reports;
  EXPECT_EQ(c.dkim_domain, "example.org");
  EXPECT_EQ(load_config(dir.write("unsigned.toml", kRoute)).dmarc_reports.dkim_domain, "");
}

TEST(LoadConfigErrors, NameTheFileTheLineAndTheKey) {
  for (const auto& c : kErrorCases) {
    TestDir dir;
    std::string file = dir.write("mxgate.toml", c.toml + (c.add_route ? kRoute : ""));
    std::string error = error_of(file);
    EXPECT_THAT(error, StartsWith(file + c.where)) << c.name;
    EXPECT_THAT(error, HasSubstr(c.hint)) << c.name;
  }
}

TEST(LoadConfigErrors, CarryTheirPartsSeparately) {
  TestDir dir;
  std::string file = dir.write("mxgate.toml", "[server]\nmax_errors = 0\n" + kRoute);
  try {
    load_config(file);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.key(), "server.max_errors");
  }
}

TEST(LoadConfigErrors, AnUnreadableFileIsNamedByItsAbsolutePathWithoutALine) {
  TestDir dir;
  std::string missing = (dir.path() / "absent.toml").string();
  EXPECT_EQ(error_of(missing), "cannot read " + missing + ": No such file or directory");
  EXPECT_THAT(error_of(dir.path().string()),
              StartsWith("cannot read " + dir.path().string() + ": it is a directory"));
  // A relative -c is named absolute: the reader may not know the working directory.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  std::string relative = error_of("sub/absent.toml");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(relative,
            "cannot read " + (dir.path() / "sub/absent.toml").string() +
                ": No such file or directory");
}

TEST(Overrides, ApplyTypedAndBareValues) {
  TestDir dir;
  std::string cert = dir.write("cert.pem", "c");
  std::string key = dir.write("key.pem", "k");
  std::string file = dir.write("mxgate.toml", "[server]\nmax_recipients = 10\n" + kRoute);
  Config c = load_config(
      file,
      {"server.max_recipients=5", "tls.require=true", "server.listen=[\"127.0.0.1:2600\"]",
       "server.hostname=mx.example.org", "tls.certificate=" + cert, "tls.private_key = " + key,
       "server.banner=ESMTP ready here", "server.command_timeout=\"1m\"", "log.level=debug"});
  EXPECT_EQ(c.server.max_recipients, 5u);
  EXPECT_TRUE(c.tls.require);
  EXPECT_EQ(c.server.listen, (std::vector<HostPort>{{"127.0.0.1", 2600}}));
  EXPECT_EQ(c.server.hostname, "mx.example.org");
  EXPECT_EQ(c.relay.helo_name, "mx.example.org");
  EXPECT_EQ(c.tls.private_key, key);
  EXPECT_EQ(c.server.banner, "ESMTP ready here");
  EXPECT_EQ(c.server.command_timeout, 1min);
  EXPECT_EQ(c.log.level, "debug");
}

TEST(Overrides, TheLastOneWins) {
  TestDir dir;
  std::string file = dir.write("mxgate.toml", kRoute);
  Config c = load_config(file, {"server.max_errors=3", "server.max_errors=4"});
  EXPECT_EQ(c.server.max_errors, 4u);
}

TEST(Overrides, AreValidatedAndBlamedOnDashO) {
  struct Case {
    std::string override_text;
    std::string error;
  };
  const Case cases[] = {
      {"server.max_recipients=0",
       "-o server.max_recipients=0: must be between 1 and 100000, got 0"},
      {"server.max_recipients=five",
       "-o server.max_recipients=five: expected an integer, got the string \"five\""},
      {"server.command_timeout=5 minutes",
       "-o server.command_timeout=5 minutes: expected a duration such as \"30s\" or \"5m\", "
       "got \"5 minutes\""},
      {"server.bogus=1", "-o server.bogus=1: unknown key; the keys of [server] are: "},
      {"bogus.key=1", "-o bogus.key=1: bogus: unknown key"},
      {"tls.require=true", "-o tls.require=true: needs tls.certificate"},
      {"route.domains=[\"a.example\"]",
       "-o route.domains=[\"a.example\"]: [[route]] entries cannot be "},
      {"route[0].require_tls=true", "-o route[0].require_tls=true: [[route]] entries cannot be "},
      {"server.max_recipients", "-o server.max_recipients: expected key=value"},
      {"server..x=1", "-o server..x=1: expected a dotted key such as server.max_recipients"},
      {"=1", "-o =1: expected a dotted key"},
      {"server.max_errors.x=1",
       "-o server.max_errors.x=1: server.max_errors is not a table"},
      {"server=1", "-o server=1: expected a table [server], got the integer 1"},
      {"storage.path=\"\"", "-o storage.path=\"\": must name a directory"},
  };
  TestDir dir;
  std::string file = dir.write("mxgate.toml", "[server]\nmax_errors = 20\n" + kRoute);
  for (const auto& c : cases) {
    EXPECT_THAT(error_of(file, {c.override_text}), StartsWith(c.error)) << c.override_text;
  }
}

TEST(Overrides, KeepFileLinesForKeysTheyDoNotTouch) {
  TestDir dir;
  std::string file = dir.write("mxgate.toml", "[server]\nmax_recipients = 0\n" + kRoute);
  EXPECT_THAT(error_of(file, {"server.max_errors=5"}),
              StartsWith(file + ":2: server.max_recipients: "));
  EXPECT_NO_THROW(load_config(file, {"server.max_recipients=5"}));
}

TEST(Describe, PrintsEveryTableAsKeyValueLines) {
  Config c = load_config(MXGATE_SOURCE_DIR "/conf/mxgate.toml");
  std::string text = describe(c);
  for (std::string line :
       {"[server]\n", "listen = [\"127.0.0.1:2525\"]\n", "max_message_size = \"50MiB\"\n",
        "command_timeout = \"5m\"\n", "[tls]\n", "require = false\n", "[http]\n",
        "listen = \"127.0.0.1:8025\"\n", "[[route]]\n",
        "domains = [\"example.com\", \".example.com\"]\n", "downstream = [\"127.0.0.1:2526\"]\n",
        "path = \"" MXGATE_SOURCE_DIR "/var/mxgate\"\n", "servers = []\n",
        "level = \"info\"\n"}) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(Describe, LoadsBackToTheSameConfig) {
  TestDir dir;
  std::string cert = dir.write("cert.pem", "c");
  std::string key = dir.write("key \"quoted\".pem", "k");
  std::string first = dir.write("first.toml", kRoute +
                                                  "[[route]]\ndomains = [\".b.example\"]\n"
                                                  "downstream = [\"[::1]:25\", \"x:2\"]\n");
  Config c =
      load_config(first, {"server.banner=ESMTP \"quoted\" \\ back", "tls.certificate=" + cert,
                          "tls.private_key=" + key, "server.max_message_size=1000000",
                          "dns.servers=[\"127.0.0.1\"]", "relay.data_timeout=\"1500ms\"",
                          "reputation.defer_at=2.5", "reputation.network_prefixes_v4=[16, 24]",
                          "reputation.quarantine_downstream=[\"127.0.0.1:2527\"]",
                          "reputation.model.complaint_rate=0.0012345678", "checks.ip_history.weight=0.5",
                          "checks.sender_domain_history.mode=\"observe\"",
                          "dns.timeout=\"500ms\"", "pregreet.greet_pause=\"6s\"",
                          "checks.rdns.points.rdns_generic=0.25",
                          "dnsbl=[{zone=\"zen.example\", returns=[\"127.0.0.[2..11]\"], "
                          "weight=5.5}, {zone=\"dbl.example\", type=\"sender_domain\", "
                          "action=\"reject\", probe=false}]",
                          "milter=[{name=\"rspamd\", address=\"inet:11332@127.0.0.1\", "
                          "stages=[\"body\", \"connect\"], default_action=\"accept\", "
                          "timeout=\"10s\", macros=[\"j\", \"{i}\"], replace_body=false}]"});
  ASSERT_EQ(c.milters.size(), 1u);
  EXPECT_EQ(c.milters[0].address, "inet:127.0.0.1:11332");  // one form
  EXPECT_EQ(c.milters[0].stages, (std::vector<std::string>{"connect", "body"}));  // session order
  std::string second = dir.write("second.toml", describe(c));
  Config again = load_config(second);
  again.source = c.source;
  EXPECT_EQ(again, c) << describe(c);
}

}  // namespace
}  // namespace mxgate::conf
