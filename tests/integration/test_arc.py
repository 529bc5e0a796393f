"""ARC end to end (RFC 8617, issue 22): a mailing list at list.test relays a message from
author.test, which publishes p=reject. The list checks the author's DKIM signature (pass),
records that in its Authentication-Results field, then tags the Subject and appends a footer
(which breaks the signature) and seals the message with Debian's python3-dkim (dkim.arc_sign,
tests/integration/arc_seal.py). NSD serves the keys and the _dmarc record the test writes;
Postfix's smtp-sink is the downstream.
  - list.test in auth.trusted_arc_sealers: accepted; our Authentication-Results says dmarc=fail
    and arc=pass; the decision is logged with the sealer; dmarc_fail scored, not enforced.
  - not trusted: 550 5.7.1 for DMARC, arc=pass all the same.
  - trusted, but the seal tampered with after sealing: arc=fail, 550."""

import os
import re
import subprocess
import tempfile
import unittest

from dns_server import DEFAULT_ZONES, DnsServer
from harness import MxTestCase, require_tool, run_tool, mxgate_bin, wait_until
from test_auth import AuthGateway, txt_strings

HERE = os.path.dirname(os.path.abspath(__file__))

ORIGINAL = (b"From: Alice <alice@author.test>\r\n"
            b"To: members@list.test\r\n"
            b"Subject: Quarterly report\r\n"
            b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <arc-e2e-1@author.test>\r\n"
            b"\r\n"
            b"Hello list,\r\n\r\nthe numbers are in.\r\n")
LIST_RESULTS = (b"Authentication-Results: list.test; dkim=pass header.d=author.test header.s=auth;"
                b" dmarc=pass header.from=author.test\r\n")
REFUSED = "5.7.1 Rejected by the From domain's DMARC policy"

KEYS = None  # dknewkey's keys: "auth" (author.test's DKIM) and "list" (list.test's ARC)
DNS = None


def setUpModule():
    global KEYS, DNS
    KEYS = tempfile.TemporaryDirectory(prefix="mxgate-arc-")
    zones = {}
    for name, domain in (("auth", "author.test"), ("list", "list.test")):
        subprocess.run([require_tool("/usr/bin/dknewkey"), name], cwd=KEYS.name, check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        with open(os.path.join(KEYS.name, name + ".dns")) as f:
            zones[domain] = [f"{name}._domainkey TXT {txt_strings(f.read().strip())}"]
    zones["author.test"].append('_dmarc TXT "v=DMARC1; p=reject"')
    DNS = DnsServer(dict(DEFAULT_ZONES, **{d: "\n".join(r) for d, r in zones.items()}))
    DNS.start()


def tearDownModule():
    DNS.stop()
    KEYS.cleanup()


def key_file(name):
    return os.path.join(KEYS.name, name + ".key")


def through_the_list():
    """The author's signed message as the list relays it: results recorded, Subject tagged,
    footer added, then sealed."""
    signed = run_tool([require_tool("/usr/bin/dkimsign"), "auth", "author.test", key_file("auth")],
                      input=ORIGINAL).stdout
    changed = (signed.replace(b"Subject: Quarterly", b"Subject: [members] Quarterly")
               + b"-- \r\nmembers mailing list\r\n")
    sealed = run_tool([require_tool("/usr/bin/python3"), os.path.join(HERE, "arc_seal.py"),
                       "list", "list.test", key_file("list"), "list.test"],
                      input=LIST_RESULTS + changed)
    assert sealed.returncode == 0, sealed.stderr.decode()
    return signed, sealed.stdout


class ArcGatewayTest(AuthGateway, MxTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns = DNS
        cls.signed, cls.sealed = through_the_list()

    def test_the_list_broke_the_authors_signature(self):
        check = [mxgate_bin(), "dkim", "--dns", DNS.address]
        self.assertEqual(run_tool(check, input=self.signed).stdout.decode(),
                         "pass d=author.test s=auth\n")
        self.assertRegex(run_tool(check, input=self.sealed).stdout.decode(),
                         r"^fail d=author\.test s=auth ")
        self.assertTrue(self.sealed.startswith(b"ARC-Seal: i=1; cv=none;"), self.sealed[:200])

    def test_a_trusted_lists_seal_stops_the_dmarc_policy(self):
        sink = self.sink()
        mx = self.start(sink, **{"auth.trusted_arc_sealers": ["list.test"]})
        reply = self.deliver(self.sealed, ip="203.0.113.9", mail_from="members-bounces@list.test")
        self.assertEqual(reply[0], 250, reply)
        (message,) = sink.wait_for_messages(1)
        value = self.results_field(message.content)
        self.assertIn("; dkim=fail ", value)
        self.assertIn("; dmarc=fail (p=reject) header.from=author.test; ", value)
        self.assertIn("; arc=pass (i=1 d=list.test) header.oldest-pass=0 "
                      "smtp.remote-ip=203.0.113.9", value)
        header = self.header_section(message.content)
        self.assertIn("ARC-Seal: i=1; cv=none;", header, "the chain is relayed as it came")
        wait_until(lambda: re.search(r"dmarc_not_enforced .*from_domain=author\.test "
                                     r"policy=reject arc_sealer=list\.test "
                                     r'sealer_results="?dkim=pass header\.d=author\.test',
                                     mx.log()), 30, what="the dmarc_not_enforced log line")
        wait_until(lambda: "auth=spf:none,dkim:fail,arc:pass,dmarc:fail" in mx.log(), 30,
                   what="the transaction line's auth= field")
        self.assertEqual(mx.metric('mxgate_auth_results_total{method="arc",result="pass"}'), 1)
        self.assertEqual(mx.metric('mxgate_check_signals_total'
                                   '{check="dmarc",mode="enforce",signal="dmarc_fail"}'), 1)
        self.assertFalse(mx.metric('mxgate_verdicts_total'
                                   '{action="reject",signal="dmarc_fail",stage="end_of_data"}'),
                         "no series: nothing was refused for DMARC")

    def test_an_untrusted_lists_seal_changes_nothing(self):
        sink = self.sink()
        mx = self.start(sink, **{"auth.trusted_arc_sealers": ["other-list.test"]})
        reply = self.deliver(self.sealed, ip="203.0.113.9", mail_from="members-bounces@list.test")
        self.assertEqual(reply, (550, f"{REFUSED} - see "
                                      "https://postmaster.example.net/postmaster/?ip=203.0.113.9"))
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(mx.metric('mxgate_auth_results_total{method="arc",result="pass"}'), 1)
        self.assertNotIn("dmarc_not_enforced", mx.log())

    def test_a_tampered_seal_fails_and_the_policy_applies(self):
        sink = self.sink()
        mx = self.start(sink, **{"auth.trusted_arc_sealers": ["list.test"]})
        # What the list recorded, changed after sealing: the seal covers its ARC fields.
        tampered = self.sealed.replace(b"header.d=author.test header.s=auth;",
                                       b"header.d=author.test header.s=other;", 1)
        self.assertNotEqual(tampered, self.sealed)
        reply = self.deliver(tampered, ip="203.0.113.9", mail_from="members-bounces@list.test")
        self.assertEqual(reply[0], 550, reply)
        self.assertTrue(reply[1].startswith(REFUSED), reply)
        mx.wait_sessions_ended(1)
        self.assertEqual(mx.metric('mxgate_auth_results_total{method="arc",result="fail"}'), 1)
        wait_until(lambda: "auth=spf:none,dkim:fail,arc:fail,dmarc:fail" in mx.log(), 30,
                   what="the transaction line's auth= field")
        self.assertNotIn("dmarc_not_enforced", mx.log())


if __name__ == "__main__":
    unittest.main()
