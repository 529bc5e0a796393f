"""Connect-time reputation: listings made with `mxgate rep` are enforced before the banner with
the exact "554 5.7.1 Blocked - see <postmaster_url>?ip=<ip>" line, for direct clients and for
clients behind a PROXY v1/v2 load balancer, on IPv4 and IPv6; allow beats a network block;
listings expire on time and survive restarts."""

import os
import re
import unittest

from harness import (MxTestCase, SmtpClient, mxgate_bin, module_tempdir, observe_expiry,
                     parse_utc, run_tool, send_message)
from test_proxy import proxy_v1, proxy_v2

URL = "https://postmaster.example.net/postmaster/"


class ReputationTest(MxTestCase):

    def setUp(self):
        super().setUp()
        self.store = os.path.join(module_tempdir(), f"store-{self.id().rsplit('.', 1)[-1]}")
        self.config = self.store + ".toml"
        # For `mxgate rep` while no server runs: its http.listen is a held port where nothing
        # listens (not the default 8025, where anything may), so it opens the store itself.
        with open(self.config, "w") as f:
            f.write(f'[storage]\npath = "{self.store}"\n\n'
                    f'[http]\nlisten = "127.0.0.1:{self.reserve_port()}"\n\n'
                    '[[route]]\ndomains = ["example.com"]\ndownstream = ["127.0.0.1:25"]\n')

    def rep(self, *args, expect=0):
        result = run_tool([mxgate_bin(), "rep", *args, "-c", self.config])
        self.assertEqual(result.returncode, expect, result.stderr.decode())
        return result.stdout.decode() + result.stderr.decode()

    def start(self, sink=None, **settings):
        settings.setdefault("storage.path", self.store)
        mx = self.mxgate(sink, settings=settings, proxy=True)
        self.proxy_port = mx.proxy_port
        return mx

    def refused_through_proxy(self, header):
        with SmtpClient(self.proxy_port) as c:
            c.send(header)
            code, text = c.reply()
            self.assertTrue(c.closed_by_peer())
            return code, text

    def test_a_blocked_ip_gets_554_with_the_portal_link_and_nothing_is_relayed(self):
        self.rep("set", "127.0.0.2", "--block", "--reason", "spam trap hits", "--create")
        sink = self.sink()
        mx = self.start(sink)
        with SmtpClient(mx.port, source="127.0.0.2") as c:
            self.assertEqual(c.reply(), (554, f"5.7.1 Blocked - see {URL}?ip=127.0.0.2"))
            self.assertTrue(c.closed_by_peer())
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(mx.metric('mxgate_verdicts_total{action="reject",signal="manual_block",stage="connect"}'), 1)
        self.assertIn("signal=manual_block", mx.log())

    def test_blocked_ipv4_and_ipv6_clients_behind_proxy_v1_and_v2(self):
        self.rep("set", "192.0.2.7", "--block", "--create")
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
        self.rep("set", "198.51.100.0/24", "--block", "--reason", "snowshoe range", "--create")
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
        def refused():
            with SmtpClient(self.proxy_port) as c:
                c.send(proxy_v1("192.0.2.50"))
                code, text = c.reply()
                if code == 220:
                    return False
                self.assertEqual(code, 554, text)
                self.assertTrue(c.closed_by_peer())
                return True
        # Made while mxgate is stopped; refused until the expiry, then welcome. A machine too
        # slow to start mxgate before the listing expired tries a longer one.
        for expiry in ("5s", "15s", "45s"):
            self.rep("set", "192.0.2.50", "--block", "--expires", expiry, "--create")
            expires = parse_utc(re.search(r" expires=(\S+)",
                                          self.rep("get", "192.0.2.50")).group(1))
            mx = self.start()
            if observe_expiry(refused, expires):
                break
            mx.stop()
        else:
            self.fail("the listing expired each time before mxgate could enforce it")

    def test_listings_survive_a_restart_and_rep_get_shows_them(self):
        self.rep("set", "192.0.2.60", "--block", "--reason", "bad actor", "--create")
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
        self.assertIn("--block, --allow or --clear", self.rep("set", "192.0.2.1", expect=2))
        self.assertIn("no reputation store at", self.rep("get", "192.0.2.1", expect=1))
        self.rep("set", "192.0.2.2", "--block", "--create")
        self.assertIn("no record", self.rep("get", "192.0.2.1"))


if __name__ == "__main__":
    unittest.main()
