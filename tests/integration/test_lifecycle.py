"""The process and its sessions over time: deadlines, caps, load, reload, drain, the CLI."""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (HOSTNAME, SOURCE_DIR, MxTestCase, SmtpClient, mxgate_bin, run_tool,
                     send_message, wait_until)


def rcpt_limit_seen(mx, tries):
    """How many of `tries` RCPTs a new session gets accepted, and the first refusal."""
    with mx.connect() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        for i in range(tries):
            code, text = c.cmd(f"RCPT TO:<r{i}@example.com>")
            if code != 250:
                return i, (code, text)
        return tries, None


class TimeoutAndCapTest(MxTestCase):

    def test_idle_client_gets_421_4_4_2_after_the_command_timeout(self):
        mx = self.mxgate(options=["server.command_timeout=1s"])
        with mx.connect() as c:
            start = time.monotonic()
            code, text = c.reply(timeout=5)
            elapsed = time.monotonic() - start
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.4.2 "), text)
            self.assertIn(HOSTNAME, text)
            self.assertLess(elapsed, 3.0)
            self.assertGreater(elapsed, 0.5)
            self.assertTrue(c.closed_by_peer(), "connection still open after 421")
        self.assertEqual(mx.metric("mxgate_session_timeouts_total"), 1)

    def test_third_concurrent_session_from_one_address_gets_421_4_7_0(self):
        mx = self.mxgate(settings={"server.max_sessions_per_ip": 2})
        mx.wait_sessions_idle()
        first = mx.connect()
        second = mx.connect()
        try:
            with SmtpClient(mx.port) as third:
                code, text = third.reply()
                self.assertEqual(code, 421, text)
                self.assertTrue(text.startswith("4.7.0 "), text)
                self.assertTrue(third.closed_by_peer(), "refused connection still open")
            self.assertEqual(mx.metric('mxgate_sessions_refused_total{reason="ip_limit"}'), 1)
            # The slot comes back when a session ends.
            self.assertEqual(first.cmd("QUIT")[0], 221)
            first.close()
            mx.wait_metric("mxgate_sessions_active", lambda v: v == 1)
            with mx.connect() as again:
                self.assertEqual(again.cmd("NOOP")[0], 250)
        finally:
            first.close()
            second.close()


    def test_sessions_over_the_global_cap_get_421_4_7_0(self):
        mx = self.mxgate(settings={"server.max_sessions": 2, "server.max_sessions_per_ip": 1})
        mx.wait_sessions_idle()
        # Different loopback addresses, so that only the global cap applies.
        first = SmtpClient(mx.port, source="127.0.0.2")
        second = SmtpClient(mx.port, source="127.0.0.3")
        try:
            self.assertEqual(first.reply()[0], 220)
            self.assertEqual(second.reply()[0], 220)
            with SmtpClient(mx.port, source="127.0.0.4") as third:
                code, text = third.reply()
                self.assertEqual(code, 421, text)
                self.assertTrue(text.startswith("4.7.0 "), text)
                self.assertTrue(third.closed_by_peer(), "refused connection still open")
            self.assertEqual(
                mx.metric('mxgate_sessions_refused_total{reason="global_limit"}'), 1)
        finally:
            first.close()
            second.close()

    def test_client_stalling_in_data_gets_421_4_4_2_and_nothing_is_relayed(self):
        sink = self.sink()
        mx = self.mxgate(sink, options=["server.data_timeout=1s"])
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: stalled\r\n\r\nhalf a message\r\n")
            start = time.monotonic()
            code, text = c.reply(timeout=5)
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.4.2 "), text)
            self.assertLess(time.monotonic() - start, 3.0)
            self.assertTrue(c.closed_by_peer(), "connection still open after 421")
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [], "part of a message was relayed")


class LoadTest(MxTestCase):
    SESSIONS = 500

    def test_500_concurrent_sessions_each_deliver_one_message(self):
        sink = self.sink(max_connections=1024, backlog=1024)
        mx = self.mxgate(sink, settings={"server.max_sessions_per_ip": 1000})
        n = self.SESSIONS
        barrier = threading.Barrier(n, timeout=60)
        results = [None] * n

        def client(i):
            try:
                with mx.connect(timeout=60) as c:
                    c.ehlo(f"load{i}.example.org")
                    barrier.wait()  # every session is open at the same time
                    results[i] = send_message(c, f"s{i}@example.org", [f"u{i}@example.com"],
                                              b"Subject: load %d\r\n\r\nmessage %d\r\n" % (i, i),
                                              check=False)
                    c.cmd("QUIT")
            except Exception as e:  # reported below with its index
                results[i] = ("exception", repr(e))
                barrier.abort()

        old = threading.stack_size(256 * 1024)
        try:
            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
        finally:
            threading.stack_size(old)
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertFalse(any(t.is_alive() for t in threads), "client threads still running")
        failed = [(i, r) for i, r in enumerate(results) if r is None or r[0] != 250]
        self.assertEqual(failed[:10], [], f"{len(failed)} of {n} sessions did not get 250")
        msgs = sink.wait_for_messages(n, timeout=30)
        self.assertEqual(len(msgs), n)
        subjects = sorted(int(re.search(rb"Subject: load (\d+)\n", m.content).group(1))
                          for m in msgs)
        self.assertEqual(subjects, list(range(n)))
        self.assertEqual(mx.metric('mxgate_transactions_total{result="accepted"}'), n)


class ReloadTest(MxTestCase):

    def test_sighup_applies_a_new_limit_to_new_sessions_and_keeps_the_old_on_a_bad_file(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.max_recipients": 2})
        self.assertEqual(rcpt_limit_seen(mx, 4)[0], 2)
        old_session = mx.connect()
        self.addCleanup(old_session.close)
        old_session.ehlo()

        mx.write_config(server__max_recipients=3)
        mx.signal(signal.SIGHUP)
        mx.wait_metric('mxgate_config_reloads_total{result="ok"}', lambda v: v == 1)
        # Workers take the new snapshot asynchronously; it must show within a moment.
        def new_limit():
            seen = rcpt_limit_seen(mx, 5)
            return seen if seen[0] == 3 else None
        seen = wait_until(new_limit, 15, what="the new max_recipients")
        accepted, (code, text) = seen
        self.assertEqual(accepted, 3)
        self.assertEqual(code, 452, text)
        self.assertTrue(text.startswith("4.5.3 "), text)
        # A session that began before the reload keeps its configuration.
        self.assertEqual(old_session.cmd("MAIL FROM:<s@example.org>")[0], 250)
        codes = [old_session.cmd(f"RCPT TO:<o{i}@example.com>")[0] for i in range(3)]
        self.assertEqual(codes, [250, 250, 452])

        # An invalid file: refused, counted, and the running configuration stays.
        mx.write_config(text='[server]\nmax_recipients = "many"\n')
        mx.signal(signal.SIGHUP)
        mx.wait_metric('mxgate_config_reloads_total{result="failed"}', lambda v: v == 1)
        self.assertTrue(mx.alive(), "mxgate exited after a bad reload")
        self.assertEqual(mx.metric('mxgate_config_reloads_total{result="ok"}'), 1)
        # Counted as failed: the attempt is over, and new sessions still get the limit of 3.
        self.assertEqual(rcpt_limit_seen(mx, 5)[0], 3)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: after bad reload\r\n\r\nx\r\n")
            self.assertEqual(code, 250, text)
        sink.wait_for_messages(1)


class DrainTest(MxTestCase):

    def open_data(self, mx, i):
        """A session in the middle of its message content."""
        c = mx.connect()
        self.addCleanup(c.close)
        c.ehlo()
        self.assertEqual(c.cmd(f"MAIL FROM:<d{i}@example.org>")[0], 250)
        self.assertEqual(c.cmd(f"RCPT TO:<u{i}@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: drain %d\r\n\r\nfirst half\r\n" % i)
        return c

    def test_sigterm_finishes_open_transactions_says_421_to_idle_sessions_and_exits_0(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.drain_timeout": "5s"})
        in_data = [self.open_data(mx, i) for i in range(3)]
        after_rcpt = mx.connect()
        self.addCleanup(after_rcpt.close)
        after_rcpt.ehlo()
        self.assertEqual(after_rcpt.cmd("MAIL FROM:<r@example.org>")[0], 250)
        self.assertEqual(after_rcpt.cmd("RCPT TO:<r@example.com>")[0], 250)
        idle = [mx.connect() for _ in range(2)]
        for c in idle:
            self.addCleanup(c.close)
        idle[0].ehlo()
        self.assertEqual(mx.http("/readyz")[0], 200)

        sigterm_at = time.monotonic()
        mx.signal(signal.SIGTERM)

        for c in idle:
            code, text = c.reply(timeout=10)
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.3.2 "), text)
            self.assertTrue(c.closed_by_peer(), "idle session still open after 421")
        wait_until(lambda: mx.http("/readyz")[0] == 503, 10, what="/readyz 503 while draining")
        status, body = mx.http("/readyz")
        self.assertEqual((status, body), (503, "draining\n"))
        # No new sessions while draining: the connection is refused, or whatever it gets up
        # to the end (mxgate's exit closes it, below) is not a greeting.
        try:
            late = SmtpClient(mx.port, timeout=30)
            self.addCleanup(late.close)
        except OSError:
            late = None

        # The transactions in progress complete; only then the session gets 421.
        for i, c in enumerate(in_data):
            c.send(b"second half\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, f"session {i}: {text}")
            code, text = c.reply(timeout=10)
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.3.2 "), text)
        self.assertEqual(after_rcpt.cmd("DATA")[0], 354)
        after_rcpt.send(b"Subject: drain rcpt\r\n\r\nx\r\n.\r\n")
        code, text = after_rcpt.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual(after_rcpt.reply(timeout=10)[0], 421)

        self.assertEqual(mx.wait_exit(timeout=5 + 5), 0, mx.log()[-3000:])
        self.assertLess(time.monotonic() - sigterm_at, 10)
        if late is not None:
            self.assertTrue(late.closed_by_peer(), "a connection outlived mxgate")
            self.assertFalse(late.buffer.startswith(b"220"),
                             f"a new session was greeted during the drain: {late.buffer!r}")
        msgs = sink.wait_for_messages(4)
        subjects = sorted(re.search(rb"Subject: ([^\n]*)", m.content).group(1) for m in msgs)
        self.assertEqual(subjects, [b"drain 0", b"drain 1", b"drain 2", b"drain rcpt"])
        for m in msgs:
            if m.content.find(b"drain rcpt") < 0:
                self.assertIn(b"first half\nsecond half\n", m.content)

    def test_drain_timeout_cuts_unfinished_sessions_without_relaying_part_of_a_message(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.drain_timeout": "1s"})
        stuck = self.open_data(mx, 0)  # its 354: the session is in its data
        sigterm_at = time.monotonic()
        mx.signal(signal.SIGTERM)
        self.assertEqual(mx.wait_exit(timeout=1 + 6), 0, mx.log()[-3000:])
        self.assertLess(time.monotonic() - sigterm_at, 7)
        data = b""
        try:
            stuck.sock.settimeout(10)  # mxgate has exited: the connection is closed
            for _ in range(100):
                chunk = stuck.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        self.assertNotIn(b"250", data, "a cut session was told its message was accepted")
        # mxgate has exited: it relays nothing more.
        self.assertEqual(sink.messages(), [], "part of a message was relayed")


ROUTE = '[[route]]\ndomains = ["example.com"]\ndownstream = ["127.0.0.1:2526"]\n'


def write_config(folder, name, text):
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_mxgate(args, cwd=None, timeout=60):
    """mxgate ARGS run in `cwd`; CompletedProcess with text stdout and stderr."""
    return subprocess.run([mxgate_bin(), *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


class CommandLineTest(unittest.TestCase):

    def test_check_config_accepts_the_shipped_configuration(self):
        path = os.path.join(SOURCE_DIR, "conf", "mxgate.toml")
        result = run_tool([mxgate_bin(), "check-config", "-c", path])
        out = result.stdout.decode(errors="replace")
        err = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 0, out + err)
        self.assertIn("configuration ok", err)
        self.assertIn("[server]", out)
        self.assertRegex(out, r"(?m)^max_recipients = 100$")

    def test_check_config_on_a_bad_file_exits_78_naming_file_line_and_key(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "bad.toml")
            with open(path, "w") as f:
                f.write('[server]\n'
                        'hostname = "mx.test.example"\n'
                        'max_recipients = "lots"\n'
                        '\n'
                        '[[route]]\n'
                        'domains = ["example.com"]\n'
                        'downstream = ["127.0.0.1:2526"]\n')
            result = run_tool([mxgate_bin(), "check-config", "-c", path])
            err = result.stderr.decode(errors="replace")
            self.assertEqual(result.returncode, 78, err)
            self.assertIn(f"{path}:3: server.max_recipients:", err)

            with open(path, "w") as f:
                f.write('[server]\nmax_recipents = 5\n')
            result = run_tool([mxgate_bin(), "check-config", "-c", path])
            err = result.stderr.decode(errors="replace")
            self.assertEqual(result.returncode, 78, err)
            self.assertIn(f"{path}:2: server.max_recipents:", err)

            # `serve` refuses to start on it the same way.
            result = run_tool([mxgate_bin(), "serve", "-c", path], timeout=60)
            self.assertEqual(result.returncode, 78, result.stderr.decode(errors="replace"))

    def test_check_config_loads_the_keys_serve_would(self):
        # A DKIM key for the DMARC reports that RFC 8301 forbids: check-config says so, as serve
        # would at its start; a good one passes.
        path = os.path.join(SOURCE_DIR, "conf", "mxgate.toml")
        with tempfile.TemporaryDirectory() as folder:
            for bits in (768, 2048):
                key = os.path.join(folder, f"dkim{bits}.pem")
                run_tool(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          f"rsa_keygen_bits:{bits}", "-out", key])
                signed = ["-o", "dmarc_reports.enabled=true", "-o", f"dmarc_reports.dkim_key={key}",
                          "-o", "dmarc_reports.dkim_selector=reports",
                          "-o", f"storage.path={folder}/store"]
                result = run_mxgate(["check-config", "-c", path, *signed])
                if bits == 768:
                    self.assertEqual(result.returncode, 1, result.stderr)
                    self.assertIn(f"dmarc_reports.dkim_key: '{key}' holds a 768-bit RSA key; "
                                  "DKIM needs at least 1024 (RFC 8301)", result.stderr)
                    result = run_mxgate(["serve", "-c", path, *signed,
                                         "-o", 'server.listen=["127.0.0.1:0"]',
                                         "-o", 'http.listen="127.0.0.1:0"',
                                         "-o", 'portal.listen="127.0.0.1:0"'])
                    self.assertEqual(result.returncode, 1, result.stderr)
                    self.assertIn("holds a 768-bit RSA key", result.stderr)
                else:
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertRegex(result.stdout, r"(?m)^dkim_selector = \"reports\"$")
                    self.assertRegex(result.stdout, r"(?m)^dkim_domain = \"\S+\"$")

    def test_check_config_reports_a_bad_override(self):
        path = os.path.join(SOURCE_DIR, "conf", "mxgate.toml")
        result = run_tool([mxgate_bin(), "check-config", "-c", path,
                           "-o", "server.max_recipients=0"])
        err = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 78, err)
        self.assertIn("server.max_recipients", err)

    def test_relative_paths_are_relative_to_the_configuration_file(self):
        # The reviewer's case: `cd /tmp && mxgate rep set ... -c /path/conf/mxgate.toml` wrote
        # into /tmp/var/mxgate.
        with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cwd:
            path = write_config(folder, "conf/mxgate.toml",
                                '[storage]\npath = "../var/mxgate"\n'
                                '[http]\nlisten = "127.0.0.1:0"\n'
                                '[portal]\nlisten = "127.0.0.1:0"\n' + ROUTE)
            store = os.path.join(folder, "var", "mxgate")
            result = run_mxgate(["check-config", "-c", path], cwd=cwd)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f'path = "{store}"\n', result.stdout)
            self.assertIn(f'path = "{store}/queue"\n', result.stdout)
            # Without a store the tool refuses and makes nothing, here or there...
            result = run_mxgate(["rep", "set", "192.0.2.9", "--block", "-c", path], cwd=cwd)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(f"no reputation store at {store} (storage.path in {path})",
                          result.stderr)
            self.assertFalse(os.path.exists(store))
            # ... and with --create it makes the one the configuration names.
            result = run_mxgate(["rep", "set", "192.0.2.9", "--block", "--create", "-c", path],
                                cwd=cwd)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(os.path.isdir(store), os.listdir(folder))
            self.assertEqual(os.listdir(cwd), [])
            result = run_mxgate(["rep", "get", "192.0.2.9", "-c", path], cwd=cwd)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("block", result.stdout)
            # An override is resolved the same way.
            result = run_mxgate(["check-config", "-c", path, "-o", "storage.path=spool"],
                                cwd=cwd)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f'path = "{folder}/conf/spool"\n', result.stdout)

    def test_shipped_configuration_keeps_its_state_in_the_repositorys_var(self):
        with tempfile.TemporaryDirectory() as cwd:
            result = run_mxgate(["check-config", "-c", os.path.join(SOURCE_DIR, "conf",
                                                                    "mxgate.toml")], cwd=cwd)
        self.assertEqual(result.returncode, 0, result.stderr)
        store = os.path.normpath(os.path.join(SOURCE_DIR, "var", "mxgate"))
        self.assertIn(f'\n[storage]\npath = "{store}"\n', result.stdout)

    def test_a_misspelt_required_key_is_reported_as_the_unknown_key(self):
        with tempfile.TemporaryDirectory() as folder:
            path = write_config(folder, "bad.toml",
                                '[[route]]\ndomains = ["example.com"]\n'
                                'downstreams = ["127.0.0.1:2526"]\n')
            for command in ("check-config", "serve"):
                err = self.config_error([command, "-c", path])
                self.assertIn(f'{path}:3: route[0].downstreams: unknown key; did you mean '
                              '"downstream"?', err)
                self.assertNotIn("is required", err)

    def test_an_unclosed_bracket_is_reported_where_it_opens(self):
        cases = [
            ("array", 'listen = ["127.0.0.1:2525"\n', 2, "'['"),
            ("array over lines", 'proxy_trusted = [\n  "127.0.0.0/8",\n  "::1/128"\n', 2, "'['"),
            ("inline table over lines", 'x = {a = [1,\n2]\n', 2, "'{'"),
        ]
        with tempfile.TemporaryDirectory() as folder:
            for name, value, line, bracket in cases:
                with self.subTest(name):
                    path = write_config(folder, "bad.toml",
                                        "[server]\n" + value + "\n# a comment\n" * 6
                                        + "\nmax_sessions = 5\n" + ROUTE)
                    err = self.config_error(["check-config", "-c", path])
                    self.assertIn(f"{path}:{line}: invalid TOML: the {bracket} on this line is "
                                  "never closed (noticed at line ", err)
            path = write_config(folder, "bad.toml", "# mxgate\n\n[server\nworkers = 1\n")
            err = self.config_error(["check-config", "-c", path])
            self.assertIn(f"{path}:3: invalid TOML: ", err)

    def test_a_missing_file_is_named_by_its_absolute_path_without_a_line(self):
        with tempfile.TemporaryDirectory() as cwd:
            for command in ("check-config", "serve"):
                err = self.config_error([command, "-c", "absent.toml"], cwd=cwd)
                self.assertEqual(err, "mxgate: configuration error: cannot read "
                                 f"{os.path.realpath(cwd)}/absent.toml: No such file or directory\n")

    def test_an_override_error_names_the_option(self):
        path = os.path.join(SOURCE_DIR, "conf", "mxgate.toml")
        for command in ("check-config", "serve"):
            err = self.config_error([command, "-c", path, "-o", "server.max_recipients=abc"])
            self.assertEqual(err, "mxgate: configuration error: -o server.max_recipients=abc: "
                             'expected an integer, got the string "abc"\n')

    def test_a_store_that_cannot_be_created_names_the_key_and_the_resolved_path(self):
        with tempfile.TemporaryDirectory() as folder:
            write_config(folder, "blocker", "a file, not a directory\n")
            path = write_config(folder, "mxgate.toml",
                                '[server]\nlisten = ["127.0.0.1:0"]\n'
                                '[http]\nlisten = "127.0.0.1:0"\n'
                                '[portal]\nlisten = "127.0.0.1:0"\n'
                                '[storage]\npath = "blocker/store"\n' + ROUTE)
            store = os.path.join(folder, "blocker", "store")
            err = self.config_error(["check-config", "-c", path])
            self.assertIn(f"storage.path ({path}:8): cannot create {store}: "
                          f"{folder}/blocker is not a directory", err)
            err = self.config_error(["serve", "-c", path])
            self.assertIn(f"storage.path ({path}:8): cannot create {store}: Not a directory",
                          err)

            # A directory the server's user may not write in: as root, check-config checks for
            # the directory's owner.
            locked = os.path.join(folder, "locked")
            os.mkdir(locked, 0o555)
            if os.geteuid() == 0:
                os.chown(locked, 65534, 65534)
                os.chmod(folder, 0o755)  # else nobody cannot even reach it
            err = self.config_error(["check-config", "-c", path,
                                     "-o", "storage.path=locked/store"])
            self.assertIn(f"storage.path (-o storage.path=locked/store): cannot create "
                          f"{locked}/store: {locked} is not writable by user ", err)
            if os.geteuid() != 0:
                err = self.config_error(["serve", "-c", path, "-o", "storage.path=locked/store"])
                self.assertIn(f"cannot create {locked}/store: Permission denied", err)

    def config_error(self, args, cwd=None):
        """stderr of a command that must fail with a configuration error (exit 78)."""
        result = run_mxgate(args, cwd=cwd)
        self.assertEqual(result.returncode, 78, result.stdout + result.stderr)
        self.assertNotIn(":0:", result.stderr)
        return result.stderr

    def test_version_prints_the_version(self):
        result = run_tool([mxgate_bin(), "version"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.decode(),
                         r"^mxgate \d+\.\d+\.\d+\S* \(commit ([0-9a-f]{12}|unknown)\)\n$")


if __name__ == "__main__":
    unittest.main()
