"""The HTTP listener: Prometheus metrics after real traffic, health and readiness probes."""

import os
import re
import subprocess
import unittest

from harness import MxTestCase, mxgate_bin, parse_metrics, run_tool, send_message, wait_until

CLASSES = ["2xx", "3xx", "4xx", "5xx"]


def replies(metrics):
    return {k: metrics.get(f'mxgate_replies_total{{class="{k}"}}', 0.0) for k in CLASSES}


class MetricsTest(MxTestCase):

    def test_metrics_count_sessions_transactions_and_replies_and_pass_promtool(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.max_recipients": 1})
        mx.wait_sessions_idle()
        before = parse_metrics(mx.metrics())

        # Session 1: three messages and one unknown command.
        with mx.connect() as c:  # 220
            c.ehlo()  # 250
            for i in range(3):  # 250 250 354 250 each
                code, text = send_message(c, "s@example.org", ["u@example.com"],
                                          b"Subject: metrics %d\r\n\r\nbody\r\n" % i)
                self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("FROBNICATE")[0], 500)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        # Session 2: one message, one recipient over the limit.
        with mx.connect() as c:  # 220
            c.ehlo()  # 250
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<v@example.com>")[0], 452)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: metrics 3\r\n\r\nbody\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        sink.wait_for_messages(4)
        mx.wait_sessions_idle()

        text = mx.metrics()
        after = parse_metrics(text)
        self.assertEqual(after.get("mxgate_sessions_total"), 2)
        self.assertEqual(after.get('mxgate_transactions_total{result="accepted"}'), 4)
        self.assertEqual(after.get('mxgate_transactions_total{result="rejected"}'), 0)
        self.assertEqual(after.get("mxgate_sessions_active"), 0)
        self.assertGreater(after.get("mxgate_received_bytes_total", 0), 4 * 20)
        delta = {k: replies(after)[k] - replies(before)[k] for k in CLASSES}
        self.assertEqual(delta, {"2xx": 12 + 6, "3xx": 3 + 1, "4xx": 1, "5xx": 1})
        self.assertIn("# TYPE mxgate_sessions_total counter", text)
        self.assertIn("# TYPE mxgate_sessions_active gauge", text)
        self.assertIn("# TYPE mxgate_relay_duration_seconds histogram", text)
        # Per downstream: the route's mailbox server, labelled as the configuration names it.
        self.assertEqual(
            after.get(f'mxgate_relay_duration_seconds_count{{downstream="{sink.address}"}}'), 4)
        self.assertGreaterEqual(after.get(f'mxgate_downstream_connections_total{{downstream='
                                          f'"{sink.address}",origin="opened"}}'), 1)

        result = run_tool(["promtool", "check", "metrics"], input=text.encode())
        report = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 0, report)

    def test_process_metrics_and_build_info_as_prometheus_clients_export_them(self):
        mx = self.mxgate(self.sink())
        version = subprocess.run([mxgate_bin(), "version"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
        found = re.fullmatch(r"mxgate (\S+) \(commit (\S+)\)\n", version)
        self.assertIsNotNone(found, version)
        text = mx.metrics()
        metrics = parse_metrics(text)
        self.assertEqual(metrics.get(
            f'mxgate_build_info{{commit="{found.group(2)}",version="{found.group(1)}"}}'), 1)
        self.assertIn("# TYPE process_cpu_seconds_total counter", text)
        # The kernel's own record of the start: boot time plus the process's start in ticks.
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        with open(f"/proc/{mx.proc.pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        self.assertAlmostEqual(metrics["process_start_time_seconds"],
                               boot + ticks / os.sysconf("SC_CLK_TCK"), delta=0.01)
        self.assertGreater(metrics["process_resident_memory_bytes"], 1 << 20)
        self.assertGreater(metrics["process_virtual_memory_bytes"],
                           metrics["process_resident_memory_bytes"])
        self.assertGreater(metrics["process_max_fds"], 0)
        # The descriptors of /proc/<pid>/fd, counted as the server counts them (±2 for the
        # moment between the two counts: the scrape's own connection).
        wait_until(lambda: abs(parse_metrics(mx.metrics())["process_open_fds"]
                               - len(os.listdir(f"/proc/{mx.proc.pid}/fd"))) <= 2, 10,
                   what="the open descriptors counted")

    def test_health_and_readiness_probes_answer_200(self):
        mx = self.mxgate()
        self.assertEqual(mx.http("/healthz"), (200, "ok\n"))
        self.assertEqual(mx.http("/readyz"), (200, "ready\n"))
        self.assertEqual(mx.http("/no-such-page")[0], 404)


if __name__ == "__main__":
    unittest.main()
