"""deploy/try.sh and deploy/demo.sh end to end: try.sh starts NSD with the demo zone, the try
downstream (deploy/demo/sink.py) and mxgate (MXGATE_BIN, so no build) on free ports, its state in
a temp folder; demo.sh sends its four cases through the PROXY listener; each case's outcome is
checked in the demo's output, mxgate's log, the relayed copy, the metrics and the portal; then
Ctrl-C (SIGINT to try.sh's process group, as a terminal sends it) must stop everything.

TryRun is also the environment of test_readme.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import shutil
import unittest
import urllib.request

from harness import SOURCE_DIR, Port, mxgate_bin, require_tool, wait_until

# The addresses of conf/mxgate.toml and deploy/try.sh (its defaults), which TryRun moves to free
# ports: test_readme rewrites the README's commands with the same table.
SHIPPED = {
    "smtp": "127.0.0.1:2525",
    "sink": "127.0.0.1:2526",
    "proxy": "127.0.0.1:2527",
    "dns": "127.0.0.1:2553",
    "http": "127.0.0.1:8025",
    "portal": "127.0.0.1:8080",
}


class TryRun:
    """deploy/try.sh running in its own process group, on free ports:
    addresses[name] for each SHIPPED name, config (a copy of conf/mxgate.toml with those
    addresses and storage.path in var), var (its MXGATE_TRY_VAR), env (what demo.sh and the
    README's commands need), output() (try.sh's terminal)."""

    def __init__(self):
        self.folder = None
        self.proc = None
        self._ports = []

    def start(self, timeout=60):
        mxgate = mxgate_bin()
        for tool in ("nsd", "dkimsign", "swaks"):
            require_tool(tool)
        self.folder = tempfile.mkdtemp(prefix="mxgate-try-")
        self.var = os.path.join(self.folder, "var")
        self._ports = {name: Port(udp_free=(name == "dns")) for name in SHIPPED}
        self.addresses = {name: f"127.0.0.1:{port.number}" for name, port in self._ports.items()}
        self.config = os.path.join(self.folder, "conf", "mxgate.toml")
        os.makedirs(os.path.dirname(self.config))
        with open(os.path.join(SOURCE_DIR, "conf", "mxgate.toml")) as f:
            text = f.read()
        for name, address in SHIPPED.items():
            text = text.replace(f'"{address}"', f'"{self.addresses[name]}"')
        # The state where try.sh keeps it, so that `mxgate rep -c` finds the running server.
        text, count = re.subn(r'(?m)^path = ".*mxgate"$',
                              f'path = "{self.var}/mxgate"', text)
        assert count == 1, "conf/mxgate.toml: no [storage] path line to move"
        with open(self.config, "w") as f:
            f.write(text)
        self.env = dict(os.environ, MXGATE_BIN=mxgate, MXGATE_TRY_CONFIG=self.config,
                        MXGATE_TRY_VAR=self.var,
                        MXGATE_TRY_DNS_PORT=str(self._ports["dns"].number),
                        MXGATE_TRY_PROXY_PORT=str(self._ports["proxy"].number))
        self.output_path = os.path.join(self.folder, "try.out")
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(
                ["bash", os.path.join(SOURCE_DIR, "deploy", "try.sh")], cwd=SOURCE_DIR,
                env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"try.sh exited with {self.proc.returncode}:\n"
                                     f"{self.output()[-5000:]}")
            return "./deploy/demo.sh" in self.output()
        wait_until(ready, timeout, interval=0.1, what="try.sh's summary")
        return self

    def output(self):
        try:
            with open(self.output_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log(self):
        with open(os.path.join(self.var, "try", "mxgate.log"), errors="replace") as f:
            return f.read()

    def group_alive(self):
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def interrupt(self, timeout=60):
        """Ctrl-C: SIGINT to the process group. Returns try.sh's exit code."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"try.sh still running {timeout}s after SIGINT:\n"
                                 f"{self.output()[-3000:]}") from None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.interrupt()
                except AssertionError:
                    pass
            if self.group_alive():
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None
        for port in dict(self._ports).values():
            port.release()
        self._ports = {}
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def http_get(url, headers=None, timeout=10):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.status, r.read().decode(errors="replace")


class WithTryRun(unittest.TestCase):
    """One try.sh (cls.run_) for all the tests of a class."""

    @classmethod
    def setUpClass(cls):
        cls.run_ = TryRun()
        try:
            cls.run_.start()
        except BaseException:
            cls.run_.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.run_.stop()


class TryAndDemo(WithTryRun):
    """The tests run in name order: the demo, then Ctrl-C."""

    def explain(self):
        return (f"\n----- try.sh -----\n{self.run_.output()[-6000:]}"
                f"\n----- mxgate log -----\n{self.run_.log()[-6000:]}")

    def test_1_summary_says_where_everything_is(self):
        out = self.run_.output()
        a = self.run_.addresses
        for want in (f"-o 'dns.servers=[\"{a['dns']}\"]'",
                     f"-o 'reputation.postmaster_url=http://{a['portal']}/postmaster/'",
                     f"-o 'server.proxy_listen=[\"{a['proxy']}\"]'",
                     "-o 'dnsbl=[{zone = \"dnsbl.example\"",
                     f"metrics        http://{a['http']}/metrics",
                     f"portal         http://{a['portal']}/postmaster/",
                     f"(token: {self.run_.var}/mxgate/admin.token)",
                     f"log            {self.run_.var}/try/mxgate.log"):
            self.assertIn(want, out, self.explain())
        self.assertTrue(os.path.exists(os.path.join(self.run_.var, "mxgate", "admin.token")))

    def test_2_demo_cases(self):
        demo = subprocess.run(["bash", os.path.join(SOURCE_DIR, "deploy", "demo.sh")],
                              cwd=SOURCE_DIR, env=self.run_.env, capture_output=True,
                              text=True, timeout=240)
        out = demo.stdout + demo.stderr
        explain = f"\n----- demo -----\n{out}" + self.explain()
        self.assertEqual(demo.returncode, 0, explain)
        portal = f"http://{self.run_.addresses['portal']}/postmaster/"
        for case in ("good", "no-rdns", "listed", "flood"):
            self.assertRegex(out, rf"(?m)^  ok   {case} ", explain)
        # good: relayed with every check passing, as the copy at the sink says.
        for want in ("DATA                             -> 250 2.0.0",
                     "spf=pass smtp.mailfrom=alice@good.example",
                     "dkim=pass header.d=good.example header.s=demo",
                     "dmarc=pass (p=reject) header.from=good.example",
                     "iprev=pass policy.iprev=192.0.2.10 (mail.good.example)"):
            self.assertIn(want, out, explain)
        relayed = [n for n in os.listdir(os.path.join(self.run_.var, "sink"))
                   if n.endswith(".eml")]
        self.assertEqual(len(relayed), 101, explain)  # good + 100 of the flood
        # The refusals, each with the local portal's page.
        self.assertIn(f"DATA                             -> 451 4.7.1 Deferred - see "
                      f"{portal}?ip=198.51.100.23", out, explain)
        self.assertIn(f"connect                          -> 554 5.7.1 Blocked - see "
                      f"{portal}?ip=203.0.113.66", out, explain)
        self.assertIn("messages 1-100: 250 (relayed)", out, explain)
        self.assertIn(f"message 101: MAIL FROM:<news@bulk.example> -> 421 4.7.0 Deferred - see "
                      f"{portal}?ip=2001:db8:b::25", out, explain)
        # mxgate's log says why.
        log = self.run_.log()
        for want in (r"refused session=\S+ client=198\.51\.100\.23 stage=end_of_data "
                     r"action=defer signal=rdns_missing score=6 reply=451",
                     r"refused session=\S+ client=203\.0\.113\.66 stage=connect "
                     r"action=reject signal=dnsbl_listed .* reply=554",
                     r"refused session=\S+ client=2001:db8:b::25 stage=mail \S+ "
                     r"signal=new_ip_ramp .* reply=421",
                     r"transaction .*client=192\.0\.2\.10 .*auth=spf:pass,dkim:pass,dmarc:pass"):
            self.assertRegex(log, want, explain)
        # The metrics, and the portal page of each refused address.
        _, metrics = http_get(f"http://{self.run_.addresses['http']}/metrics")
        self.assertIn('mxgate_throttle_deferrals_total{limit="ramp"} 1', metrics)
        self.assertRegex(metrics, r'mxgate_verdicts_total\{action="reject",'
                                  r'signal="dnsbl_listed",stage="connect"\} [1-9]')
        for ip in ("198.51.100.23", "203.0.113.66", "2001:db8:b::25"):
            status, body = http_get(f"{portal}?ip={ip}", {"Accept": "application/json"})
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["ip"], ip, body)

    def test_3_ctrl_c_stops_everything(self):
        code = self.run_.interrupt()
        self.assertEqual(code, 0, self.run_.output()[-3000:])
        wait_until(lambda: not self.run_.group_alive(), 10,
                   what="NSD, the sink and mxgate gone after Ctrl-C")
        self.assertRegex(self.run_.log(), r"info stopped\n?$")


if __name__ == "__main__":
    unittest.main()
