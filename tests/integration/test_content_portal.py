"""Linked-domain ("uri:") listings and the portal's word on them (issue 17), end to end: the real
binary and `mxgate rep`, offline on the store and through a running server's admin API; NSD for
the portal's live checks; Python's urllib as the HTTP client.

`rep set uri:evil.example --block --reason ...`, `rep get`, `rep export --family uri`, `rep
import` of uri: lines, `rep set --clear` and `rep del` round trips; a running server's portal
says nothing of linked domains for an address without a refusal, and its best-practices page
explains links, message format and one-click unsubscribe.

A message that links to a listed domain is refused at end of data (554, nothing reaches the
downstream) and the client IP's portal page and JSON name the domain."""

import json
import os
import unittest

from harness import SmtpClient, module_tempdir, mxgate_bin, run_tool, wait_until
from test_portal import PortalCase, fetch
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"


class LinkedDomainListingsTest(PortalCase):

    def setUp(self):
        super().setUp()
        self.folder = os.path.join(module_tempdir(), self.id().rsplit(".", 1)[-1])
        os.makedirs(self.folder)
        self.store = os.path.join(self.folder, "store")
        self.config = os.path.join(self.folder, "offline.toml")
        with open(self.config, "w") as f:
            f.write(f'[storage]\npath = "{self.store}"\n\n'
                    f'[http]\nlisten = "127.0.0.1:{self.reserve_port()}"\n\n'
                    '[portal]\nlisten = "127.0.0.1:0"\n\n'
                    '[[route]]\ndomains = ["example.com"]\ndownstream = ["127.0.0.1:25"]\n')

    def rep(self, *args, config=None, expect=0):
        """(stdout, stderr) of `mxgate rep ARGS -c CONFIG`, checking the exit code."""
        result = run_tool([mxgate_bin(), "rep", *args, "-c", config or self.config], timeout=60)
        out, err = result.stdout.decode(), result.stderr.decode()
        self.assertEqual(result.returncode, expect, f"stdout: {out}\nstderr: {err}")
        return out, err

    def test_set_get_export_clear_and_delete_a_uri_listing_offline(self):
        out, _ = self.rep("set", "uri:Evil.Example", "--block", "--reason",
                          "compromised site, serves malware", "--create")
        self.assertEqual(out, "uri:evil.example blocked\n")
        out, _ = self.rep("get", "uri:evil.example")
        self.assertTrue(out.startswith("uri:evil.example\n"), out)
        self.assertIn('listing    block reason="compromised site, serves malware" source=cli '
                      "expires=never", out)
        self.assertIn("a linked domain: block refuses messages that link to it", out)
        self.assertNotIn("ramp", out)
        self.assertNotIn("last 30 days", out)
        out, _ = self.rep("set", "uri:192.0.2.66", "--allow")
        self.assertEqual(out, "uri:192.0.2.66 allowed\n")

        out, _ = self.rep("export", "--family", "uri")
        lines = [line for line in out.splitlines() if not line.startswith("#")]
        self.assertEqual(lines, ["uri:192.0.2.66,allow,,,cli",
                                 'uri:evil.example,block,"compromised site, serves malware",,cli'])
        out, _ = self.rep("export", "--family", "ip")
        self.assertEqual([line for line in out.splitlines() if not line.startswith("#")], [])

        out, _ = self.rep("set", "uri:evil.example", "--clear")
        self.assertEqual(out, "uri:evil.example no longer blocked; its counters and history are "
                              "kept\n")
        self.assertIn("listing    none", self.rep("get", "uri:evil.example")[0])
        self.assertEqual(self.rep("del", "uri:evil.example")[0], "uri:evil.example deleted\n")
        out, err = self.rep("del", "uri:evil.example", expect=1)
        self.assertIn("no record for uri:evil.example, nothing deleted", err)
        self.assertEqual(self.rep("get", "uri:evil.example")[0],
                         "uri:evil.example\n  no record\n")

        _, err = self.rep("set", "uri:not a domain", "--block", expect=1)
        self.assertIn("'not a domain' is not a domain name or an IP address", err)

    def test_a_feed_imports_uri_lines_and_exports_them_back(self):
        feed = os.path.join(self.folder, "feed.csv")
        long_domain = "a" * 60 + ".example"
        with open(feed, "w") as f:
            f.write("# linked domains\n"
                    "uri:evil.example,block,malware,,dbl-feed\n"
                    f"uri:{long_domain},block,phishing,2099-01-01T00:00:00Z,dbl-feed\n"
                    "uri:[2001:db8::66],block,,,\n"
                    "192.0.2.7,block,an address,,\n")
        out, _ = self.rep("import", feed, "--create")
        self.assertIn("imported 4 listings", out)
        out, _ = self.rep("export")
        lines = [line for line in out.splitlines() if not line.startswith("#")]
        self.assertEqual(lines, ["192.0.2.7,block,an address,,import:feed.csv",
                                 "uri:2001:db8::66,block,,,import:feed.csv",
                                 f"uri:{long_domain},block,phishing,2099-01-01T00:00:00Z,dbl-feed",
                                 "uri:evil.example,block,malware,,dbl-feed"])

    def test_through_a_running_server_and_its_portal(self):
        mx = self.start()
        out, err = self.rep("set", "uri:evil.example", "--block", "--reason", "malware host",
                            config=mx.config_path)
        self.assertIn("using its admin API", err)
        self.assertEqual(out, "uri:evil.example blocked\n")
        out, _ = self.rep("get", "uri:evil.example", config=mx.config_path)
        self.assertIn('listing    block reason="malware host" source=cli', out)
        status, text = mx.admin("GET", "/admin/rep/export?family=uri")
        self.assertEqual(status, 200, text)
        self.assertIn("uri:evil.example,block,malware host,,cli\n", text)

        # No refusal for a linked domain: the page and the JSON say nothing of one.
        status, _, page = fetch(mx.portal_port, "/postmaster/?ip=192.0.2.7")
        self.assertEqual(status, 200)
        self.assertNotIn('id="linked-domain"', page)
        status, _, text = fetch(mx.portal_port, "/postmaster/?ip=192.0.2.7", "application/json")
        self.assertEqual(status, 200, text)
        self.assertIsNone(json.loads(text)["linked_domain"])

        status, _, page = fetch(mx.portal_port, "/postmaster/best-practices")
        self.assertEqual(status, 200)
        self.assertIn('<section id="linked-domains">', page)
        self.assertIn("An infected website or domain: emails linked to it will be blocked.", page)
        self.assertIn('<section id="one-click">', page)
        self.assertIn("List-Unsubscribe-Post: List-Unsubscribe=One-Click", page)
        self.assertIn('<section id="format">', page)

        self.assertEqual(self.rep("del", "uri:evil.example", config=mx.config_path)[0],
                         "uri:evil.example deleted\n")

    def test_a_message_linking_to_a_listed_domain_is_refused_and_the_portal_names_it(self):
        sink = self.sink()
        mx = self.start(sink=sink, **{"reputation.flush_interval": "100ms"})
        status, text = mx.admin("PUT", "/admin/rep/uri:evil.example",
                                {"action": "block", "reason": "serves malware"})
        self.assertEqual(status, 200, text)
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("192.0.2.80"))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<news@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<user@example.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"From: news@example.test\r\nTo: user@example.com\r\n"
                   b"Date: Mon, 7 Dec 2026 01:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n"
                   b"Subject: news\r\nContent-Type: text/html\r\n\r\n"
                   b'<p>Read <a href="https://www.evil.example/offer">this</a></p>\r\n.\r\n')
            self.assertEqual(c.reply(), (554, f"5.7.1 Blocked - see {URL}?ip=192.0.2.80"))
            c.cmd("QUIT")

        # The note is written by the store's next flush (reputation.flush_interval).
        def noted():
            status, _, text = fetch(mx.portal_port, "/postmaster/?ip=192.0.2.80",
                                    "application/json")
            return status == 200 and json.loads(text)["linked_domain"] is not None
        wait_until(noted, 30, what="the linked-domain note on the portal")
        _, _, text = fetch(mx.portal_port, "/postmaster/?ip=192.0.2.80", "application/json")
        note = json.loads(text)["linked_domain"]
        self.assertEqual(note["domain"], "evil.example")
        self.assertEqual(note["listed_by"], "uri:evil.example")
        self.assertTrue(note["listed_by_us"])
        self.assertEqual(note["reason"], "serves malware")
        _, _, page = fetch(mx.portal_port, "/postmaster/?ip=192.0.2.80")
        self.assertIn('because it links to <strong class="domain">evil.example</strong>', page)
        self.assertIn("An infected website or domain: emails linked to it will be blocked.", page)
        self.assertIn("Find and remove the infection", page)
        self.assertEqual(sink.messages(), [], "nothing of a refused message reaches the downstream")


if __name__ == "__main__":
    unittest.main()
