"""Sending-pattern throttling end to end (issue 6): the real binary, clients through PROXY from
documentation addresses (outside trusted_networks), Postfix's smtp-sink downstream. A client
over a limit gets the exact 421 line with its portal link and is let in again in the next
window; a new IP's ramp; the state survives a restart; the tarpit, the dictionary-attack cutoff
and the per-network session cap."""

import json
import time
import unittest
import urllib.request

from harness import (MxTestCase, SmtpClient, module_tempdir, mxgate_bin, parse_utc, run_tool,
                     wait_until)
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"


def deferred(ip):
    return (421, f"4.7.0 Deferred - see {URL}?ip={ip}")


class ThrottleTest(MxTestCase):

    def start(self, sink=None, limits=(), **settings):
        config = {"reputation.trusted_networks": [], "reputation.flush_interval": "100ms"}
        config.update(settings)
        mx = self.mxgate(sink, settings=config, proxy=True,
                         extra_tables=[("limit", limit) for limit in limits])
        self.proxy_port = mx.proxy_port
        return mx

    def client(self, ip):
        c = SmtpClient(self.proxy_port)
        c.send(proxy_v1(ip))
        return c

    def session(self, ip, messages=1, helo="mail.example.test"):
        """A session that sends `messages` messages; returns the replies that mattered: the
        banner, then each message's final reply (or the refusal that ended the session)."""
        replies = []
        with self.client(ip) as c:
            banner = c.reply()
            replies.append(banner)
            if banner[0] != 220:
                return replies
            c.ehlo(helo)
            for i in range(messages):
                code, text = c.cmd("MAIL FROM:<sender@example.org>")
                if code != 250:
                    replies.append((code, text))
                    return replies
                self.assertEqual(c.cmd("RCPT TO:<user@example.com>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(b"Subject: %d\r\n\r\nhello\r\n.\r\n" % i)
                replies.append(c.reply())
            c.cmd("QUIT")
        return replies

    def test_a_connection_limit_defers_with_the_link_then_admits_again(self):
        mx = self.start(limits=[{"name": "ip-connections", "key": "ip", "count": "connections",
                                 "rate": 2, "period": "2s", "burst": 1}])
        for _ in range(2):
            self.assertEqual(self.session("192.0.2.50", messages=0)[0][0], 220)
        self.assertEqual(self.session("192.0.2.50", messages=0), [deferred("192.0.2.50")])
        self.assertEqual(self.session("192.0.2.51", messages=0)[0][0], 220, "its own budget")
        # One interval (2 s / 2) later there is room for one more. The portal shows a deferral
        # in force with its end, in whole seconds rounded down: wait for the clock to pass the
        # next second. (Asking by connecting would count more deferrals.)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"http://127.0.0.1:{mx.portal_port}/postmaster/?ip=192.0.2.50"
        with opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}),
                         timeout=30) as response:
            report = json.loads(response.read())
        if report["status"] == "deferred":  # else it is over already
            ends = parse_utc(report["until"]) + 1
            wait_until(lambda: time.time() >= ends, ends - time.time() + 30,
                       what=f"the deferral's end ({report['until']})")
        self.assertEqual(self.session("192.0.2.50", messages=0)[0][0], 220)
        self.assertEqual(mx.metric('mxgate_throttle_deferrals_total{limit="ip-connections"}'), 1)
        self.assertRegex(mx.log(), r"refused session=\S+ client=192\.0\.2\.50 stage=connect "
                                   r"action=drop signal=rate_limited .*limit ip-connections")

    def test_a_message_limit_defers_at_mail_and_ends_the_session(self):
        sink = self.sink()
        mx = self.start(sink, limits=[{"name": "ip-messages", "key": "ip", "count": "messages",
                                       "rate": 1, "period": "1h", "burst": 1}])
        replies = self.session("192.0.2.52", messages=3)
        self.assertEqual([code for code, _ in replies], [220, 250, 250, 421])
        self.assertEqual(replies[-1], deferred("192.0.2.52"))
        self.assertEqual(len(sink.wait_for_messages(2)), 2)
        self.assertEqual(mx.metric('mxgate_throttle_deferrals_total{limit="ip-messages"}'), 1)

    def test_a_new_ip_ramps_and_its_state_survives_a_restart(self):
        sink = self.sink()
        store = f"{module_tempdir()}/store-ramp"
        settings = {"storage.path": store, "throttle.ramp_floor": 3}
        limit = [{"name": "ip-connections", "key": "ip", "count": "connections", "rate": 1,
                  "period": "1h", "burst": 5}]  # six at once, then one an hour
        mx = self.start(sink, limits=limit, **settings)
        replies = self.session("192.0.2.60", messages=4)
        self.assertEqual([code for code, _ in replies], [220, 250, 250, 250, 421])
        self.assertEqual(replies[-1], deferred("192.0.2.60"))
        self.assertRegex(mx.log(), r"signal=new_ip_ramp .*ramp: a new sender may deliver 3 "
                                   r"messages today \(3 accepted")
        self.assertEqual(len(sink.wait_for_messages(3)), 3)
        shown = run_tool([mxgate_bin(), "rep", "get", "192.0.2.60", "-c", mx.config_path])
        self.assertEqual(shown.returncode, 0, shown.stderr.decode())
        self.assertIn("ramp       a new sender: 3 messages may be accepted today (3 so far)",
                      shown.stdout.decode())
        for _ in range(4):  # 2 of the connection limit's 6 left after this
            self.session("192.0.2.61", messages=0)
        self.assertEqual(mx.stop(), 0)
        self.assertRegex(mx.log(), r"stopped")

        mx2 = self.start(sink, limits=limit, **settings)
        self.assertRegex(mx2.log(), r"throttle_loaded entries=[1-9]")
        replies = self.session("192.0.2.60", messages=1)
        self.assertEqual(replies, [(replies[0][0], replies[0][1]), deferred("192.0.2.60")],
                         "today's count came back")
        self.assertEqual(self.session("192.0.2.61", messages=0)[0][0], 220)
        self.assertEqual(self.session("192.0.2.61", messages=0)[0][0], 220)
        self.assertEqual(self.session("192.0.2.61", messages=0), [deferred("192.0.2.61")],
                         "the connection limit remembered its 5 connections")

    def test_the_tarpit_delays_replies_of_a_failing_client_without_blocking_others(self):
        self.start(**{"throttle.tarpit_after": 2, "throttle.tarpit_delay": "300ms",
                      "throttle.tarpit_max": "600ms", "server.workers": 1})
        with self.client("192.0.2.70") as c:
            self.assertEqual(c.reply()[0], 220)
            took = []
            for _ in range(5):
                started = time.monotonic()
                self.assertEqual(c.cmd("BOGUS")[0], 500)
                took.append(time.monotonic() - started)
            # Errors 1 and 2 are answered at once; then 300 ms, 600 ms, 600 ms (the cap).
            self.assertLess(max(took[:2]), 0.25, took)
            self.assertGreaterEqual(took[2], 0.29, took)
            self.assertGreaterEqual(took[3], 0.59, took)
            self.assertLess(took[4], 1.2, took)
            # Meanwhile another client on the same (single) worker is answered at once.
            with self.client("192.0.2.71") as other:
                started = time.monotonic()
                self.assertEqual(other.reply()[0], 220)
                self.assertEqual(other.cmd("NOOP")[0], 250)
                self.assertLess(time.monotonic() - started, 0.25)

    def test_a_dictionary_attack_is_cut_off(self):
        sink = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        mx = self.start(sink, **{"throttle.dictionary_limit": 3})
        with self.client("192.0.2.80") as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<a@example.com>")[0], 550)
            self.assertEqual(c.cmd("RCPT TO:<b@example.com>")[0], 550)
            self.assertEqual(c.cmd("RCPT TO:<c@example.com>"), deferred("192.0.2.80"))
            self.assertTrue(c.closed_by_peer())
        self.assertEqual(mx.metric('mxgate_throttle_deferrals_total{limit="dictionary"}'), 1)

    def test_sessions_per_network_are_capped(self):
        mx = self.start(**{"throttle.max_sessions_per_network": 2})
        first, second = self.client("198.51.100.1"), self.client("198.51.100.2")
        try:
            self.assertEqual(first.reply()[0], 220)
            self.assertEqual(second.reply()[0], 220)
            with self.client("198.51.100.3") as third:
                code, text = third.reply()
                self.assertEqual(code, 421)
                self.assertIn("too many connections from your network", text)
            with self.client("203.0.113.1") as elsewhere:
                self.assertEqual(elsewhere.reply()[0], 220)
            self.assertEqual(
                mx.metric('mxgate_sessions_refused_total{reason="network_limit"}'), 1)
            self.assertEqual(mx.metric('mxgate_sessions_refused_total{reason="ip_limit"}'), 0)
            self.assertRegex(mx.log(), r"refused client=198\.51\.100\.3 stage=connect "
                             r'by=limit reply="421 4\.7\.0" '
                             r"reason=throttle\.max_sessions_per_network")
        finally:
            first.close()
            second.close()

    def test_trusted_clients_are_exempt(self):
        self.start(limits=[{"name": "ip-connections", "key": "ip", "count": "connections",
                            "rate": 1, "period": "1h", "burst": 0}],
                   **{"reputation.trusted_networks": ["192.0.2.0/24"]})
        for _ in range(3):
            self.assertEqual(self.session("192.0.2.90", messages=0)[0][0], 220)


if __name__ == "__main__":
    unittest.main()
