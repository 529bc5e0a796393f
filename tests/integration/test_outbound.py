"""Bounces that reach senders outside every route (issue 20), end to end: queue mode, a
downstream that refuses the recipient for good, and the sender's domain found through a real
DNS server (NSD with the zones below). The DSN goes to the domain's mail exchanger, a real
Postfix with a certificate (opportunistic STARTTLS) that relays to smtp-sink; a domain without
MX records is its own exchanger; a null MX (RFC 7505) drops the DSN and logs it; a domain that
does not exist dead-letters it; with [outbound] bounce_relay the DSN goes to the smarthost
instead. Mail from clients never leaves this way: relaying to an outside domain stays denied."""

import re
import unittest

from dns_server import DnsServer
from harness import MxTestCase, SmtpClient, certificate, wait_until
from postfix_peer import start_postfix

ZONES = {
    "sender.test": "@ MX 10 mx\nmx A 127.0.0.1\n",
    "implicit.test": "@ A 127.0.0.1\n",   # no MX: the domain is its own exchanger
    "nullmx.test": "@ MX 0 .\n@ A 127.0.0.1\n",
}


class OutboundTest(MxTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(ZONES)
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def start(self, outbound_port, **settings):
        """mxgate in queue mode whose one route (example.com) refuses every recipient."""
        refusing = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        config = {"relay.mode": "queue", "queue.poll_interval": "100ms",
                  "dns.servers": [self.dns.address], "outbound.port": outbound_port}
        config.update(settings)
        return self.mxgate(refusing, settings=config)

    def send(self, mx, sender, rcpt="nobody@example.com"):
        with SmtpClient(mx.port) as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("client.example.org")
            self.assertEqual(c.cmd(f"MAIL FROM:<{sender}>")[0], 250)
            self.assertEqual(c.cmd(f"RCPT TO:<{rcpt}>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: to bounce\r\n\r\nhello\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250)
            return re.search(r"queued as (\S+)", text).group(1)

    def recipient_line(self, mx, address):
        pattern = re.compile(r"^.*\brecipient id=\S+ to=<%s>.*$" % re.escape(address), re.M)
        wait_until(lambda: pattern.search(mx.log()), 30, what=f"the log line of {address}")
        return pattern.search(mx.log()).group(0)

    def test_a_dsn_reaches_the_senders_mail_exchanger_over_starttls(self):
        sink = self.sink()
        cert, key = certificate()
        pf = start_postfix(self, sink.address, ["alice@sender.test", "bob@implicit.test"],
                           domains=["sender.test", "implicit.test"],
                           smtpd_tls_cert_file=cert, smtpd_tls_key_file=key,
                           smtpd_tls_security_level="may", smtpd_tls_loglevel=1)
        mx = self.start(pf.port)
        queued = self.send(mx, "alice@sender.test")
        self.send(mx, "bob@implicit.test")  # no MX: its A record is the exchanger
        dsns = sink.wait_for_messages(2, timeout=60)
        by_rcpt = {m.rcpts[0]: m for m in dsns}
        self.assertEqual(sorted(by_rcpt), ["<alice@sender.test>", "<bob@implicit.test>"])
        dsn = by_rcpt["<alice@sender.test>"]
        self.assertEqual(dsn.mail_from, "<>")
        text = dsn.content.decode(errors="replace")
        self.assertIn("Status: 5.1.1", text)
        self.assertIn(f"X-Mxgate-Queue-ID: {queued}", text)
        # The exchanger's Received field: mxgate came over TLS (ESMTPS), as its log says too.
        self.assertRegex(text, r"Received: from mx\.test\.example \(localhost \[127\.0\.0\.1\]\)"
                               r"\n\tby mailbox\.test \(Postfix\) with ESMTPS id ")
        self.assertIn("Anonymous TLS connection established from localhost[127.0.0.1]", pf.log())
        line = self.recipient_line(mx, "alice@sender.test")
        self.assertIn(f"relay=127.0.0.1[127.0.0.1]:{pf.port}", line)
        self.assertIn("status=sent", line)
        wait_until(lambda: mx.metric(
            'mxgate_queue_dsn_destinations_total{destination="mx"}') == 1, 30, what="mx counted")
        self.assertEqual(
            mx.metric('mxgate_queue_dsn_destinations_total{destination="implicit_mx"}'), 1)
        mx.wait_queue_empty()

    def test_a_null_mx_drops_the_dsn_and_a_missing_domain_dead_letters_it(self):
        mx = self.start(self.reserve_port())  # nothing may be delivered at all
        self.send(mx, "carol@nullmx.test")
        line = self.recipient_line(mx, "carol@nullmx.test")
        self.assertIn("dsn=5.1.10", line)
        self.assertIn("status=bounced", line)
        self.assertIn('dropped="null MX"', line)
        self.assertIn('reply="556 5.1.10 Domain nullmx.test has a null MX"', line)
        wait_until(lambda: mx.metric('mxgate_queue_deliveries_total{result="dropped"}') == 1, 30,
                   what="the DSN dropped")
        self.send(mx, "dave@gone.sender.test")  # NXDOMAIN
        line = self.recipient_line(mx, "dave@gone.sender.test")
        self.assertIn("dsn=5.1.2", line)
        self.assertIn("dead=yes", line)
        wait_until(lambda: mx.metric('mxgate_queue_deliveries_total{result="dead"}') == 1, 30,
                   what="the DSN dead-lettered")
        self.assertEqual(mx.metric(
            'mxgate_queue_dsn_destinations_total{destination="null_mx"}'), 1)
        self.assertEqual(mx.metric(
            'mxgate_queue_dsn_destinations_total{destination="no_domain"}'), 1)
        mx.wait_queue_empty()

    def test_the_bounce_relay_takes_every_dsn_to_an_outside_domain(self):
        smarthost = self.sink()
        mx = self.start(self.reserve_port(), **{"outbound.bounce_relay": [smarthost.address]})
        self.send(mx, "alice@sender.test")
        self.send(mx, "carol@nullmx.test")  # no lookup: the smarthost decides
        dsns = smarthost.wait_for_messages(2, timeout=60)
        self.assertEqual(sorted(m.rcpts[0] for m in dsns),
                         ["<alice@sender.test>", "<carol@nullmx.test>"])
        self.assertTrue(all(m.mail_from == "<>" for m in dsns))
        wait_until(lambda: mx.metric(
            'mxgate_queue_dsn_destinations_total{destination="bounce_relay"}') == 2, 30,
            what="both counted")
        mx.wait_queue_empty()

    def test_mail_from_clients_to_outside_domains_is_still_refused(self):
        smarthost = self.sink()
        mx = self.start(self.reserve_port(), **{"outbound.bounce_relay": [smarthost.address]})
        for sender in ("someone@example.org", ""):  # a client's bounce is a client's mail
            with SmtpClient(mx.port) as c:
                self.assertEqual(c.reply()[0], 220)
                c.ehlo("client.example.org")
                self.assertEqual(c.cmd(f"MAIL FROM:<{sender}>")[0], 250)
                code, text = c.cmd("RCPT TO:<alice@sender.test>")
                self.assertEqual(code, 550, text)
                self.assertIn("5.7.1", text)
        self.assertEqual(smarthost.messages(), [])


if __name__ == "__main__":
    unittest.main()
