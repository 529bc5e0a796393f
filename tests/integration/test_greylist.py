"""Greylisting end to end (issue 20): a first attempt gets 451 with the portal link at RCPT, a
retry after greylist.min_delay is accepted and its message reaches the downstream (smtp-sink),
and the triplets survive a restart. Mode "all" greylists every untrusted client; mode
"doubtful" only a client whose score lands in the defer band (a DNSBL listing weighted between
defer_at and reject_at, served by a real DNS server), which used to get 421 at every retry."""

import re
import unittest

from dns_server import DEFAULT_ZONES, DnsServer
from harness import MxTestCase, SmtpClient, wait_until
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"
GREYLIST_ALL = {"greylist.enabled": True, "greylist.mode": "all", "greylist.min_delay": "1s",
                # Clients come from 127.0.0.1, trusted by default; trusted clients skip it.
                "reputation.trusted_networks": []}


def greylisted(ip):
    return (451, f"4.7.1 Greylisted - see {URL}?ip={ip}")


class Attempts:
    """Sessions as an MTA's delivery attempts (for an MxTestCase)."""

    def wait_log(self, mx, pattern):
        wait_until(lambda: re.search(pattern, mx.log()), 30, what=f"a log line like {pattern}")

    def attempt(self, port, rcpt, mail_from="a@example.org", ip=None, body=None):
        """One session as an MTA's delivery attempt: the RCPT's reply, and with `body` and a
        250 the DATA's final reply too (code, text, final)."""
        with SmtpClient(port) as c:
            if ip:
                c.send(proxy_v1(ip))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.org")
            self.assertEqual(c.cmd(f"MAIL FROM:<{mail_from}>")[0], 250)
            code, text = c.cmd(f"RCPT TO:<{rcpt}>")
            final = None
            if code == 250 and body is not None:
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(body + b".\r\n")
                final = c.reply()
            c.cmd("QUIT")
            return code, text, final

    def retry_until_accepted(self, port, rcpt, timeout=30, **kwargs):
        """Attempts until the RCPT is accepted, within `timeout`: (the early replies, the
        accepted attempt's final reply). Each attempt is a new session, as an MTA's retries
        are."""
        early = []

        def accepted():
            code, text, final = self.attempt(port, rcpt, **kwargs)
            if code == 250:
                return (final,)
            early.append((code, text))
            return None

        (final,) = wait_until(accepted, timeout, interval=0.1, what=f"RCPT {rcpt} accepted")
        return early, final


class GreylistTest(Attempts, MxTestCase):

    def test_first_attempt_waits_then_a_retry_passes_and_survives_a_restart(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings=GREYLIST_ALL)
        body = b"Subject: greylisted\r\n\r\nhello\r\n"
        code, text, _ = self.attempt(mx.port, "bob@example.com")
        self.assertEqual((code, text), greylisted("127.0.0.1"))
        self.assertEqual(mx.metric('mxgate_greylist_total{result="greylisted"}'), 1)
        self.wait_log(mx, r"refused .*stage=rcpt rcpt=bob@example.com action=defer "
                          r"by=greylist result=greylisted reply=451")
        self.assertEqual(sink.messages(), [])

        early, final = self.retry_until_accepted(mx.port, "bob@example.com", body=body)
        self.assertTrue(all(reply == greylisted("127.0.0.1") for reply in early), early)
        self.assertEqual(final[0], 250, final)
        messages = sink.wait_for_messages(1)
        self.assertEqual(messages[0].rcpts, ["<bob@example.com>"])
        self.assertEqual(mx.metric('mxgate_greylist_total{result="passed"}'), 1)
        self.assertEqual(mx.metric('mxgate_greylist_total{result="retried_early"}'), len(early))
        # Remembered: the next message of the triplet goes through at once.
        self.assertEqual(self.attempt(mx.port, "bob@example.com")[0], 250)
        self.assertEqual(mx.metric('mxgate_greylist_total{result="known"}'), 1)
        # Another recipient is another triplet; its wait starts before the restart.
        self.assertEqual(self.attempt(mx.port, "carol@example.com")[:2], greylisted("127.0.0.1"))
        wait_until(lambda: mx.metric("mxgate_greylist_entries") == 3, 30,
                   what="two triplets and the client IP in the entries gauge")

        self.assertEqual(mx.stop(), 0)
        mx.restart()
        self.wait_log(mx, r"throttle_loaded .*greylist=3")
        self.assertEqual(self.attempt(mx.port, "bob@example.com")[0], 250)
        early, _ = self.retry_until_accepted(mx.port, "carol@example.com")
        self.assertTrue(all(reply == greylisted("127.0.0.1") for reply in early), early)
        # The waiting triplet was not forgotten: no attempt after the restart was a first one.
        self.assertEqual(mx.metric('mxgate_greylist_total{result="greylisted"}'), 0)
        self.assertEqual(mx.metric('mxgate_greylist_total{result="known"}'), 1)
        self.assertEqual(mx.metric('mxgate_greylist_total{result="passed"}'), 1)

    def test_full_table_answers_451_and_does_not_grow(self):
        mx = self.mxgate(settings=dict(GREYLIST_ALL, **{"greylist.max_entries": 1}))
        self.assertEqual(self.attempt(mx.port, "bob@example.com")[:2], greylisted("127.0.0.1"))
        self.assertEqual(self.attempt(mx.port, "eve@example.com")[:2], greylisted("127.0.0.1"))
        self.assertEqual(mx.metric('mxgate_greylist_total{result="full"}'), 1)
        self.assertEqual(mx.metric('mxgate_greylist_total{result="greylisted"}'), 1)


class DoubtfulGreylistTest(Attempts, MxTestCase):
    """A DNSBL listing weighted 7: between defer_at (5) and reject_at (10)."""

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(dict(DEFAULT_ZONES))
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def start(self, sink, **settings):
        config = {"dns.servers": [self.dns.address], "reputation.trusted_networks": [],
                  **settings}
        return self.mxgate(sink, settings=config, proxy=True,
                           extra_tables=[("dnsbl", {"zone": "zone.example", "weight": 7.0})])

    def test_the_defer_band_is_greylisted_instead_of_deferred(self):
        sink = self.sink()
        mx = self.start(sink, **{"greylist.enabled": True, "greylist.mode": "doubtful",
                                 "greylist.min_delay": "1s"})
        # Well formed: the format checks add nothing to the band's score at the end of data.
        body = (b"From: <a@example.org>\r\nTo: <bob@example.com>\r\n"
                b"Date: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
                b"Subject: doubtful\r\n\r\nhello\r\n")
        # 127.0.0.2 is listed: score 7, doubtful. Greylisted at RCPT, not deferred at connect.
        code, text, _ = self.attempt(mx.proxy_port, "bob@example.com", ip="127.0.0.2")
        self.assertEqual((code, text), greylisted("127.0.0.2"))
        self.wait_log(mx, r"doubtful session=\S+ client=127.0.0.2 stage=connect "
                          r"signal=dnsbl_listed score=[0-9.]+ action=greylist")
        early, final = self.retry_until_accepted(mx.proxy_port, "bob@example.com",
                                                   ip="127.0.0.2", body=body)
        self.assertTrue(all(reply == greylisted("127.0.0.2") for reply in early), early)
        self.assertEqual(final[0], 250, final)
        self.assertEqual(len(sink.wait_for_messages(1)), 1)
        # 127.0.0.1 is not listed (score 0): not greylisted in this mode.
        code, _, final = self.attempt(mx.proxy_port, "bob@example.com", ip="127.0.0.1",
                                        body=body)
        self.assertEqual((code, final[0]), (250, 250))
        self.assertEqual(mx.metric('mxgate_greylist_total{result="greylisted"}'), 1)
        # Not counted as a deferral (the series is absent when nothing was counted).
        self.assertIn(mx.metric('mxgate_verdicts_total{action="defer",signal="dnsbl_listed",'
                                'stage="connect"}'), (None, 0))

    def test_without_greylisting_the_band_is_deferred_at_connect(self):
        mx = self.start(self.sink())
        with SmtpClient(mx.proxy_port) as c:
            c.send(proxy_v1("127.0.0.2"))
            self.assertEqual(c.reply(), (421, f"4.7.0 Deferred - see {URL}?ip=127.0.0.2"))


if __name__ == "__main__":
    unittest.main()
