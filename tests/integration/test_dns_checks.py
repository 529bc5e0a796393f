"""The DNS checks end to end against a real DNS server (NSD with zones the test writes):
reverse DNS (missing, not forward-confirmed, generic), HELO, sender domain (NXDOMAIN, null MX,
a failed lookup), DNSBL listings, error answers and zone probes, the greet pause (pregreet),
and a DNS server that never answers, which must not hold sessions beyond the DNS timeout."""

import time
import unittest

from dns_server import DEFAULT_ZONES, DnsServer, SilentServer
from harness import MxTestCase, SmtpClient, parse_metrics, send_message, wait_until
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"

# The harness turns the DNS checks off; the clients here come through PROXY from documentation
# and 127.0.0.x addresses, which must not count as trusted.
DNS_CHECKS_ON = {"checks.rdns.mode": "enforce", "checks.helo.mode": "enforce",
                 "checks.sender_domain.mode": "enforce", "reputation.trusted_networks": []}


# Thresholds out of reach: the signals are logged and counted, nothing is refused.
SCORES_ONLY = {"reputation.defer_at": 100.0, "reputation.reject_at": 100.0}


class DnsChecksTest(MxTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(dict(DEFAULT_ZONES, **{
            # A domain list (RHSBL, RFC 5782 §2.2) and an allow list (DNSWL).
            "dbl.example": "test A 127.0.0.2\nspam.example.test A 127.0.0.2\n",
            "wl.example": "2.0.0.127 A 127.0.10.1\n",
        }))
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def start(self, sink=None, dns_server=None, **settings):
        config = {"dns.servers": [dns_server or self.dns.address], **DNS_CHECKS_ON}
        config.update(settings)
        mx = self.mxgate(sink, settings=config, proxy=True)
        self.proxy_port = mx.proxy_port
        return mx

    def start_with_dnsbl(self, entries, sink=None, **settings):
        """mxgate with [[dnsbl]] entries (dicts) in its config file."""
        config = {"dns.servers": [self.dns.address], **DNS_CHECKS_ON}
        config.update(settings)
        down = sink.address if sink else f"127.0.0.1:{self.reserve_port()}"  # nothing listens
        routes = [{"domains": ["example.com"], "downstream": [down]}]
        mx = self.mxgate(sink, settings=config, routes=routes, proxy=True, extra_tables=[
            ("dnsbl", entry) for entry in entries])
        self.proxy_port = mx.proxy_port
        return mx

    def client(self, ip):
        c = SmtpClient(self.proxy_port)
        c.send(proxy_v1(ip))
        return c

    @staticmethod
    def session_lines_of(mx, ip):
        return [line for line in mx.log().splitlines()
                if line.split(" info ", 1)[-1].startswith("session ") and f"client={ip} " in line]

    def session_lines(self, mx, ip):
        return len(self.session_lines_of(mx, ip))

    def session_signals(self, mx, ip):
        """The signals= field of the last session line of client `ip`."""
        lines = self.session_lines_of(mx, ip)
        if not lines:
            return ""
        for field in lines[-1].split(" "):
            if field.startswith("signals="):
                return field[len("signals="):]
        return ""

    def quick_session(self, ip, helo="mail.example.test", mail_from="a@example.test"):
        with self.client(ip) as c:
            code, _ = c.reply()
            self.assertEqual(code, 220)
            c.ehlo(helo)
            mail = c.cmd(f"MAIL FROM:<{mail_from}>")
            c.cmd("QUIT")
            return mail

    def test_reverse_dns_signals(self):
        mx = self.start(**SCORES_ONLY)
        self.quick_session("192.0.2.25")   # mail.example.test: forward-confirmed
        self.quick_session("192.0.2.7")    # PTR liar.example.test -> 192.0.2.200
        self.quick_session("192.0.2.99")   # 99-2-0-192.dynamic.example.test
        self.quick_session("192.0.2.50")   # no PTR
        # Sessions end (and log their line) in any order.
        ips = ["192.0.2.25", "192.0.2.7", "192.0.2.99", "192.0.2.50"]
        wait_until(lambda: all(self.session_lines(mx, ip) for ip in ips), 30,
                   what="the four session lines")
        self.assertNotIn("rdns", self.session_signals(mx, "192.0.2.25"))
        self.assertIn("rdns:rdns_mismatch:2", self.session_signals(mx, "192.0.2.7"))
        self.assertIn("rdns:rdns_generic:1.5", self.session_signals(mx, "192.0.2.99"))
        self.assertIn("rdns:rdns_missing:3", self.session_signals(mx, "192.0.2.50"))
        self.assertEqual(mx.metric('mxgate_check_signals_total'
                                   '{check="rdns",mode="enforce",signal="rdns_missing"}'), 1)
        self.assertGreater(mx.metric('mxgate_dns_queries_total{outcome="answer",type="ptr"}'), 0)

    def test_a_client_seen_again_is_judged_from_the_cache_alike(self):
        # One worker: the DNS cache is per worker.
        mx = self.start(**SCORES_ONLY, **{"server.workers": 1})

        def queries_sent():
            return sum(value for series, value in parse_metrics(mx.metrics()).items()
                       if series.startswith("mxgate_dns_queries_total{"))

        clients = [("192.0.2.7", "liar.example.test"), ("192.0.2.99", "localhost")]
        first = {}
        for ip, helo in clients:
            self.quick_session(ip, helo=helo, mail_from="a@nxdomain.example.test")
            wait_until(lambda: self.session_signals(mx, ip), 30, what=f"session line of {ip}")
            first[ip] = self.session_signals(mx, ip)
        sent = queries_sent()
        self.assertGreater(sent, 0)
        for ip, helo in clients:
            self.quick_session(ip, helo=helo, mail_from="a@nxdomain.example.test")
            wait_until(lambda: self.session_lines(mx, ip) == 2, 30, what=f"2nd session of {ip}")
            self.assertEqual(self.session_signals(mx, ip), first[ip])
        self.assertIn("rdns:rdns_mismatch:2", first["192.0.2.7"])
        self.assertIn("helo:helo_invalid:3", first["192.0.2.99"])
        self.assertIn("sender_domain:sender_domain_invalid", first["192.0.2.99"])
        self.assertEqual(queries_sent(), sent, "the second sessions asked the DNS server nothing")

    def test_helo_names(self):
        mx = self.start(**SCORES_ONLY)
        self.quick_session("192.0.2.25", helo="mail.example.test")
        self.quick_session("192.0.2.26", helo="localhost")
        self.quick_session("192.0.2.27", helo="nowhere.example.test")
        self.quick_session("192.0.2.28", helo="[192.0.2.28]")
        # Sessions end (and log their line) in any order.
        ips = ["192.0.2.25", "192.0.2.26", "192.0.2.27", "192.0.2.28"]
        wait_until(lambda: all(self.session_lines(mx, ip) for ip in ips), 30,
                   what="the four session lines")
        self.assertNotIn("helo", self.session_signals(mx, "192.0.2.25"))
        self.assertIn("helo:helo_invalid:3", self.session_signals(mx, "192.0.2.26"))
        self.assertIn("helo:helo_mismatch:1", self.session_signals(mx, "192.0.2.27"))
        self.assertNotIn("helo_", self.session_signals(mx, "192.0.2.28"))

    def test_repeated_ehlo_keeps_the_session_line_bounded(self):
        mx = self.start(**SCORES_ONLY)
        with self.client("192.0.2.26") as c:
            self.assertEqual(c.reply()[0], 220)
            for _ in range(200):
                c.ehlo("localhost")
            c.cmd("QUIT")
        wait_until(lambda: self.session_signals(mx, "192.0.2.26"), 30, what="the session line")
        signals = self.session_signals(mx, "192.0.2.26")
        self.assertTrue(signals.endswith(",..."), signals[-80:])
        self.assertLess(len(signals), 1200)

    def test_sender_domains(self):
        mx = self.start()
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@example.test")[0], 250)
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@nomail.example.test"),
                         (550, f"5.7.27 Sender domain does not accept mail - see {URL}?ip=192.0.2.25"))
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@gone.example.test"),
                         (550, f"5.1.8 Sender domain invalid - see {URL}?ip=192.0.2.25"))
        # A domain the server refuses to answer for: a temporary failure, never a 5xx.
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@example.org"),
                         (451, f"4.4.3 Sender domain lookup failed - see {URL}?ip=192.0.2.25"))
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="")[0], 250)  # null sender
        self.assertEqual(
            mx.metric('mxgate_verdicts_total'
                      '{action="reject",signal="sender_domain_null_mx",stage="mail"}'), 1)

    def test_a_dnsbl_listing_scores_and_error_answers_do_not(self):
        sink = self.sink()
        mx = self.start_with_dnsbl(
            [{"zone": "zone.example", "returns": ["127.0.0.[2..11]"], "weight": 10.0},
             {"zone": "broken.example.test", "weight": 10.0}], sink,
            **{"checks.rdns.mode": "off", "checks.helo.mode": "off"})
        # 127.0.0.2 is listed: weight 10 reaches reject_at, answered at RCPT (delay_reject).
        with self.client("127.0.0.2") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>"),
                             (550, f"5.7.1 Blocked - see {URL}?ip=127.0.0.2"))
        # 127.0.0.3 gets 127.255.255.254: a zone error, never a listing.
        with self.client("127.0.0.3") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            code, text = send_message(c, "a@example.test", ["u@example.com"],
                                      b"Subject: not listed\r\n\r\nhi\r\n")
            self.assertEqual(code, 250, text)
        self.assertEqual(mx.metric('mxgate_dnsbl_hits_total{zone="zone.example"}'), 1)
        self.assertEqual(mx.metric('mxgate_dnsbl_zone_errors_total{zone="zone.example"}'), 1)
        # The probe found zone.example sound and broken.example.test (no test entry) down.
        wait_until(lambda: mx.metric('mxgate_dnsbl_zone_up{zone="broken.example.test"}') == 0, 30,
                   what="broken zone marked down")
        self.assertEqual(mx.metric('mxgate_dnsbl_zone_up{zone="zone.example"}'), 1)
        self.assertIn("dnsbl_zone zone=broken.example.test state=down", mx.log())

    def test_an_allow_list_offsets_a_block_list(self):
        sink = self.sink()
        self.start_with_dnsbl([{"zone": "zone.example", "weight": 10.0},
                               {"zone": "wl.example", "weight": -10.0}], sink,
                              **{"checks.rdns.mode": "off", "checks.helo.mode": "off"})
        with self.client("127.0.0.2") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            code, text = send_message(c, "a@example.test", ["u@example.com"],
                                      b"Subject: allowed\r\n\r\nhi\r\n")
            self.assertEqual(code, 250, text)
        self.assertEqual(len(sink.wait_for_messages(1)), 1)

    def test_rhsbl_lists_sender_domains(self):
        mx = self.start_with_dnsbl(
            [{"zone": "dbl.example", "type": "sender_domain", "action": "reject"}],
            **{"checks.rdns.mode": "off", "checks.helo.mode": "off",
               "checks.sender_domain.mode": "off"})
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@spam.example.test"),
                         (550, f"5.7.1 Blocked - see {URL}?ip=192.0.2.25"))
        self.assertEqual(self.quick_session("192.0.2.25", mail_from="a@example.test")[0], 250)
        self.assertEqual(mx.metric('mxgate_dnsbl_hits_total{zone="dbl.example"}'), 1)

    def test_a_dnsbl_with_action_reject_refuses_at_connect(self):
        self.start_with_dnsbl([{"zone": "zone.example", "action": "reject"}],
                              **{"checks.rdns.mode": "off"})
        with self.client("127.0.0.2") as c:
            self.assertEqual(c.reply(), (554, f"5.7.1 Blocked - see {URL}?ip=127.0.0.2"))
            self.assertTrue(c.closed_by_peer())

    def test_pregreet_drops_early_talkers_and_remembers_polite_clients(self):
        mx = self.start(**{"pregreet.enabled": True, "pregreet.greet_pause": "1s",
                           "pregreet.greet_pause_under_load": "1s"})
        with self.client("192.0.2.25") as c:
            c.send(b"EHLO mail.example.test\r\n")  # before the banner ended
            lines = c.reply_lines()
            self.assertEqual(lines[0][0], 220)
            self.assertEqual(lines[-1], (554, f"5.7.1 Blocked - see {URL}?ip=192.0.2.25"))
            self.assertTrue(c.closed_by_peer())
        self.assertEqual(mx.metric('mxgate_verdicts_total'
                                   '{action="reject",signal="pregreet",stage="connect"}'), 1)
        # A polite client waits out the pause once, then is remembered.
        started = time.monotonic()
        with self.client("192.0.2.26") as c:
            lines = c.reply_lines()
            self.assertEqual([code for code, _ in lines], [220, 220])
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
        started = time.monotonic()
        with self.client("192.0.2.26") as c:
            self.assertEqual([code for code, _ in c.reply_lines()], [220])
            self.assertLess(time.monotonic() - started, 0.9)

    def test_trusted_networks_skip_the_dns_checks_and_the_pause(self):
        mx = self.start(**{"reputation.trusted_networks": ["192.0.2.0/28"],
                           "pregreet.enabled": True, "pregreet.greet_pause": "2s",
                           "pregreet.greet_pause_under_load": "2s"})
        started = time.monotonic()
        self.assertEqual(self.quick_session("192.0.2.5", helo="localhost",
                                            mail_from="a@gone.example.test")[0], 250)
        self.assertLess(time.monotonic() - started, 1.5, "no greet pause for trusted clients")
        wait_until(lambda: self.session_lines(mx, "192.0.2.5"), 30, what="the session line")
        self.assertNotIn("rdns", self.session_signals(mx, "192.0.2.5"))

    def test_a_dns_server_that_never_answers_delays_only_that_session(self):
        with SilentServer() as silent:
            sink = self.sink()
            mx = self.start(sink, dns_server=silent.address,
                            **{"dns.timeout": "1500ms", "dns.tries": 1,
                               "reputation.trusted_networks": ["127.0.0.1/32"]})
            started = time.monotonic()
            waiting = self.client("192.0.2.25")
            try:
                # Its session waits for its PTR query now; meanwhile a trusted client (no DNS
                # checks) is served at once.
                silent.wait_for_query(timeout=30)
                with SmtpClient(mx.port) as other:
                    self.assertEqual(other.reply()[0], 220)
                    other.ehlo("mail.example.test")
                    code, text = send_message(other, "a@example.test", ["u@example.com"],
                                              b"Subject: unaffected\r\n\r\nhi\r\n")
                    self.assertEqual(code, 250, text)
                self.assertLess(time.monotonic() - started, 1.2)
                self.assertEqual(waiting.reply()[0], 220)  # after the PTR lookup timed out
                waiting.ehlo("mail.example.test")
                # The sender domain cannot be looked up: a temporary failure, never a 5xx.
                self.assertEqual(waiting.cmd("MAIL FROM:<a@example.test>"),
                                 (451, f"4.4.3 Sender domain lookup failed - see {URL}"
                                       "?ip=192.0.2.25"))
                waiting.cmd("QUIT")
            finally:
                waiting.close()
            # PTR, HELO and MX lookups each wait for one timeout, no longer.
            self.assertLess(time.monotonic() - started, 8)
            wait_until(lambda: self.session_signals(mx, "192.0.2.25"), 30,
                       what="the session line")
            # rdns ignored its failure (on_error = "ignore") but counted it.
            self.assertIn("rdns:check_error", self.session_signals(mx, "192.0.2.25"))
            self.assertGreaterEqual(
                mx.metric('mxgate_dns_queries_total{outcome="timeout",type="ptr"}'), 1)


if __name__ == "__main__":
    unittest.main()
