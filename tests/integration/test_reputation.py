"""Connect-time reputation: listings made with `mxgate rep` are enforced before the banner with
the exact "554 5.7.1 Blocked - see <postmaster_url>?ip=<ip>" line, for direct clients and for
clients behind a PROXY v1/v2 load balancer, on IPv4 and IPv6; allow beats a network block;
listings expire on time and survive restarts."""

import os
import socket
import time
import unittest

from harness import (MxTestCase, SmtpClient, free_port, mxgate_bin, module_tempdir, run_tool,
                     send_message)
from test_proxy import proxy_v1, proxy_v2

URL = "https://postmaster.example.net/postmaster/"


class ReputationTest(MxTestCase):

    def setUp(self):
        super().setUp()
        self.store = os.path.join(module_tempdir(), f"store-{self.id().rsplit('.', 1)[-1]}")
        self.config = self.store + ".toml"
        with open(self.config, "w") as f:
            f.write(f'[storage]\npath = "{self.store}"\n\n'
                    '[[route]]\ndomains = ["example.com"]\ndownstream = ["127.0.0.1:25"]\n')

    def rep(self, *args, expect=0):
        result = run_tool([mxgate_bin(), "rep", *args, "-c", self.config])
        self.assertEqual(result.returncode, expect, result.stderr.decode())
        return result.stdout.decode() + result.stderr.decode()

    def start(self, sink=None, **settings):
        self.proxy_port = free_port()
        settings.setdefault("storage.path", self.store)
        settings.setdefault("server.proxy_listen", [f"127.0.0.1:{self.proxy_port}"])
        return self.mxgate(sink, settings=settings)

    def refused_through_proxy(self, header):
        with SmtpClient(self.proxy_port) as c:
            c.send(header)
            code, text = c.reply()
            self.assertTrue(c.closed_by_peer())
            return code, text

    def test_a_blocked_ip_gets_554_with_the_portal_link_and_nothing_is_relayed(self):
        # 127.0.0.2: the harness itself checks the banner from 127.0.0.1.
        self.rep("set", "127.0.0.2", "--block", "--reason", "spam trap hits")
        sink = self.sink()
        mx = self.start(sink)
        with SmtpClient(mx.port, source="127.0.0.2") as c:
            self.assertEqual(c.reply(), (554, f"5.7.1 Blocked - see {URL}?ip=127.0.0.2"))
            self.assertTrue(c.closed_by_peer())
        self.assertEqual(sink.settle(quiet=0.3), [])
        self.assertEqual(mx.metric('mxgate_verdicts_total{action="reject",signal="manual_block",stage="connect"}'), 1)
        self.assertIn("signal=manual_block", mx.log())

    def test_blocked_ipv4_and_ipv6_clients_behind_proxy_v1_and_v2(self):
        self.rep("set", "192.0.2.7", "--block")
        self.rep("set", "2001:db8::7", "--block")
        self.start()
        self.assertEqual(self.refused_through_proxy(proxy_v1("192.0.2.7")),
                         (554, f"5.7.1 Blocked - see {URL}?ip=192.0.2.7"))
        self.assertEqual(self.refused_through_proxy(proxy_v2("2001:db8:0::7", "2001:db8::1")),
                         (554, f"5.7.1 Blocked - see {URL}?ip=2001:db8::7"))
        self.assertEqual(self.refused_through_proxy(
            proxy_v1("2001:db8::7", "2001:db8::1", "TCP6")),
            (554, f"5.7.1 Blocked - see {URL}?ip=2001:db8::7"))
        with SmtpClient(self.proxy_port) as c:  # a neighbour is not blocked
            c.send(proxy_v1("192.0.2.8"))
            self.assertEqual(c.reply()[0], 220)

    def test_a_blocked_network_blocks_its_ips_but_an_allowed_ip_passes(self):
        self.rep("set", "198.51.100.0/24", "--block", "--reason", "snowshoe range")
        self.rep("set", "198.51.100.25", "--allow")
        sink = self.sink()
        self.start(sink)
        self.assertEqual(self.refused_through_proxy(proxy_v1("198.51.100.99")),
                         (554, f"5.7.1 Blocked - see {URL}?ip=198.51.100.99"))
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("198.51.100.25"))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: allowed\r\n\r\nhello\r\n")
            self.assertEqual(code, 250, text)
        self.assertEqual(len(sink.wait_for_messages(1)), 1)

    def test_a_listing_with_an_expiry_ends_on_time(self):
        # 5 s leaves room for a slow start on a loaded machine before the first check.
        self.rep("set", "192.0.2.50", "--block", "--expires", "5s")
        listed_at = time.monotonic()
        self.start()
        self.assertLess(time.monotonic() - listed_at, 4.5, "mxgate started too slowly to test")
        self.assertEqual(self.refused_through_proxy(proxy_v1("192.0.2.50"))[0], 554)
        time.sleep(max(0.0, 5.5 - (time.monotonic() - listed_at)))
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("192.0.2.50"))
            self.assertEqual(c.reply()[0], 220)

    def test_listings_survive_a_restart_and_rep_get_shows_them(self):
        self.rep("set", "192.0.2.60", "--block", "--reason", "bad actor")
        mx = self.start()
        self.assertEqual(self.refused_through_proxy(proxy_v1("192.0.2.60"))[0], 554)
        mx.stop()
        shown = self.rep("get", "192.0.2.60")
        self.assertIn('listing    block reason="bad actor" source=cli', shown)
        self.start()
        self.assertEqual(self.refused_through_proxy(proxy_v1("192.0.2.60"))[0], 554)

    def test_rep_refuses_bad_targets_and_missing_actions(self):
        self.assertIn("not an IP address", self.rep("set", "mail.example.com", "--block",
                                                    expect=1))
        self.assertIn("looked up as /24", self.rep("set", "10.0.0.0/8", "--block", expect=1))
        self.assertIn("--block or --allow", self.rep("set", "192.0.2.1", expect=1))
        self.assertIn("no record", self.rep("get", "192.0.2.1"))


if __name__ == "__main__":
    unittest.main()
