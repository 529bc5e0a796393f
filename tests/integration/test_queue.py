"""Queue mode end to end (issue 7, first part): the real binary with relay.mode = "queue",
Python's smtplib as the client and Postfix's smtp-sink downstream. A message is answered
"250 2.0.0 Ok: queued as <id>" once it is on disk and then delivered; a downstream that is down
keeps messages queued until it comes back, and a downstream that keeps failing has its circuit
opened and probed; queued messages survive a restart; a recipient the downstream refuses for good
is not retried; `mxgate queue` works on a running server (admin API) and on a stopped one, and in
inline mode says there is no queue, unless a spool from an earlier queue-mode period still holds
messages."""

import os
import re
import smtplib

from harness import MxTestCase, Sink, mxgate_bin, run_tool, wait_until

QUEUED = re.compile(r"2\.0\.0 Ok: queued as ([0-9A-F]{16})$")


class QueueTest(MxTestCase):

    def start(self, downstream, routes=None, **settings):
        config = {"relay.mode": "queue", "queue.poll_interval": "100ms", "queue.retry": ["1s"],
                  "relay.breaker_cooldown": "1s"}
        config.update(settings)
        return self.mxgate(downstream=downstream, settings=config, routes=routes)

    def send(self, mx, count, rcpts=("user@example.com",), sender="sender@example.org"):
        ids = []
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=10) as client:
            for i in range(count):
                client.ehlo("client.example.org")
                client.mail(sender)
                for rcpt in rcpts:
                    code, _ = client.rcpt(rcpt)
                    self.assertEqual(code, 250)
                code, text = client.data(b"Subject: queued %d\r\n\r\nbody %d\r\n" % (i, i))
                self.assertEqual(code, 250, text)
                match = QUEUED.match(text.decode())
                self.assertTrue(match, text)
                ids.append(match.group(1))
        return ids

    def test_queued_then_delivered(self):
        sink = self.sink()
        mx = self.start(sink.address)
        ids = self.send(mx, 3)
        self.assertEqual(len(set(ids)), 3)
        messages = sink.wait_for_messages(3)
        self.assertEqual(sorted(m.content.split(b"Subject: ")[1][:8] for m in messages),
                         [b"queued 0", b"queued 1", b"queued 2"])
        for m in messages:
            self.assertTrue(m.content.startswith(b"Received: "), m.content[:80])
        wait_until(lambda: mx.log().count("outcome=done") >= 3, 30, what="three deliveries done")
        self.assertEqual(mx.metric('mxgate_queue_deliveries_total{result="done"}'), 3)
        self.assertEqual(mx.metric("mxgate_queue_commit_seconds_count"), 3)
        # The gauges are refreshed every reputation.flush_interval (1 s).
        wait_until(lambda: (mx.metric("mxgate_queue_messages_per_fsync") or 0) > 0, 30,
                   what="messages per fsync")
        wait_until(lambda: mx.metric("mxgate_queue_depth") == 0, 30, what="an empty queue")
        result = run_tool(["promtool", "check", "metrics"], input=mx.metrics().encode())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_a_downstream_that_is_down_gets_the_mail_when_it_comes_back(self):
        port = self.reserve_port()  # the downstream is down until a Sink starts there
        mx = self.start(f"127.0.0.1:{port}")
        self.send(mx, 2)
        wait_until(lambda: mx.log().count("outcome=deferred") >= 2, 30,
                   what="both messages deferred")
        sink = Sink(port=port)
        sink.__enter__()
        self.addCleanup(sink.__exit__, None, None, None)
        self.assertEqual(len(sink.wait_for_messages(2, timeout=60)), 2)
        self.assertGreaterEqual(mx.metric('mxgate_queue_deliveries_total{result="deferred"}'), 2)

    def test_the_queue_commands_on_a_running_and_a_stopped_server(self):
        port = self.reserve_port()  # the downstream is down until a Sink starts there
        mx = self.start(f"127.0.0.1:{port}")
        first, second = self.send(mx, 2)

        def queue(*args):
            # A message that a runner is delivering at that moment is left alone: "try again".
            def done():
                result = run_tool([mxgate_bin(), "queue", *args, "-c", mx.config_path])
                return b"is being delivered now" not in result.stderr and result
            return wait_until(done, 30, what=f"queue {args} on a message not being delivered")

        wait_until(lambda: mx.log().count("outcome=deferred") >= 2, 30, what="attempts made")
        # Running: through the admin API, with the same output as on a stopped server.
        listed = queue("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        text = listed.stdout.decode()
        self.assertIn(f"{first}  ", text)
        self.assertIn(f"{second}  ", text)
        self.assertRegex(text, r"pending   <user@example\.com>  451 4\.4\.1 ")
        self.assertTrue(text.endswith("-- 2 messages queued\n"), text)
        shown = queue("show", first)
        self.assertEqual(shown.returncode, 0)
        self.assertIn(b"Subject: queued 0", shown.stdout)
        deleted = queue("delete", first)
        self.assertEqual((deleted.returncode, deleted.stdout), (0, f"{first} deleted\n".encode()))
        missing = queue("show", first)
        self.assertEqual(missing.returncode, 1)
        self.assertIn(f"no queued message {first}".encode(), missing.stderr)
        malformed = queue("show", "not-an-id")
        self.assertEqual(malformed.returncode, 2)  # a usage error, before anything is asked
        self.assertIn(b"'not-an-id' is not a queue id", malformed.stderr)
        self.assertRegex(queue("retry", "--all").stdout.decode(), r"^1 message due now")
        self.assertRegex(queue("stats").stdout.decode(), r"^depth 1\noldest .+\ndead 0\n$")
        self.assertIn("admin_queue op=DELETE id=" + first, mx.log())
        self.assertEqual(mx.admin("GET", "/admin/queue/stats")[0], 200)
        self.assertEqual(mx.http("/admin/queue/stats")[0], 401, "not without the token")
        self.assertEqual(mx.stop(), 0)
        # Stopped: the command opens the spool itself.
        listed = queue("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertNotIn(f"{first}  ", listed.stdout.decode())
        self.assertTrue(listed.stdout.decode().endswith("-- 1 message queued\n"))
        retried = queue("retry", second)
        self.assertEqual((retried.returncode, retried.stdout), (0, f"{second} due now\n".encode()))
        self.assertEqual(queue("delete", second).returncode, 0)
        self.assertEqual(queue("delete", second).returncode, 1)
        self.assertRegex(queue("stats").stdout.decode(), r"^depth 0\noldest -\ndead 0\n$")

    def test_inline_mode_has_no_queue_unless_an_old_spool_holds_messages(self):
        def queue(mx, *args):
            return run_tool([mxgate_bin(), "queue", *args, "-c", mx.config_path])

        def no_queue(mx, result):
            self.assertEqual(result.returncode, 1, result)
            self.assertEqual(result.stdout, b"")
            self.assertIn(f'mxgate queue: queue mode is off (relay.mode = "inline" in '
                          f'{mx.config_path}); there is no queue'.encode(), result.stderr)

        # Never in queue mode: every command says so, running or stopped, and makes nothing.
        mx = self.mxgate(settings={"relay.mode": "inline"})
        spool = os.path.join(mx.settings()["storage.path"], "queue")
        for args in (("stats",), ("list",), ("show", "0123"), ("retry", "--all"),
                     ("delete", "0123")):
            no_queue(mx, queue(mx, *args))
        self.assertEqual(mx.stop(), 0)
        no_queue(mx, queue(mx, "list"))
        self.assertFalse(os.path.exists(spool))

        # A spool left by a queue-mode period, then inline again: the commands work on it.
        port = self.reserve_port()  # the downstream is down: the messages stay queued
        queued = self.start(f"127.0.0.1:{port}",
                            **{"storage.path": mx.settings()["storage.path"]})
        first, second = self.send(queued, 2)
        self.assertEqual(queued.stop(), 0)
        back = self.mxgate(settings={"relay.mode": "inline",
                                     "storage.path": mx.settings()["storage.path"]})
        listed = queue(back, "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertTrue(listed.stdout.decode().endswith("-- 2 messages queued\n"), listed.stdout)
        self.assertIn(b"holds 2 messages (0 dead); working on it", listed.stderr)
        self.assertEqual(queue(back, "delete", first).returncode, 0)
        self.assertEqual(queue(back, "delete", second).returncode, 0)
        no_queue(back, queue(back, "stats"))  # drained: no queue again
        self.assertEqual(back.stop(), 0)

    def test_a_failing_downstream_opens_its_circuit_and_is_probed_until_it_is_back(self):
        port = self.reserve_port()  # the downstream is down until a Sink starts there
        mx = self.start(f"127.0.0.1:{port}", **{"relay.breaker_failures": 2})
        self.send(mx, 3)
        wait_until(lambda: "relay_circuit downstream=127.0.0.1:%d state=open" % port in mx.log(),
                   30, what="the circuit opened")
        errors = 'mxgate_downstream_errors_total{downstream="127.0.0.1:%d",kind="%s"}'
        wait_until(lambda: (mx.metric(errors % (port, "circuit_open")) or 0) >= 1, 30,
                   what="an attempt refused at once")
        wait_until(lambda: (mx.metric("mxgate_downstream_circuit_opens_total") or 0) >= 1, 30,
                   what="the opening counted")
        open_circuits = 'mxgate_downstream_open_circuits{downstream="127.0.0.1:%d"}' % port
        wait_until(lambda: mx.metric(open_circuits) == 1, 30, what="the gauge of that downstream")
        connects = mx.metric(errors % (port, "connect"))
        sink = Sink(port=port)
        sink.__enter__()
        self.addCleanup(sink.__exit__, None, None, None)
        self.assertEqual(len(sink.wait_for_messages(3, timeout=60)), 3)
        self.assertIn("relay_circuit downstream=127.0.0.1:%d state=closed" % port, mx.log())
        wait_until(lambda: mx.metric(open_circuits) == 0, 30, what="no open circuit")
        self.assertGreaterEqual(connects, 2)

    def test_queued_mail_survives_a_restart(self):
        port = self.reserve_port()  # the downstream is down until a Sink starts there
        mx = self.start(f"127.0.0.1:{port}")
        self.send(mx, 2)
        self.assertEqual(mx.stop(), 0)
        sink = Sink(port=port)
        sink.__enter__()
        self.addCleanup(sink.__exit__, None, None, None)
        mx2 = self.start(f"127.0.0.1:{port}", **{"storage.path": mx.settings()["storage.path"]})
        self.assertRegex(mx2.log(), r"queue_opened path=\S+ depth=2 ")
        self.assertEqual(len(sink.wait_for_messages(2, timeout=60)), 2)

    def test_a_permanent_refusal_is_bounced_to_the_sender_through_the_same_relay(self):
        refusing = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        senders = self.sink()
        mx = self.start(refusing.address, routes=[
            {"domains": ["example.com"], "downstream": [refusing.address]},
            {"domains": ["example.org"], "downstream": [senders.address]}])
        (queued,) = self.send(mx, 1)
        (dsn,) = senders.wait_for_messages(1, timeout=60)
        self.assertEqual(dsn.mail_from, "<>")
        self.assertEqual(dsn.rcpts, ["<sender@example.org>"])
        text = dsn.content.decode()
        self.assertIn("Content-Type: multipart/report; report-type=delivery-status;", text)
        self.assertIn("Final-Recipient: rfc822; user@example.com\nAction: failed\nStatus: 5.1.1\n"
                      "Diagnostic-Code: smtp; 550 5.1.1 No such user", text)
        self.assertIn(f"X-Mxgate-Queue-ID: {queued}", text)
        self.assertIn("Subject: queued 0", text, "the original header is attached")
        wait_until(lambda: "outcome=done delivered=1" in mx.log(), 30, what="the DSN delivered")
        self.assertEqual(mx.metric("mxgate_queue_dsns_total"), 1)
        # The message and its DSN have left the queue: nothing is left to try again.
        mx.wait_queue_empty()
        self.assertEqual(mx.log().count("delivery id="), 2)

    def test_a_bounce_that_bounces_is_dead_lettered(self):
        refusing = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        mx = self.start(refusing.address)
        self.send(mx, 1, sender="")
        wait_until(lambda: "outcome=dead" in mx.log(), 30, what="the bounce dead-lettered")
        self.assertEqual(mx.metric('mxgate_queue_deliveries_total{result="dead"}'), 1)
        # Buried: out of the queue, nothing is left to try again.
        mx.wait_queue_empty()
        self.assertEqual(mx.log().count("delivery id="), 1)
