"""Email authentication end to end: `mxgate spf`, `mxgate dkim` and `mxgate auth` (the
command-line contract of issue 5), then the gateway itself (SPF at MAIL, DKIM and DMARC at the
end of data, Authentication-Results on relayed mail, DMARC policies enforced), against a real DNS
server (NSD) serving the records the test writes, messages signed by an independent DKIM
implementation (Debian's python3-dkim: dknewkey, dkimsign) and Postfix's smtp-sink downstream."""

import os
import re
import subprocess
import tempfile
import unittest

from dns_server import DEFAULT_ZONES, DnsServer, SilentServer
from harness import (MxTestCase, SmtpClient, mxgate_bin, require_tool, run_tool, send_message,
                     wait_until)
from test_proxy import proxy_v1

SPF_ZONE = "\n".join([
    '@          TXT  "v=spf1 ip4:192.0.2.0/24 include:inc.spf.test -all"',
    '@          MX   10 mail',
    'mail       A    198.51.100.5',
    'inc        TXT  "v=spf1 a:mail.spf.test ~all"',
    'soft       TXT  "v=spf1 ?ip4:203.0.113.1 ~all"',
    'mx         TXT  "v=spf1 mx:spf.test -all"',
    'two        TXT  "v=spf1 -all"',
    'two        TXT  "v=spf1 +all"',
    'broken     TXT  "v=spf1 ip4:192.0.2.1 bogus:x -all"',
    'deny       TXT  "v=spf1 -all exp=why.spf.test"',
    'why        TXT  "%{i} may not send mail for %{d}"',
    'macro      TXT  "v=spf1 exists:%{l1r-}.%{ir}.allow.spf.test -all"',
    'user.7.2.0.192.allow A 127.0.0.2',
    'noinc      TXT  "v=spf1 include:nothing.spf.test -all"',
    'helo       TXT  "v=spf1 ip4:192.0.2.77 -all"',
    'nospf      A    192.0.2.1',
])

MESSAGE = (b"From: Alice <alice@dkim.test>\r\n"
           b"To: bob@example.com\r\n"
           b"Subject: signed by python3-dkim\r\n"
           b"Date: Sat, 28 Nov 2026 23:00:00 +0000\r\n"
           b"Message-ID: <auth-test-1@dkim.test>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n\r\nthis message is signed.\r\n")


def txt_strings(value):
    """A TXT value as master-file character-strings of at most 255 octets (RFC 1035 §3.3)."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


KEYS = None  # the DKIM keys (dknewkey), for the whole module
DNS = None   # NSD with spf.test, dkim.test and the default zones


def setUpModule():
    global KEYS, DNS
    KEYS = tempfile.TemporaryDirectory(prefix="mxgate-dkim-")
    records = []
    for name, ktype in (("rsa", "rsa"), ("ed", "ed25519")):
        subprocess.run([require_tool("/usr/bin/dknewkey"), "--ktype", ktype, name],
                       cwd=KEYS.name, check=True, stdout=subprocess.DEVNULL, timeout=60)
        with open(os.path.join(KEYS.name, name + ".dns")) as f:
            records.append(f"{name}._domainkey TXT {txt_strings(f.read().strip())}")
    records.append('revoked._domainkey TXT "v=DKIM1; k=rsa; p="')
    records.append('_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@dkim.test"')
    records.append('_dmarc.quarantine TXT "v=DMARC1; p=quarantine"')
    records.append('_dmarc.sampled TXT "v=DMARC1; p=reject; pct=0"')
    records.append('_dmarc.watched TXT "v=DMARC1; p=none"')
    DNS = DnsServer(dict(DEFAULT_ZONES, **{"spf.test": SPF_ZONE,
                                           "dkim.test": "\n".join(records)}))
    DNS.start()


def tearDownModule():
    DNS.stop()
    KEYS.cleanup()


def sign(selector, message=MESSAGE, canon="relaxed", algorithm="rsa-sha256"):
    return run_tool(["/usr/bin/dkimsign", "--hcanon", canon, "--bcanon", canon,
                     "--signalg", algorithm, selector, "dkim.test",
                     os.path.join(KEYS.name, selector + ".key")],
                    input=message).stdout


class AuthCommandsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dns = DNS

    def mxgate(self, args, input=None, dns=None):
        result = run_tool([mxgate_bin(), *args, "--dns", dns or self.dns.address,
                           "--dns-timeout-ms", "1000"], input=input)
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        return result.stdout.decode()

    def spf(self, ip, sender, helo="mx.client.test", dns=None):
        line = self.mxgate(["spf", "--ip", ip, "--sender", sender, "--helo", helo], dns=dns)
        self.assertEqual(line.count("\n"), 1, line)
        return line.strip()

    def first_word(self, *args, **kwargs):
        return self.spf(*args, **kwargs).split(" ", 1)[0]

    def test_spf_results(self):
        self.assertEqual(self.first_word("192.0.2.10", "a@spf.test"), "pass")
        self.assertEqual(self.first_word("198.51.100.5", "a@spf.test"), "pass",
                         "through include:inc.spf.test's a:mail.spf.test")
        self.assertEqual(self.first_word("203.0.113.9", "a@spf.test"), "fail")
        self.assertEqual(self.first_word("203.0.113.9", "a@soft.spf.test"), "softfail")
        self.assertEqual(self.first_word("203.0.113.1", "a@soft.spf.test"), "neutral")
        self.assertEqual(self.first_word("198.51.100.5", "a@mx.spf.test"), "pass")
        self.assertEqual(self.first_word("192.0.2.1", "a@nospf.spf.test"), "none")
        self.assertEqual(self.first_word("192.0.2.1", "a@nowhere.spf.test"), "none")
        self.assertEqual(self.first_word("192.0.2.7", "user@macro.spf.test"), "pass")
        self.assertEqual(self.first_word("192.0.2.8", "user@macro.spf.test"), "fail")

    def test_spf_errors_and_explanations(self):
        self.assertTrue(self.spf("192.0.2.1", "a@two.spf.test").startswith("permerror "))
        self.assertTrue(self.spf("192.0.2.1", "a@broken.spf.test").startswith("permerror "))
        self.assertTrue(self.spf("192.0.2.1", "a@noinc.spf.test").startswith("permerror "))
        self.assertEqual(self.spf("192.0.2.33", "a@deny.spf.test"),
                         "fail 192.0.2.33 may not send mail for deny.spf.test")
        with SilentServer() as silent:
            self.assertTrue(
                self.spf("192.0.2.1", "a@spf.test", dns=f"127.0.0.1:{silent.port}")
                .startswith("temperror "))

    def test_spf_null_sender_uses_the_helo_name(self):
        self.assertEqual(self.first_word("192.0.2.77", "<>", helo="helo.spf.test"), "pass")
        self.assertEqual(self.first_word("192.0.2.78", "", helo="helo.spf.test"), "fail")

    def test_spf_bad_arguments(self):
        result = run_tool([mxgate_bin(), "spf", "--ip", "not-an-ip", "--sender", "a@b.test",
                           "--helo", "x.test"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("not an IP address", result.stderr.decode())
        result = run_tool([mxgate_bin(), "spf", "--ip", "192.0.2.1"])
        self.assertNotEqual(result.returncode, 0)

    def sign(self, *args, **kwargs):
        return sign(*args, **kwargs)

    def test_dkim_signed_by_python3_dkim(self):
        for selector, algorithm in (("rsa", "rsa-sha256"), ("ed", "ed25519-sha256")):
            for canon in ("relaxed", "simple"):
                signed = self.sign(selector, canon=canon, algorithm=algorithm)
                self.assertTrue(signed.startswith(b"DKIM-Signature:"), signed[:100])
                self.assertEqual(self.mxgate(["dkim"], input=signed),
                                 f"pass d=dkim.test s={selector}\n", (algorithm, canon))
                body = signed.replace(b"this message is signed", b"this message is forged")
                self.assertRegex(self.mxgate(["dkim"], input=body),
                                 rf"^fail d=dkim\.test s={selector} .*body hash")
                header = signed.replace(b"Subject: signed", b"Subject: forged")
                self.assertRegex(self.mxgate(["dkim"], input=header),
                                 rf"^fail d=dkim\.test s={selector} ")

    def test_dkim_lines_in_message_order_and_key_problems(self):
        twice = self.sign("ed", message=self.sign("rsa"), algorithm="ed25519-sha256")
        self.assertEqual(self.mxgate(["dkim"], input=twice),
                         "pass d=dkim.test s=ed\npass d=dkim.test s=rsa\n")
        self.assertEqual(self.mxgate(["dkim"], input=MESSAGE), "none\n")
        signed = self.sign("rsa")
        self.assertRegex(self.mxgate(["dkim"], input=signed.replace(b"s=rsa", b"s=revoked")),
                         r"^permerror d=dkim\.test s=revoked")
        self.assertRegex(self.mxgate(["dkim"], input=signed.replace(b"s=rsa", b"s=gone")),
                         r"^permerror d=dkim\.test s=gone")
        self.assertRegex(self.mxgate(["dkim"], input=b"DKIM-Signature: v=1; a=rsa-sha1\r\n"
                                     + MESSAGE),
                         r"^neutral d= s=")
        field = re.match(rb"DKIM-Signature:.*?\r\n(?=\S)", signed, re.S).group(0)  # folded
        crowded = field * 25 + signed[len(field):]  # the same signature 25 times
        lines = self.mxgate(["dkim"], input=crowded).splitlines()
        self.assertEqual(len(lines), 25)
        self.assertEqual(lines[:20], ["pass d=dkim.test s=rsa"] * 20)
        self.assertEqual(lines[20:],
                         ["neutral d=dkim.test s=rsa not verified: more than 20 signatures"] * 5)
        with SilentServer() as silent:
            self.assertRegex(self.mxgate(["dkim"], input=signed, dns=f"127.0.0.1:{silent.port}"),
                             r"^temperror d=dkim\.test s=rsa")

    def auth(self, message, ip="192.0.2.25", sender="a@spf.test", helo="mail.example.test"):
        line = self.mxgate(["auth", "--ip", ip, "--helo", helo, "--sender", sender],
                           input=message)
        self.assertEqual(line.count("\n"), 1, line)
        return line.strip()

    def test_auth_results_for_an_aligned_message(self):
        value = self.auth(self.sign("rsa"))
        self.assertRegex(value,
                         r"^[^;\s]+; spf=pass smtp\.mailfrom=a@spf\.test; "
                         # header.b: 8 base64 characters, quoted when one is "/" (RFC 8601
                         # values are tokens or quoted strings)
                         r"dkim=pass header\.d=dkim\.test header\.s=rsa "
                         r"header\.b=(\"[A-Za-z0-9+/]{8}\"|[A-Za-z0-9+]{8}); "
                         r"dmarc=pass \(p=reject\) header\.from=dkim\.test; arc=none; "
                         r"iprev=pass policy\.iprev=192\.0\.2\.25 \(mail\.example\.test\)$")

    def test_auth_results_when_nothing_aligns(self):
        forged = self.sign("rsa").replace(b"this message is signed", b"this message is forged")
        value = self.auth(forged, ip="203.0.113.9", sender="")
        self.assertIn("; spf=none smtp.helo=mail.example.test; ", value)
        self.assertIn('; dkim=fail reason="body hash mismatch" header.d=dkim.test', value)
        self.assertIn("; dmarc=fail (p=reject) header.from=dkim.test; ", value)
        self.assertRegex(value, r"; iprev=(fail|temperror) policy\.iprev=203\.0\.113\.9")
        two_from = MESSAGE.replace(b"From: Alice <alice@dkim.test>",
                                   b"From: alice@dkim.test, eve@evil.test")
        value = self.auth(two_from)
        self.assertIn("; dkim=none; ", value)
        self.assertIn('; dmarc=fail reason="From holds several addresses"; ', value)


URL = "https://postmaster.example.net/postmaster/"
OUR_ID = "mx.test.example"  # the harness's server.hostname, our authserv-id


def stuffed(message):
    """DATA content: transparency dots added (RFC 5321 §4.5.2)."""
    return b"\r\n".join(b"." + line if line.startswith(b".") else line
                         for line in message.split(b"\r\n"))


class AuthGateway:
    """What the gateway tests of authentication share (test_auth, test_arc): an mxgate that
    authenticates mail from clients outside trusted_networks (PROXY from documentation
    addresses) and asks the DNS server `self.dns`, a delivery, and our Authentication-Results
    field. Mixed into an MxTestCase."""

    dns = None  # the DnsServer, set by the test class

    def start(self, sink, **settings):
        config = {"dns.servers": [self.dns.address], "reputation.trusted_networks": [],
                  "auth.enabled": True,
                  # Scores out of reach: only DMARC's explicit policies refuse here.
                  "reputation.defer_at": 100.0, "reputation.reject_at": 100.0,
                  "checks.rdns.mode": "enforce"}
        config.update(settings)
        mx = self.mxgate(sink, settings=config, proxy=True)
        self.proxy_port = mx.proxy_port
        return mx

    def deliver(self, message, ip="192.0.2.25", mail_from="a@spf.test", bdat=False):
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1(ip))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            if not bdat:
                reply = send_message(c, mail_from, ["bob@example.com"], stuffed(message))
            else:
                self.assertEqual(c.cmd(f"MAIL FROM:<{mail_from}>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<bob@example.com>")[0], 250)
                half = len(message) // 3  # a chunk boundary inside the header section
                c.send(b"BDAT %d\r\n" % half + message[:half])
                self.assertEqual(c.reply()[0], 250)
                rest = message[half:]
                c.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
                reply = c.reply()
            c.cmd("QUIT")
            return reply

    @staticmethod
    def header_section(content):
        return content.split(b"\n\n", 1)[0].decode()

    def results_field(self, content):
        """Our Authentication-Results field, unfolded."""
        fields = re.findall(r"^Authentication-Results: (.*(?:\n[ \t].*)*)",
                            self.header_section(content), re.M)
        ours = [f for f in fields if f.startswith(OUR_ID + ";")]
        self.assertEqual(len(ours), 1, fields)
        return re.sub(r"\n[ \t]+", " ", ours[0])



class GatewayAuthTest(AuthGateway, MxTestCase):
    """The gateway authenticates mail from clients outside trusted_networks (PROXY from
    documentation addresses), adds Authentication-Results, and applies DMARC policies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns = DNS

    def test_an_aligned_message_is_relayed_with_its_results(self):
        sink = self.sink()
        mx = self.start(sink)
        forged = (f"Authentication-Results: {OUR_ID}; dkim=pass header.d=bank.test\r\n"
                  f"Authentication-Results: relay.example.org; spf=pass\r\n").encode()
        signed = sign("rsa")
        self.assertEqual(self.deliver(forged + signed)[0], 250)
        self.assertEqual(self.deliver(sign("ed", algorithm="ed25519-sha256"), bdat=True)[0], 250)
        messages = sink.wait_for_messages(2)
        by_selector = {re.search(r"header\.s=(\w+)", self.results_field(m.content)).group(1): m
                       for m in messages}
        first = by_selector["rsa"]
        for selector, message in by_selector.items():
            value = self.results_field(message.content)
            self.assertRegex(value, rf"^{re.escape(OUR_ID)}; spf=pass smtp\.mailfrom=a@spf\.test; "
                                    rf"dkim=pass header\.d=dkim\.test header\.s={selector} "
                                    rf"header\.b=\S+; dmarc=pass \(p=reject\) "
                                    rf"header\.from=dkim\.test; arc=none; iprev=pass "
                                    rf"policy\.iprev=192\.0\.2\.25 \(mail\.example\.test\)$")
            header = self.header_section(message.content)
            self.assertTrue(header.startswith("Received: "), header[:200])
            self.assertLess(header.index("Received: "), header.index("Authentication-Results: "))
        header = self.header_section(first.content)
        self.assertNotIn("header.d=bank.test", header, "a field claiming our id was removed")
        self.assertIn("Authentication-Results: relay.example.org; spf=pass", header)
        # The relayed message still verifies: nothing it signed was touched.
        relayed = first.content_crlf[first.content_crlf.index(b"DKIM-Signature:"):]
        self.assertEqual(run_tool([mxgate_bin(), "dkim", "--dns", DNS.address],
                                  input=relayed).stdout.decode(), "pass d=dkim.test s=rsa\n")
        wait_until(lambda: "auth=spf:pass,dkim:pass,dmarc:pass" in mx.log(), 30,
                   what="the transaction line's auth= field")
        self.assertGreaterEqual(mx.metric('mxgate_dns_queries_total{outcome="answer",type="txt"}'), 3)
        # Reputation updates per message: the IP, its /24, the sender domain spf.test (SPF
        # passed) and the two domains that authenticated (auth_domain: spf.test, dkim.test).
        self.assertEqual(mx.metric('mxgate_reputation_updates_total{result="written"}'), 10)
        for method in ("spf", "dkim", "dmarc", "iprev"):
            self.assertEqual(mx.metric(f'mxgate_auth_results_total{{method="{method}",result="pass"}}'),
                             2, method)
        self.assertEqual(mx.metric('mxgate_auth_results_total{method="arc",result="none"}'), 2)

    def test_dmarc_reject_refuses_with_the_portal_link(self):
        sink = self.sink()
        mx = self.start(sink)
        forged = sign("rsa").replace(b"this message is signed", b"this message is forged")
        reply = self.deliver(forged, ip="203.0.113.9")
        self.assertEqual(reply, (550, "5.7.1 Rejected by the From domain's DMARC policy - see "
                                      f"{URL}?ip=203.0.113.9"))
        unsigned = self.deliver(MESSAGE, ip="192.0.2.25", mail_from="a@other.example.test")
        self.assertEqual(unsigned[0], 550, "nothing aligned with dkim.test")
        mx.wait_sessions_ended(2)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(mx.metric('mxgate_check_signals_total'
                                   '{check="dmarc",mode="enforce",signal="dmarc_fail"}'), 2)
        self.assertEqual(mx.metric('mxgate_verdicts_total'
                                   '{action="reject",signal="dmarc_fail",stage="end_of_data"}'), 2)
        self.assertGreaterEqual(mx.metric('mxgate_check_signals_total'
                                          '{check="spf",mode="enforce",signal="spf_fail"}'), 1)
        # Only the IP and its /24 are charged: a forger must not spend spf.test's (SPF failed)
        # or other.example.test's (nothing authenticated it) good name.
        self.assertEqual(mx.metric('mxgate_reputation_updates_total{result="written"}'), 4)
        mx.stop()
        shown = run_tool([mxgate_bin(), "rep", "get", "203.0.113.9", "-c", mx.config_path])
        self.assertEqual(shown.returncode, 0, shown.stderr.decode())
        self.assertRegex(shown.stdout.decode(), r"rejected=1 .*auth_failures=1 ")

    def test_quarantine_and_policies_not_enforced(self):
        sink = self.sink()
        mx = self.start(sink, **{"auth.dmarc_reject": False})
        for domain in ("quarantine.dkim.test", "dkim.test", "sampled.dkim.test",
                       "watched.dkim.test"):
            message = MESSAGE.replace(b"alice@dkim.test", b"alice@" + domain.encode())
            self.assertEqual(self.deliver(message, mail_from="a@other.example.test")[0], 250,
                             domain)
        by_domain = {re.search(r"^From: .*@(\S+)>$", self.header_section(m.content),
                               re.M).group(1): m for m in sink.wait_for_messages(4)}
        messages = [by_domain[domain] for domain in ("quarantine.dkim.test", "dkim.test",
                                                     "sampled.dkim.test", "watched.dkim.test")]
        marks = [re.search(r"^X-Mxgate-Quarantine: (.*)$", self.header_section(m.content), re.M)
                 for m in messages]
        # p=quarantine; p=reject with dmarc_reject = false; pct=0 (the next milder policy,
        # quarantine); p=none: accepted unmarked.
        self.assertTrue(marks[0] and marks[0].group(1).startswith("signal=dmarc_fail;"), marks)
        self.assertTrue(marks[1] and marks[2], marks)
        self.assertIsNone(marks[3])
        for m in messages:
            self.assertRegex(self.results_field(m.content), r"; dmarc=fail ")
        self.assertEqual(mx.metric('mxgate_quarantined_total'), 3)
        self.assertEqual(mx.metric('mxgate_verdicts_total'
                                   '{action="quarantine",signal="dmarc_fail",stage="end_of_data"}'),
                         3)
        self.assertGreaterEqual(mx.metric('mxgate_check_signals_total'
                                          '{check="dmarc",mode="enforce",signal="unauthenticated"}'),
                                4)

    def test_trusted_clients_and_disabled_auth_pass_untouched(self):
        sink = self.sink()
        self.start(sink, **{"auth.enabled": False})
        self.assertEqual(self.deliver(MESSAGE)[0], 250)
        (message,) = sink.wait_for_messages(1)
        self.assertNotIn("Authentication-Results", self.header_section(message.content))


if __name__ == "__main__":
    unittest.main()
