"""The policy pipeline end to end: transaction outcomes are recorded in the reputation store and
come back as signals (a sender whose mail was mostly refused scores reject_ratio); score-based
rejects decided at connect are answered at RCPT (delay_reject) with the portal link; an allow
listing bypasses that score; an observe-mode check only logs and counts; a score between
quarantine_at and the refusal thresholds sends mail to the quarantine route, marked; a listing
made while a client's record is cached applies to its next connection."""

import email.utils
import os
import re
import unittest

from harness import (MxTestCase, SmtpClient, module_tempdir, mxgate_bin, run_tool, send_message,
                     wait_until)
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"
SENDER_IP = "192.0.2.10"



def well_formed(subject, body):
    """A message with the header fields RFC 5322 asks for, so that the format check (issue 17)
    adds nothing to the scores these tests are about."""
    return (f"From: <sender@sender.example>\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: {email.utils.make_msgid(domain='sender.example')}\r\n"
            f"Subject: {subject}\r\n\r\n{body}\r\n").encode()

class PolicyTest(MxTestCase):

    def setUp(self):
        super().setUp()
        self.store = os.path.join(module_tempdir(), f"store-{self.id().rsplit('.', 1)[-1]}")

    def start(self, sink=None, **settings):
        settings.setdefault("storage.path", self.store)
        settings.setdefault("reputation.flush_interval", "100ms")
        mx = self.mxgate(sink, settings=settings, proxy=True)
        self.proxy_port = mx.proxy_port
        return mx

    def client(self, ip=SENDER_IP):
        c = SmtpClient(self.proxy_port)
        c.send(proxy_v1(ip))
        return c

    def rep(self, mx, *args):
        result = run_tool([mxgate_bin(), "rep", *args, "-c", mx.config_path])
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        return result.stdout.decode()

    def earn_reject_ratio(self, mx, ip=SENDER_IP, refusals=24):
        """Makes `ip`'s history mostly refused: RCPTs for a domain that is not ours (550 5.7.1,
        counted as rejected), in sessions of 8 to stay under server.max_errors. The null sender
        keeps the refusals off any sender domain's record."""
        for _ in range(refusals // 8):
            with self.client(ip) as c:
                self.assertEqual(c.reply()[0], 220)
                c.ehlo()
                self.assertEqual(c.cmd("MAIL FROM:<>")[0], 250)
                for i in range(8):
                    self.assertEqual(c.cmd(f"RCPT TO:<user{i}@not-ours.example>")[0], 550)
                c.cmd("QUIT")
        wait_until(lambda: (mx.metric('mxgate_reputation_updates_total{result="written"}') or 0)
                   >= refusals * 2, 5, what="outcomes counted")  # the IP and its /24

    def test_outcomes_become_a_score_reject_answered_at_rcpt_with_the_link(self):
        sink = self.sink()
        mx = self.start(sink, **{"reputation.reject_at": 3.0, "reputation.defer_at": 0.0})
        self.earn_reject_ratio(mx)

        def refused_at_rcpt():
            with self.client() as c:
                if c.reply()[0] != 220:  # delay_reject: never refused at connect
                    raise AssertionError("refused before the banner")
                c.ehlo()
                self.assertEqual(c.cmd("MAIL FROM:<bulk@sender.example>")[0], 250)
                return c.cmd("RCPT TO:<user@example.com>")
        # The counters reach the store within flush_interval.
        wait_until(lambda: refused_at_rcpt()[0] == 550, 30, interval=0.2, what="score reject")
        self.assertEqual(refused_at_rcpt(), (550, f"5.7.1 Blocked - see {URL}?ip={SENDER_IP}"))
        self.assertIn("postponed session=", mx.log())
        self.assertIn("signal=reject_ratio", mx.log())
        self.assertGreaterEqual(
            mx.metric('mxgate_verdicts_total{action="reject",signal="reject_ratio",stage="rcpt"}'),
            1)
        # A neighbour in the same /24 has its own history.
        with self.client("192.0.2.11") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo()
            code, text = send_message(c, "a@sender.example", ["user@example.com"],
                                      well_formed("neighbour", "hi"))
            self.assertEqual(code, 250, text)

        # The history survives a restart, and an allow listing bypasses the score.
        mx.stop()
        shown = self.rep(mx, "get", SENDER_IP)
        rejected = int(re.search(r"rejected=(\d+)", shown).group(1))
        self.assertGreaterEqual(rejected, 24, shown)
        self.assertIn("signal     reject_ratio", shown)
        self.rep(mx, "set", SENDER_IP, "--allow", "--reason", "known partner")
        mx2 = self.start(sink, **{"reputation.reject_at": 3.0, "reputation.defer_at": 0.0})
        with self.client() as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo()
            code, text = send_message(c, "bulk@sender.example", ["user@example.com"],
                                      well_formed("allowed", "hello"))
            self.assertEqual(code, 250, text)
        self.assertEqual(len(sink.wait_for_messages(2)), 2)
        self.assertNotIn("refused session=", mx2.log())

    def test_without_delay_reject_a_score_reject_refuses_at_connect(self):
        mx = self.start(**{"reputation.reject_at": 3.0, "reputation.defer_at": 0.0,
                           "reputation.delay_reject": False})
        self.earn_reject_ratio(mx)

        def banner():
            with self.client() as c:
                return c.reply()
        wait_until(lambda: banner()[0] == 554, 30, interval=0.2, what="connect reject")
        self.assertEqual(banner(), (554, f"5.7.1 Blocked - see {URL}?ip={SENDER_IP}"))

    def test_a_defer_score_gets_421_deferred_at_connect(self):
        mx = self.start(**{"reputation.defer_at": 3.0, "reputation.reject_at": 10.0})
        self.earn_reject_ratio(mx)

        def banner():
            with self.client() as c:
                return c.reply()
        wait_until(lambda: banner()[0] == 421, 30, interval=0.2, what="connect defer")
        self.assertEqual(banner(), (421, f"4.7.0 Deferred - see {URL}?ip={SENDER_IP}"))

    def test_an_observe_mode_check_only_logs_and_counts(self):
        self.blocked_store()
        sink = self.sink()
        mx = self.start(sink, **{"checks.ip_history.mode": "observe"})
        with self.client("192.0.2.66") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo()
            code, text = send_message(c, "a@sender.example", ["user@example.com"],
                                      well_formed("observed", "hi"))
            self.assertEqual(code, 250, text)
        self.assertEqual(len(sink.wait_for_messages(1)), 1)
        self.assertIn("observed session=", mx.log())
        self.assertIn("check=ip_history signal=manual_block action=reject", mx.log())
        self.assertEqual(mx.metric('mxgate_check_signals_total'
                                   '{check="ip_history",mode="observe",signal="manual_block"}'), 1)
        self.assertIsNone(mx.metric('mxgate_verdicts_total'
                                    '{action="reject",signal="manual_block",stage="connect"}'))

    def test_a_listing_reaches_a_client_whose_record_is_cached(self):
        mx = self.start(self.sink())
        for _ in range(3):  # the first lookup fills the record cache, the others hit it
            with self.client("192.0.2.77") as c:
                self.assertEqual(c.reply()[0], 220)
                c.cmd("QUIT")
        mx.wait_metric('mxgate_reputation_cache_hits_total{cache="record"}', lambda v: v >= 2)
        self.rep(mx, "set", "192.0.2.77", "--block", "--reason", "cached then listed")
        with self.client("192.0.2.77") as c:
            code, text = c.reply()
            self.assertEqual(code, 554, text)
            self.assertIn(f"Blocked - see {URL}?ip=192.0.2.77", text)
        self.rep(mx, "del", "192.0.2.77")
        with self.client("192.0.2.77") as c:
            self.assertEqual(c.reply()[0], 220)

    def blocked_store(self):
        config = self.store + ".toml"
        with open(config, "w") as f:  # http.listen: a held port where nothing listens
            f.write(f'[storage]\npath = "{self.store}"\n\n'
                    f'[http]\nlisten = "127.0.0.1:{self.reserve_port()}"\n\n'
                    '[[route]]\ndomains = ["example.com"]\ndownstream = ["127.0.0.1:25"]\n')
        result = run_tool([mxgate_bin(), "rep", "set", "192.0.2.66", "--block", "--create",
                           "-c", config])
        self.assertEqual(result.returncode, 0, result.stderr.decode())

    def test_a_quarantine_score_routes_marked_mail_to_the_quarantine_downstream(self):
        sink = self.sink()
        quarantine = self.sink()
        mx = self.start(sink, **{"reputation.quarantine_at": 2.0,
                                 "reputation.quarantine_downstream": [quarantine.address]})
        self.earn_reject_ratio(mx)

        def quarantined():
            with self.client() as c:
                self.assertEqual(c.reply()[0], 220)
                c.ehlo()
                code, text = send_message(c, "bulk@sender.example", ["user@example.com"],
                                          well_formed("filtered", "body"))
                self.assertEqual(code, 250, text)
            return "quarantine=yes" in mx.log()
        wait_until(quarantined, 30, interval=0.2, what="quarantined message")
        message = quarantine.wait_for_messages(1)[0]
        self.assertIn(b"X-Mxgate-Quarantine: signal=reject_ratio; session=", message.raw)
        self.assertEqual(mx.metric("mxgate_quarantined_total"), 1)
        self.assertEqual(
            mx.metric('mxgate_verdicts_total'
                      '{action="quarantine",signal="reject_ratio",stage="end_of_data"}'), 1)
        # Mail before the history counted went to the route, unmarked; none after.
        for m in sink.messages():
            self.assertNotIn(b"X-Mxgate-Quarantine", m.raw)


if __name__ == "__main__":
    unittest.main()
