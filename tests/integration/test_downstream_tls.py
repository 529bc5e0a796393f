"""TLS toward the mailbox servers (issue 21), end to end: [[route]] tls = "none" | "may" |
"encrypt" | "verify" against a real Postfix with a certificate (postfix_peer) that relays to
smtp-sink. "verify" delivers when tls_ca_file vouches for the certificate under the downstream's
address or name, or when a tls_fingerprints entry matches it, and refuses to relay (4xx, nothing
delivered) otherwise; "none" never says STARTTLS; "encrypt" refuses a downstream without it."""

import os
import re
import tempfile
import unittest

from harness import MxTestCase, SmtpClient, run_tool
from postfix_peer import start_postfix


def make_certificate(folder, name, alt_names):
    """A self-signed certificate (its own CA) for `alt_names`: (cert, key, SHA-256 fingerprint
    as openssl prints it)."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    run_tool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
              "-days", "2", "-addext", f"subjectAltName={alt_names}",
              "-keyout", key, "-out", cert])
    os.chmod(key, 0o644)  # Postfix's smtpd reads it as the postfix user
    printed = run_tool(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert])
    return cert, key, printed.stdout.decode().strip()


class DownstreamTlsTest(MxTestCase):

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="mxgate-downstream-tls-")
        os.chmod(cls.folder, 0o755)
        cls.good = make_certificate(cls.folder, "mailbox", "IP:127.0.0.1,DNS:localhost")
        cls.other = make_certificate(cls.folder, "stranger", "IP:127.0.0.1,DNS:localhost")

    def postfix(self, sink):
        cert, key, _ = self.good
        return start_postfix(self, sink.address, ["bob@example.com"],
                             smtpd_tls_cert_file=cert, smtpd_tls_key_file=key,
                             smtpd_tls_security_level="may", smtpd_tls_loglevel=1)

    def start(self, downstream, **route):
        route = {"domains": ["example.com"], "downstream": [downstream], **route}
        return self.mxgate(settings={"reputation.trusted_networks": []}, routes=[route])

    def send(self, mx):
        """One message to bob@example.com: the reply to the end of data (or to RCPT when the
        relay refused it there)."""
        with SmtpClient(mx.port) as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("client.example.org")
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.org>")[0], 250)
            code, text = c.cmd("RCPT TO:<bob@example.com>")
            if code != 250:
                return code, text
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: downstream tls\r\n\r\nhello\r\n.\r\n")
            return c.reply()

    def test_verify_delivers_with_the_right_ca_by_address_and_by_name(self):
        sink = self.sink()
        pf = self.postfix(sink)
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                mx = self.start(f"{host}:{pf.port}", tls="verify", tls_ca_file=self.good[0])
                code, text = self.send(mx)
                self.assertEqual(code, 250, text)
        messages = sink.wait_for_messages(2)
        for message in messages:
            self.assertIn("with ESMTPS id", message.content.decode(errors="replace"))
        self.assertIn("TLS connection established from localhost[127.0.0.1]", pf.log())

    def test_verify_refuses_a_certificate_its_ca_does_not_vouch_for(self):
        sink = self.sink()
        pf = self.postfix(sink)
        mx = self.start(f"127.0.0.1:{pf.port}", tls="verify", tls_ca_file=self.other[0])
        code, text = self.send(mx)
        self.assertEqual(code // 100, 4, text)
        self.assertRegex(mx.log(), r"relay downstream=127\.0\.0\.1:\d+ error=")
        self.assertEqual(sink.messages(), [])

    def test_a_fingerprint_pins_the_certificate(self):
        sink = self.sink()
        pf = self.postfix(sink)
        mx = self.start(f"127.0.0.1:{pf.port}", tls="verify", tls_fingerprints=[self.good[2]])
        code, text = self.send(mx)
        self.assertEqual(code, 250, text)
        sink.wait_for_messages(1)
        pinned_other = self.start(f"127.0.0.1:{pf.port}", tls="verify",
                                  tls_fingerprints=[self.other[2]])
        code, text = self.send(pinned_other)
        self.assertEqual(code // 100, 4, text)
        self.assertEqual(len(sink.messages()), 1)

    def test_none_never_says_starttls_and_encrypt_needs_it(self):
        sink = self.sink()
        pf = self.postfix(sink)
        mx = self.start(f"127.0.0.1:{pf.port}", tls="none")
        code, text = self.send(mx)
        self.assertEqual(code, 250, text)
        sink.wait_for_messages(1)
        self.assertNotIn("TLS connection established", pf.log())
        self.assertNotIn("with ESMTPS", sink.messages()[0].content.decode(errors="replace"))
        # smtp-sink offers no STARTTLS: "encrypt" does not relay to it.
        plain = self.sink()
        mx = self.start(plain.address, tls="encrypt")
        code, text = self.send(mx)
        self.assertEqual(code // 100, 4, text)
        self.assertEqual(plain.messages(), [])
        self.assertTrue(re.search(r"error=\S*", mx.log()))


if __name__ == "__main__":
    unittest.main()
