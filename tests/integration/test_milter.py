"""Content filters over milter (issue 18), end to end: the real binary with [[milter]] entries
in front of Postfix's smtp-sink, the filters a pymilter test milter (milter_server.py) and
Debian's Rspamd in milter mode (milter_peers.py). What a user sees: the replies, the bytes at
the downstream, the log's refused lines, the metrics, what the filter was told."""

import unittest

from harness import MxTestCase, strip_received, wait_until
from milter_peers import GTUBE, Rspamd, TestMilter


def message(subject=b"hello", body=b"Hello there.\r\n", extra=b""):
    return (b"From: <a@example.org>\r\nTo: <u@example.com>\r\nSubject: " + subject + b"\r\n"
            b"Date: Mon, 7 Dec 2026 00:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n" + extra +
            b"\r\n" + body)


class MilterTest(MxTestCase):

    def peer(self, peer):
        peer.__enter__()
        self.addCleanup(peer.__exit__, None, None, None)
        return peer

    def start(self, sink, *filters, **settings):
        tables = [("milter", {"name": name, "address": address, "timeout": "3s", **extra})
                  for name, address, extra in filters]
        return self.mxgate(sink, settings=settings, extra_tables=tables)

    def send(self, mx, content, rcpt="u@example.com"):
        """One transaction; the replies to MAIL, RCPT and the end of data (None when an earlier
        one refused; a refused EHLO stands for MAIL's)."""
        with mx.connect(timeout=30) as c:
            ehlo = c.cmd("EHLO client.example.org")
            if ehlo[0] != 250:
                return ehlo, None, None
            mail = c.cmd("MAIL FROM:<a@example.org>")
            if mail[0] != 250:
                return mail, None, None
            rcpt_reply = c.cmd(f"RCPT TO:<{rcpt}>")
            if rcpt_reply[0] != 250:
                return mail, rcpt_reply, None
            data = c.cmd("DATA")
            if data[0] != 354:
                return mail, rcpt_reply, data
            c.send(content + b".\r\n")
            end = c.reply(timeout=30)
            c.cmd("QUIT")
            return mail, rcpt_reply, end

    def test_header_and_body_changes_reach_the_downstream(self):
        milter = self.peer(TestMilter(["--add-header", "X-Test:added",
                                       "--change-header", "Subject:1:changed",
                                       "--delete-header", "X-Spam"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        _, _, end = self.send(mx, message(extra=b"X-Spam: yes\r\n"))
        self.assertEqual(end[0], 250, end)
        [msg] = sink.wait_for_messages(1)
        received, rest = strip_received(msg.content)
        self.assertIsNotNone(received, msg.content[:300])  # our trace field still comes first
        self.assertIn(b"X-Test: added", rest)
        self.assertIn(b"Subject: changed", rest)
        self.assertNotIn(b"Subject: hello", rest)
        self.assertNotIn(b"X-Spam", rest)
        self.assertTrue(rest.endswith(b"Hello there.\n"), rest[-60:])
        # What the filter was told.
        connect = milter.wait_for_record(lambda r: r["stage"] == "connect")
        self.assertEqual(connect["macros"].get("{client_addr}"), "127.0.0.1")
        self.assertEqual(connect["macros"].get("j"), mx.settings()["server.hostname"])
        mail = milter.wait_for_record(lambda r: r["stage"] == "mail")
        self.assertEqual(mail["args"][0], "<a@example.org>")
        eom = milter.wait_for_record(lambda r: r["stage"] == "eom")
        self.assertEqual(eom["body_length"], len(b"Hello there.\r\n"))
        self.assertTrue(eom["macros"].get("i"))

    def test_changes_apply_in_queue_mode_too(self):
        milter = self.peer(TestMilter(["--add-header", "X-Test:queued", "--replace-body",
                                       "short\\n"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}), **{
            "relay.mode": "queue", "queue.poll_interval": "100ms", "queue.retry": ["1s"]})
        _, _, end = self.send(mx, message(body=b"a line of the body\r\n" * 10000))
        self.assertEqual(end[0], 250, end)
        self.assertIn("queued as", end[1])
        [msg] = sink.wait_for_messages(1)
        self.assertIn(b"X-Test: queued", msg.content)
        self.assertTrue(msg.content.endswith(b"\n\nshort\n"), msg.content[-80:])

    def test_a_replaced_body_is_relayed(self):
        milter = self.peer(TestMilter(["--replace-body", "new body\\n"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        self.assertEqual(self.send(mx, message())[2][0], 250)
        [msg] = sink.wait_for_messages(1)
        self.assertTrue(msg.content.endswith(b"\n\nnew body\n"), msg.content[-80:])

    def test_a_reject_gets_the_filters_text_and_nothing_is_relayed(self):
        milter = self.peer(TestMilter(["--reject", "550 5.7.1 no thanks"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        _, _, end = self.send(mx, message())
        self.assertEqual(end, (550, "5.7.1 no thanks"))
        self.assertIn("by=milter:test", mx.log())
        self.assertEqual(mx.metric('mxgate_verdicts_total{action="reject",'
                                   'signal="milter_reject",stage="end_of_data"}'), 1)
        self.assertEqual(mx.metric('mxgate_milter_actions_total{action="reject",'
                                   'milter="test"}'), 1)
        self.assertEqual(mx.metric('mxgate_milter_requests_total{milter="test",'
                                   'step="end_of_body"}'), 1)
        self.assertGreaterEqual(mx.metric('mxgate_milter_seconds_count{milter="test"}'), 5)
        self.assertEqual(sink.messages(), [])

    def test_a_refusal_at_rcpt_answers_that_recipient(self):
        milter = self.peer(TestMilter(["--reject", "550 5.7.1 nope", "--reject-at", "rcpt"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        _, rcpt, _ = self.send(mx, message())
        self.assertEqual(rcpt, (550, "5.7.1 nope"))

    def test_discard_accepts_and_drops(self):
        milter = self.peer(TestMilter(["--discard"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        self.assertEqual(self.send(mx, message())[2][0], 250)
        self.assertIn("discarded by the filter", mx.log())
        self.assertEqual(sink.messages(), [])

    def test_a_filter_that_hangs_gets_its_default_action(self):
        milter = self.peer(TestMilter(["--hang-at", "mail"]))
        sink = self.sink()
        mx = self.start(sink, ("slow", milter.address, {"timeout": "1s"}))
        mail, _, _ = self.send(mx, message())
        self.assertEqual(mail[0], 451, mail)
        self.assertIn("default_action of milter slow", mx.log())
        self.assertEqual(mx.metric('mxgate_milter_errors_total{kind="timeout",milter="slow"}'), 1)

        accepting = self.peer(TestMilter(["--hang-at", "mail"]))
        sink2 = self.sink()
        mx2 = self.start(sink2, ("slow", accepting.address,
                                 {"timeout": "1s", "default_action": "accept"}))
        self.assertEqual(self.send(mx2, message())[2][0], 250)
        sink2.wait_for_messages(1)

    def test_a_filter_that_is_down_defers_every_transaction(self):
        sink = self.sink()
        mx = self.start(sink, ("gone", "unix:/nonexistent/milter.sock", {}))
        # The banner is a 220; then every command the filter would hear gets its 4xx.
        ehlo, _, _ = self.send(mx, message())
        self.assertEqual(ehlo[0], 451, ehlo)
        self.assertTrue(ehlo[1].startswith("4.7.1 "), ehlo)
        self.assertEqual(mx.metric('mxgate_milter_errors_total{kind="connect",milter="gone"}'), 1)

    def test_rspamd_stopped_gets_the_default_action(self):
        rspamd = self.peer(Rspamd())
        sink = self.sink()
        tempfail = self.start(sink, ("rspamd", rspamd.address, {"timeout": "10s"}))
        accept = self.start(sink, ("rspamd", rspamd.address,
                                   {"timeout": "10s", "default_action": "accept"}))
        self.assertEqual(self.send(tempfail, message())[2][0], 250)  # while it runs
        sink.wait_for_messages(1)
        rspamd.stop()
        mail, _, _ = self.send(tempfail, message())
        self.assertEqual(mail[0], 451, mail)
        self.assertEqual(self.send(accept, message())[2][0], 250)
        sink.wait_for_messages(2)

    def test_quarantine_goes_to_the_quarantine_route_marked(self):
        milter = self.peer(TestMilter(["--quarantine", "held for review"]))
        sink = self.sink()
        quarantine = self.sink()
        mx = self.start(sink, ("test", milter.address, {}),
                        **{"reputation.quarantine_downstream": [quarantine.address]})
        self.assertEqual(self.send(mx, message())[2][0], 250)
        [msg] = quarantine.wait_for_messages(1)
        self.assertIn(b"X-Mxgate-Quarantine: source=milter; session=", msg.content)
        self.assertIn(b'reason="held for review"', msg.content)
        self.assertEqual(sink.messages(), [])

    def test_rspamd_rejects_gtube_and_marks_clean_mail(self):
        rspamd = self.peer(Rspamd())
        sink = self.sink()
        # reuse = "always": the second session goes over the first one's connection.
        mx = self.start(sink, ("rspamd", rspamd.address, {"timeout": "10s", "reuse": "always"}),
                        **{"server.workers": 1})
        _, _, end = self.send(mx, message(body=GTUBE.encode() + b"\r\n"))
        self.assertEqual(end, (554, "5.7.1 Gtube pattern"))
        # The session's line is logged once its filters were told it ended.
        wait_until(lambda: "end=quit" in mx.log(), 10, what="the first session's end")
        _, _, clean = self.send(mx, message())
        self.assertEqual(clean[0], 250, clean)
        [msg] = sink.wait_for_messages(1)
        self.assertIn(b"X-Rspamd-Action: no action", msg.content)
        self.assertIn(b"X-Spam-Status: No", msg.content)
        self.assertEqual(mx.metric('mxgate_milter_connections_total{milter="rspamd",'
                                   'reused="true"}'), 1)
        self.assertEqual(mx.metric('mxgate_milter_connections_total{milter="rspamd",'
                                   'reused="false"}'), 1)

    def test_the_body_streams_to_the_filter_as_it_arrives(self):
        milter = self.peer(TestMilter())
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        body = b"a line of a long body, sent in two halves\r\n" * 6000  # about 260 KB
        with mx.connect(timeout=30) as c:
            for command in ("EHLO client.example.org", "MAIL FROM:<a@example.org>",
                            "RCPT TO:<u@example.com>"):
                self.assertEqual(c.cmd(command)[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(message(body=body[:len(body) // 2]))
            # The filter has the header and body pieces while the client is still sending.
            milter.wait_for_record(lambda r: r["stage"] == "eoh", timeout=10)
            milter.wait_for_record(lambda r: r["stage"] == "body", timeout=10)
            self.assertFalse([r for r in milter.records() if r["stage"] == "eom"])
            c.send(body[len(body) // 2:] + b".\r\n")
            end = c.reply(timeout=30)
            self.assertEqual(end[0], 250, end)
        eom = milter.wait_for_record(lambda r: r["stage"] == "eom")
        self.assertEqual(eom["body_length"], len(body))
        [msg] = sink.wait_for_messages(1)
        self.assertTrue(msg.content.endswith(body.replace(b"\r\n", b"\n")), msg.content[-80:])

    def test_a_refusal_while_the_body_streams_is_the_answer_to_the_message(self):
        milter = self.peer(TestMilter(["--reject", "550 5.7.1 not this body",
                                       "--reject-at", "body"]))
        sink = self.sink()
        mx = self.start(sink, ("test", milter.address, {}))
        _, _, end = self.send(mx, message(body=b"x" * 70 + b"\r\n" * 3000))
        self.assertEqual(end, (550, "5.7.1 not this body"))
        self.assertEqual(mx.metric('mxgate_milter_requests_total{milter="test",'
                                   'step="end_of_body"}'), 0)
        self.assertEqual(sink.messages(), [])

    def test_a_filter_connection_is_kept_between_sessions(self):
        # A libmilter filter takes QUIT_NC only after a message it let continue ("after_message",
        # the default); one that accepts at the end of the message gets a connection a session.
        continuing = self.peer(TestMilter(["--eom-continue"]))
        accepting = self.peer(TestMilter())
        sink = self.sink()
        mx = self.start(sink, ("continuing", continuing.address, {}),
                        ("accepting", accepting.address, {}),
                        **{"server.workers": 1})  # kept connections are per worker
        for session in range(1, 4):
            self.assertEqual(self.send(mx, message())[2][0], 250)
            # mxgate answers QUIT before it ends the filters' session: wait for that end, so
            # that the next session finds the connection kept.
            for milter in (continuing, accepting):
                milter.wait_for_record(lambda r: r["stage"] == "close" and r["conn"] == session)
        sink.wait_for_messages(3)
        records = continuing.records()
        self.assertEqual(len([r for r in records if r["stage"] == "negotiate"]), 1, records)
        self.assertEqual(len([r for r in records if r["stage"] == "connect"]), 3, records)
        self.assertEqual(len([r for r in accepting.records() if r["stage"] == "negotiate"]), 3)
        self.assertEqual(mx.metric('mxgate_milter_connections_total{milter="continuing",'
                                   'reused="true"}'), 2)
        self.assertEqual(mx.metric('mxgate_milter_connections_total{milter="accepting",'
                                   'reused="true"}'), 0)


if __name__ == "__main__":
    unittest.main()
