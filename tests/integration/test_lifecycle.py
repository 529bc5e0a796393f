"""The process and its sessions over time: deadlines, caps, load, reload, drain, the CLI."""

import os
import re
import signal
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

    def test_check_config_reports_a_bad_override(self):
        path = os.path.join(SOURCE_DIR, "conf", "mxgate.toml")
        result = run_tool([mxgate_bin(), "check-config", "-c", path,
                           "-o", "server.max_recipients=0"])
        err = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 78, err)
        self.assertIn("server.max_recipients", err)

    def test_version_prints_the_version(self):
        result = run_tool([mxgate_bin(), "version"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.decode(), r"^mxgate \d+\.\d+\.\d+\S*\n$")


if __name__ == "__main__":
    unittest.main()
