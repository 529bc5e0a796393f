"""The content checks end to end (issue 17): a message linking to a domain a URI blocklist
lists ([[dnsbl]] type "uri", served by a real NSD) is refused at the end of data with
"554 5.7.1 Blocked" and reaches nothing downstream; a clean message passes; bulk mail signed by
an independent DKIM implementation (Debian's python3-dkim) with List-Unsubscribe and
List-Unsubscribe-Post in h= passes without bulk_no_one_click, unsigned bulk mail raises it;
format faults raise their signals; and `mxgate content check` prints what a postmaster needs
to see why a message scored."""

import os
import re
import subprocess
import tempfile
import unittest

from dns_server import DEFAULT_ZONES, DnsServer
from harness import (MxTestCase, SmtpClient, mxgate_bin, require_tool, run_tool, send_message,
                     wait_until)
from test_auth import stuffed, txt_strings
from test_proxy import proxy_v1

URL = "https://postmaster.example.net/postmaster/"

# A URI blocklist in the style of Spamhaus DBL: listings in 127.0.1.0/24, 127.0.1.255 for "IP
# queries prohibited", and the RFC 5782 §5 test names for its probe.
URI_ZONE = "\n".join([
    "test                A  127.0.1.2",
    "bad.example         A  127.0.1.2",
    "refused.example     A  127.0.1.255",
    "2.0.0.127           A  127.0.1.2",
])

KEYS = None  # the DKIM key of news.test (dknewkey)
DNS = None   # NSD with uri.test, news.test and the default zones


def setUpModule():
    global KEYS, DNS
    KEYS = tempfile.TemporaryDirectory(prefix="mxgate-content-")
    subprocess.run([require_tool("/usr/bin/dknewkey"), "--ktype", "rsa", "news"],
                   cwd=KEYS.name, check=True, stdout=subprocess.DEVNULL, timeout=60)
    with open(os.path.join(KEYS.name, "news.dns")) as f:
        key = f"news._domainkey TXT {txt_strings(f.read().strip())}"
    DNS = DnsServer(dict(DEFAULT_ZONES, **{"uri.test": URI_ZONE, "news.test": key}))
    DNS.start()


def tearDownModule():
    DNS.stop()
    KEYS.cleanup()


# python3-dkim's own signer, with the header fields to sign chosen (dkimsign signs its default
# list, which has no List-Unsubscribe-Post).
SIGNER = """
import sys, dkim
key, headers = sys.argv[1], sys.argv[2]
message = sys.stdin.buffer.read()
with open(key, "rb") as f:
    signature = dkim.sign(message, b"news", b"news.test", f.read(),
                          canonicalize=(b"relaxed", b"relaxed"),
                          include_headers=[h.encode() for h in headers.split(":")])
sys.stdout.buffer.write(signature + message)
"""


def sign(message, headers):
    result = run_tool(["/usr/bin/python3", "-c", SIGNER, os.path.join(KEYS.name, "news.key"),
                       ":".join(headers)], input=message)
    if result.returncode != 0:
        raise AssertionError(result.stderr.decode())
    return result.stdout


def message(body, extra=b"", date=True, message_id=True, sender=b"news@news.test"):
    header = b"From: News <" + sender + b">\r\nTo: bob@example.com\r\nSubject: content\r\n"
    if date:
        header += b"Date: Sun, 06 Dec 2026 23:00:00 +0000\r\n"
    if message_id:
        header += b"Message-ID: <content-1@news.test>\r\n"
    return header + extra + b"\r\n" + body


LINKING = message(b"Hello Bob,\r\n\r\nsee https://www.bad.example/x for the offer.\r\n")
CLEAN = message(b"Hello Bob,\r\n\r\nthe minutes are at https://www.example.test/minutes.\r\n")
ONE_CLICK = (b"List-Id: News <news.news.test>\r\n"
             b"List-Unsubscribe: <https://news.test/unsubscribe/opaque>\r\n"
             b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
BULK = message(b"This week's news.\r\n", extra=ONE_CLICK)
SIGNED_FIELDS = ["from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe",
                 "list-unsubscribe-post"]

URI_DNSBL = {"zone": "uri.test", "type": "uri", "returns": ["127.0.1.[2..99]"],
             "action": "reject"}


class ContentChecksTest(MxTestCase):
    """Clients outside trusted_networks (PROXY from documentation addresses) whose content is
    judged; scores out of reach, so only the listings' actions refuse."""

    def start(self, sink, **settings):
        config = {"dns.servers": [DNS.address], "reputation.trusted_networks": [],
                  "auth.enabled": True, "content.enabled": True,
                  "reputation.defer_at": 100.0, "reputation.reject_at": 100.0}
        config.update(settings)
        mx = self.mxgate(sink, settings=config, proxy=True, extra_tables=[("dnsbl", URI_DNSBL)])
        self.proxy_port = mx.proxy_port
        return mx

    def deliver(self, content, ip="192.0.2.25", mail_from="news@news.test"):
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1(ip))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            reply = send_message(c, mail_from, ["bob@example.com"], stuffed(content),
                                 check=False)
            c.cmd("QUIT")
            return reply

    @staticmethod
    def session_signals(mx):
        """The signals= fields of every session line so far, in order."""
        out = []
        for line in mx.session_lines():
            fields = [f for f in line.split(" ") if f.startswith("signals=")]
            out.append(fields[0][len("signals="):] if fields else "")
        return out

    def test_a_link_to_a_listed_domain_is_refused_and_nothing_is_relayed(self):
        sink = self.sink()
        mx = self.start(sink)
        reply = self.deliver(LINKING)
        self.assertEqual(reply, (554, f"5.7.1 Blocked - see {URL}?ip=192.0.2.25"))
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(mx.metric('mxgate_dnsbl_hits_total{zone="uri.test"}'), 1)
        self.assertEqual(mx.metric('mxgate_verdicts_total{action="reject",'
                                   'signal="uri_dnsbl_listed",stage="end_of_data"}'), 1)
        wait_until(lambda: "links to bad.example, listed in uri.test (127.0.1.2)" in mx.log(), 30,
                   what="the refusal's reason in the log")

    def test_a_clean_message_passes(self):
        sink = self.sink()
        mx = self.start(sink)
        self.assertEqual(self.deliver(CLEAN)[0], 250)
        (relayed,) = sink.wait_for_messages(1)
        self.assertIn(b"https://www.example.test/minutes", relayed.content)
        mx.wait_sessions_ended(1)
        self.assertNotIn("uri_", self.session_signals(mx)[-1])
        self.assertIn(mx.metric('mxgate_dnsbl_hits_total{zone="uri.test"}'), (None, 0))

    def test_observe_mode_only_counts_the_listing(self):
        sink = self.sink()
        mx = self.start(sink, **{"checks.linked_domains.mode": "observe"})
        self.assertEqual(self.deliver(LINKING)[0], 250)
        sink.wait_for_messages(1)
        self.assertEqual(mx.metric('mxgate_check_signals_total{check="linked_domains",'
                                   'mode="observe",signal="uri_dnsbl_listed"}'), 1)

    def test_signed_one_click_bulk_mail_passes_and_unsigned_raises_the_signal(self):
        sink = self.sink()
        mx = self.start(sink)
        self.assertEqual(self.deliver(sign(BULK, SIGNED_FIELDS))[0], 250)
        mx.wait_sessions_ended(1)
        self.assertNotIn("bulk_no_one_click", self.session_signals(mx)[0])
        self.assertEqual(self.deliver(BULK)[0], 250)
        mx.wait_sessions_ended(2)
        self.assertIn("bulk_unsubscribe:bulk_no_one_click:3", self.session_signals(mx)[1])
        # Signed, but List-Unsubscribe-Post left out of h=: RFC 8058 §4 is not met.
        partly = sign(BULK, [f for f in SIGNED_FIELDS if f != "list-unsubscribe-post"])
        self.assertEqual(self.deliver(partly)[0], 250)
        mx.wait_sessions_ended(3)
        self.assertIn("bulk_no_one_click", self.session_signals(mx)[2])
        self.assertEqual(mx.metric('mxgate_check_signals_total{check="bulk_unsubscribe",'
                                   'mode="enforce",signal="bulk_no_one_click"}'), 2)
        sink.wait_for_messages(3)

    def test_format_faults_raise_their_signals(self):
        sink = self.sink()
        mx = self.start(sink)
        faulty = message(b"--b1\r\nContent-Type: text/plain\r\n\r\nno end\r\n",
                         extra=b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
                               b"MIME-Version: 1.0\r\n",
                         date=False, message_id=False)
        self.assertEqual(self.deliver(faulty)[0], 250)
        mx.wait_sessions_ended(1)
        signals = self.session_signals(mx)[0]
        for signal in ("format:date_missing:1", "format:message_id_missing:0.5",
                       "format:mime_unterminated:1"):
            self.assertIn(signal, signals)
        self.assertEqual(mx.metric('mxgate_check_signals_total{check="format",'
                                   'mode="enforce",signal="date_missing"}'), 1)


class ContentCommandTest(MxTestCase):

    def check(self, config_path, content):
        result = run_tool([mxgate_bin(), "content", "check", "-c", config_path,
                           "--dns", DNS.address, "--dns-timeout-ms", "1000"], input=content)
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        return result.stdout.decode().splitlines(), result.stderr.decode()

    def test_findings_links_bulk_facts_and_score(self):
        mx = self.mxgate(None, settings={"dns.servers": [DNS.address]},
                         extra_tables=[("dnsbl", URI_DNSBL)])
        crafted = message(b"<a href=\"https://www.bad.example/x\">offer</a>\r\n"
                          b"and http://192.0.2.1/y and https://refused.example/\r\n",
                          extra=b"List-Id: <news.news.test>\r\nContent-Type: text/html\r\n",
                          date=False)
        lines, _ = self.check(mx.config_path, crafted)
        self.assertTrue(lines[0].startswith("date_missing "), lines)
        self.assertTrue(any(line.startswith("bulk_no_one_click bulk mail (List-Id) without "
                                            "one-click unsubscribe: no https List-Unsubscribe")
                            for line in lines), lines)
        uri = [line for line in lines if line.startswith("uri ")]
        self.assertEqual(len(uri), 3, lines)
        self.assertRegex(uri[0], r"^uri bad\.example https://www\.bad\.example/x store=\S+ "
                                 r"uri\.test=listed:127\.0\.1\.2$")
        self.assertRegex(uri[1], r"^uri 192\.0\.2\.1 http://192\.0\.2\.1/y store=\S+ "
                                 r"uri\.test=clean$")
        self.assertRegex(uri[2], r"^uri refused\.example https://refused\.example/ store=\S+ "
                                 r"uri\.test=error:127\.0\.1\.255$")
        self.assertIn("bulk yes because=List-Id https_unsubscribe=no one_click=no dkim_signed=no",
                      lines)
        self.assertEqual(lines[-1], "score format=1 bulk_unsubscribe=3 total=4")

    def test_a_clean_message_says_so_and_a_bad_dns_server_is_a_usage_error(self):
        mx = self.mxgate(None, settings={"dns.servers": [DNS.address]},
                         extra_tables=[("dnsbl", URI_DNSBL)])
        lines, _ = self.check(mx.config_path, CLEAN)
        self.assertEqual(lines[0].split(" ")[:3],
                         ["uri", "example.test", "https://www.example.test/minutes"])
        self.assertTrue(lines[0].endswith(" uri.test=clean"), lines)
        self.assertEqual(lines[1:], [
            "bulk no because=\"\" https_unsubscribe=no one_click=no dkim_signed=no",
            "score format=0 bulk_unsubscribe=0 total=0"])
        result = run_tool([mxgate_bin(), "content", "check", "-c", mx.config_path,
                           "--dns", "not a host"], input=CLEAN)
        self.assertEqual(result.returncode, 2, result.stderr.decode())
        result = run_tool([mxgate_bin(), "content", "check", "-c", "/nonexistent/mxgate.toml"],
                          input=CLEAN)
        self.assertEqual(result.returncode, 78, result.stderr.decode())


if __name__ == "__main__":
    unittest.main()
