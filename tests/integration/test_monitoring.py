"""The monitoring kit (issue 21): deploy/prometheus/alerts.yml, its unit tests and the Grafana
dashboard deploy/grafana/mxgate.json, checked with promtool and then for real: a queue-mode
mxgate (with TLS, DNSBL zones on NSD, authentication, a rate limit and a milter) relays some
mail and refuses some, Debian's Prometheus scrapes it every second with the rules loaded, and
every dashboard and rule expression is sent to Prometheus' HTTP API: each must parse, each
dashboard expression must return data, and on this gateway the alerts stay silent except for
the bad series the test sets up (a DNSBL zone without test entries, a certificate that expires
in 2 days)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from dns_server import DEFAULT_ZONES, DnsServer
from harness import (SOURCE_DIR, MxTestCase, SmtpClient, certificate, parse_metrics, read_log,
                     require_tool, run_tool, send_message, start_on_free_ports, wait_listening,
                     wait_until)
from milter_peers import TestMilter
from test_proxy import proxy_v1

RULES = os.path.join(SOURCE_DIR, "deploy", "prometheus", "alerts.yml")
RULE_TESTS = os.path.join(SOURCE_DIR, "deploy", "prometheus", "alerts_test.yml")
DASHBOARD = os.path.join(SOURCE_DIR, "deploy", "grafana", "mxgate.json")
URL = "https://postmaster.example.net/postmaster/"
MESSAGE = (b"From: <a@example.test>\r\nTo: <u@example.com>\r\nSubject: monitored\r\n"
           b"Date: Mon, 07 Dec 2026 12:00:00 +0000\r\nMessage-ID: <monitored@example.test>\r\n"
           b"\r\nbody\r\n")

# No exemption: the test runs queue mode with a content filter, a DNSBL, authentication
# and a rate limit, and the fleet's and greylisting's series exist (at 0) in every mode.

# Grafana's variables, replaced before a query: the rate window covers ~30 one-second scrapes.
SUBSTITUTIONS = [("$__rate_interval", "30s"), ("$__interval", "1m"), ("$__range", "1h"),
                 ("${instance}", ".*"), ("$instance", ".*"), ("${job}", "mxgate"),
                 ("$job", "mxgate")]

# On the gateway of this test every alert expression returns nothing, except these, whose
# bad series the test sets up: a DNSBL zone without test entries, and the harness's certificate,
# valid for 2 days (both the 14-day and the 3-day rule; filled in by the test). The refusal-ratio
# spike is not judged: its baseline is the last day, here a minute of the test's own refusals.
EXPECTED_ALERT_SERIES = {
    "MxgateDnsblZoneDown": [{"zone": "broken.example.test"}],
}
NOT_JUDGED_HERE = {"MxgateRefusalRatioSpike"}


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def panels_of(board):
    """Every panel (rows' nested panels too), rows excluded."""
    out = []
    for panel in board["panels"]:
        if panel.get("type") == "row":
            out += panel.get("panels", [])
        else:
            out.append(panel)
    return out


def grafana_to_promql(expr):
    for variable, value in SUBSTITUTIONS:
        expr = expr.replace(variable, value)
    return expr


def rule_entries():
    """(name, expression) of every recording and alerting rule in alerts.yml, from the YAML
    subset that file uses (no YAML module in the standard library): `- alert:`/`- record:`
    lines and their `expr:`, inline or as a `|` block."""
    entries = []
    with open(RULES) as f:
        lines = f.read().splitlines()
    name = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*- (alert|record): (\S+)", line)
        if m:
            name = m.group(2)
        m = re.match(r"(\s*)expr: ?(.*)$", line)
        if m:
            indent, value = len(m.group(1)), m.group(2)
            if value.strip() == "|":
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                entries.append((name, "\n".join(block).strip()))
                continue
            entries.append((name, value.strip()))
        i += 1
    return entries


class Prometheus:
    """Debian's prometheus on 127.0.0.1:<a held port> scraping one target every second, with
    alerts.yml loaded, its TSDB in a temp folder."""

    def __init__(self, target):
        self.target = target
        self.folder = tempfile.mkdtemp(prefix="mxgate-prom-")
        self.log_path = os.path.join(self.folder, "prometheus.log")
        self.proc = None
        self.port = None
        self._ports = []

    def start(self):
        binary = require_tool("prometheus")
        config = os.path.join(self.folder, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {json.dumps(RULES)}\n"
                    "scrape_configs:\n  - job_name: mxgate\n    static_configs:\n"
                    f"      - targets: [{json.dumps(self.target)}]\n")

        def start_on(ports):
            self.port = ports[0]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [binary, f"--config.file={config}",
                     f"--storage.tsdb.path={os.path.join(self.folder, 'data')}",
                     f"--web.listen-address=127.0.0.1:{self.port}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.folder)
            try:
                wait_listening(self.proc, [self.port], "prometheus", self.log, timeout=60)
                wait_until(self.ready, 60, interval=0.2, what="prometheus ready (/-/ready)")
            except BaseException:
                self._stop()
                raise
        self._ports = start_on_free_ports("prometheus", 1, start_on)

    def ready(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log(self):
        return read_log(self.log_path)

    def _stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def stop(self):
        try:
            self._stop()
        finally:
            for port in self._ports:
                port.release()
            self._ports = []
            shutil.rmtree(self.folder, ignore_errors=True)

    def api(self, path, params=None):
        """The decoded JSON of GET /api/v1/<path>; a 400 (a bad expression) is returned too."""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return json.loads(body)
            except ValueError:
                return {"status": f"HTTP {e.code}", "error": body.decode(errors="replace")}

    def query(self, expr):
        return self.api("query", {"query": expr})


class RulesAndDashboardFilesTest(unittest.TestCase):

    def test_promtool_checks_the_rules_and_runs_their_unit_tests(self):
        for args in (["check", "rules", RULES], ["test", "rules", RULE_TESTS]):
            result = run_tool(["promtool", *args])
            report = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
            self.assertEqual(result.returncode, 0, f"promtool {' '.join(args)}:\n{report}")
            self.assertIn("SUCCESS", report)

    def test_every_alert_has_a_severity_a_for_and_annotations_and_a_unit_test(self):
        with open(RULES) as f:
            text = f.read()
        with open(RULE_TESTS) as f:
            tests = f.read()
        alerts = re.findall(r"- alert: (\S+)\n((?:\s{8}.*\n|\s*\n)*)", text)
        self.assertGreaterEqual(len({name for name, _ in alerts}), 9)
        for name, body in alerts:
            with self.subTest(alert=name):
                self.assertRegex(body, r"severity: (critical|warning)")
                self.assertIn("summary:", body)
                self.assertIn("description:", body)
                if "increase(" not in body:  # a counter's increase fires at once, for a window
                    self.assertRegex(body, r"\n\s+for: \d+[mh]")
                self.assertIn(f"alertname: {name}\n", tests)

    def test_the_dashboard_parses_and_every_panel_has_an_expression(self):
        board = dashboard()
        self.assertGreaterEqual(board["schemaVersion"], 36)
        variables = {v["name"]: v for v in board["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        self.assertIn("instance", variables)
        panels = panels_of(board)
        self.assertGreater(len(panels), 30)
        for panel in panels:
            with self.subTest(panel=panel.get("title")):
                exprs = [t.get("expr") for t in panel.get("targets", [])]
                self.assertTrue(exprs and all(exprs), panel.get("targets"))
                for target in panel["targets"]:
                    self.assertEqual(target["datasource"]["uid"], "${datasource}")
        ids = [p["id"] for p in board["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")


class MonitoringTest(MxTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(DEFAULT_ZONES)
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def client(self, mx, ip):
        c = SmtpClient(mx.proxy_port)
        c.send(proxy_v1(ip))
        self.assertEqual(c.reply()[0], 220)
        return c

    def traffic(self, mx, sink):
        """Relays one message and refuses some: a recipient in no route, a rate limit, a DNSBL
        listing; one STARTTLS handshake."""
        with self.client(mx, "192.0.2.25") as c:
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>")[0], 250)  # 1st of the limit's 2
            self.assertEqual(c.cmd("RCPT TO:<u@elsewhere.test>"), (550, "5.7.1 Relaying denied"))
            self.assertEqual(c.cmd("RSET")[0], 250)
            code, text = send_message(c, "a@example.test", ["u@example.com"],  # 2nd
                                      MESSAGE)
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>"),
                             (421, f"4.7.0 Deferred - see {URL}?ip=192.0.2.25"))
        with mx.connect() as c:
            c.ehlo()
            c.starttls()
            c.ehlo()
            self.assertEqual(c.cmd("QUIT")[0], 221)
        self.listed(mx)
        self.assertEqual(len(sink.wait_for_messages(1)), 1)
        mx.wait_queue_empty()
        mx.wait_metric('mxgate_throttle_deferrals_total{limit="ip-messages"}', lambda v: v == 1)
        wait_until(lambda: sum(v for k, v in parse_metrics(mx.metrics()).items()
                               if k.startswith("mxgate_tls_handshakes_total{")
                               and '"TLSv1.3"' in k) == 1, 30, what="a TLSv1.3 handshake counted")

    def listed(self, mx):
        """127.0.0.2 is listed on zone.example: refused at RCPT (delay_reject)."""
        with self.client(mx, "127.0.0.2") as c:
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>"),
                             (550, f"5.7.1 Blocked - see {URL}?ip=127.0.0.2"))
            self.assertEqual(c.cmd("QUIT")[0], 221)

    def refuse_again(self, mx):
        """The listing again, and the rate limit at MAIL (192.0.2.25 used it up)."""
        self.listed(mx)
        with self.client(mx, "192.0.2.25") as c:
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>"),
                             (421, f"4.7.0 Deferred - see {URL}?ip=192.0.2.25"))
        mx.wait_metric('mxgate_throttle_deferrals_total{limit="ip-messages"}', lambda v: v == 2)

    def start_prometheus(self, mx):
        prom = Prometheus(f"127.0.0.1:{mx.http_port}")
        self.addCleanup(prom.stop)
        try:
            prom.start()
        except AssertionError as e:
            raise AssertionError(f"{e}\n----- prometheus log -----\n{prom.log()[-5000:]}") \
                from None
        self.prom = prom
        return prom

    def debug(self):
        return f"\n----- prometheus log -----\n{self.prom.log()[-5000:]}"

    def test_every_dashboard_and_alert_expression_against_a_real_mxgate(self):
        sink = self.sink()
        milter = TestMilter()  # accepts every message
        milter.__enter__()
        self.addCleanup(milter.__exit__, None, None, None)
        mx = self.mxgate(sink, tls=True, proxy=True, settings={
            "relay.mode": "queue", "queue.poll_interval": "100ms",
            "dns.servers": [self.dns.address], "reputation.trusted_networks": [],
            "auth.enabled": True, "checks.rdns.mode": "observe",
        }, extra_tables=[
            ("dnsbl", {"zone": "zone.example", "returns": ["127.0.0.[2..11]"], "weight": 10.0}),
            ("dnsbl", {"zone": "broken.example.test", "weight": 10.0}),
            ("milter", {"name": "test", "address": milter.address, "timeout": "3s"}),
            ("limit", {"name": "ip-messages", "key": "ip", "count": "messages", "rate": 1,
                       "period": "1h", "burst": 1}),
        ])
        # Prometheus first, so that it sees the counters rise.
        prom = self.start_prometheus(mx)
        wait_until(lambda: prom.query('up{job="mxgate"} == 1').get("data", {}).get("result"),
                   60, interval=0.2, what="a first scrape of mxgate by prometheus")
        self.traffic(mx, sink)
        # mxgate creates a verdict's series at its first count, and Prometheus' increase() does
        # not count a series' first sample: the refusals again, once the series were scraped.
        refused = ('mxgate_verdicts_total{stage="rcpt", signal="dnsbl_listed"} == 1 and on() '
                   'mxgate_verdicts_total{stage="mail", signal="rate_limited"} == 1')
        wait_until(lambda: prom.query(refused).get("data", {}).get("result"), 60, interval=0.2,
                   what="the first refusals scraped")
        self.refuse_again(mx)

        # Scraped at least 5 times (rates over 30s need 2 samples, the histograms some more)
        # and once after the traffic, the broken zone's probe seen, and every rule evaluated
        # without error.
        def scraped():
            r = prom.query('count_over_time(up{job="mxgate"}[1m]) >= 5 and up{job="mxgate"} == 1'
                           ' and on() mxgate_throttle_deferrals_total{limit="ip-messages"} == 2')
            return r.get("data", {}).get("result")
        wait_until(scraped, 60, interval=0.5, what="5 scrapes of mxgate, the last after traffic")
        wait_until(lambda: prom.query('mxgate_dnsbl_zone_up{zone="broken.example.test"} == 0')
                   .get("data", {}).get("result"), 90, interval=0.5,
                   what="the broken zone scraped as down")

        def rules_evaluated():
            groups = prom.api("rules").get("data", {}).get("groups", [])
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if rules and all(
                rule.get("health") == "ok" for rule in rules) else None
        try:
            rules = wait_until(rules_evaluated, 60, interval=0.5, what="every rule evaluated")
        except AssertionError:
            self.fail(f"rules not all healthy: {json.dumps(prom.api('rules'))[:4000]}"
                      + self.debug())
        self.assertEqual(sorted(rule["name"] for rule in rules),
                         sorted(name for name, _ in rule_entries()), "every rule loaded")

        # The dashboard's variables find this job and instance.
        for variable in dashboard()["templating"]["list"]:
            if variable["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
            self.assertTrue(m, variable["query"])
            values = prom.api(f"label/{m.group(2)}/values",
                              {"match[]": grafana_to_promql(m.group(1))})
            self.assertEqual(values.get("status"), "success", values)
            want = ["mxgate"] if variable["name"] == "job" else [f"127.0.0.1:{mx.http_port}"]
            self.assertEqual(values["data"], want, variable["name"])

        # Every dashboard expression parses and returns data.
        empty = []
        for panel in panels_of(dashboard()):
            for target in panel["targets"]:
                expr = grafana_to_promql(target["expr"])
                with self.subTest(panel=panel["title"], expr=expr):
                    self.assertNotIn("$", expr, "a Grafana variable left unreplaced")
                    result = prom.query(expr)
                    self.assertEqual(result.get("status"), "success",
                                     f"{expr}: {result.get('error')}")
                    if not result["data"]["result"]:
                        empty.append(f"{panel['title']}: {expr}")
        self.assertEqual(empty, [], "dashboard expressions without data")

        # What a user reads on the dashboard: the refusals of the test top the refusal reasons.
        top = [panel for panel in panels_of(dashboard()) if panel["title"] == "Top refusal reasons"]
        result = prom.query(grafana_to_promql(top[0]["targets"][0]["expr"]))["data"]["result"]
        reasons = {(r["metric"]["stage"], r["metric"]["signal"]) for r in result
                   if float(r["value"][1]) > 0}
        self.assertEqual(reasons, {("rcpt", "dnsbl_listed"), ("mail", "rate_limited")}, result)
        for r in result:
            self.assertAlmostEqual(float(r["value"][1]), 1.0, delta=0.5, msg=result)

        # Every rule expression parses; the alerts are silent on this gateway but for the
        # broken zone and the certificate that expires in 2 days.
        expected = dict(EXPECTED_ALERT_SERIES,
                        MxgateTlsCertificateExpiring=[{"certificate": certificate()[0]}])
        for name, expr in [(rule["name"], rule["query"]) for rule in rules]:
            with self.subTest(rule=name):
                result = prom.query(expr)
                self.assertEqual(result.get("status"), "success",
                                 f"{name}: {expr}: {result.get('error')}")
                if name.startswith("Mxgate") and name not in NOT_JUDGED_HERE:
                    got = [{k: v for k, v in series["metric"].items()
                            if k not in ("job", "instance", "__name__")}
                           for series in result["data"]["result"]]
                    self.assertEqual(got, expected.get(name, []), f"{name}: {expr}")
            if name.startswith("instance:"):
                with self.subTest(record=name):
                    self.assertTrue(prom.query(name)["data"]["result"], f"{name} recorded")


if __name__ == "__main__":
    unittest.main()
