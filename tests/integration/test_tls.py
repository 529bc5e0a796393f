"""STARTTLS (RFC 3207) against real TLS clients: openssl s_client, swaks, Python's ssl."""

import calendar
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import (HOSTNAME, MxTestCase, certificate, require_tool, run_tool,
                     start_on_free_ports, strip_received, wait_listening)

SESSION = (b"EHLO client.example.org\n"
           b"MAIL FROM:<s@example.org>\n"
           b"RCPT TO:<u@example.com>\n"
           b"DATA\n"
           b"Subject: over TLS\n"
           b"\n"
           b"sent through openssl s_client\n"
           b".\n"
           b"QUIT\n")

# A client that is willing to speak TLS 1.1 (OpenSSL 3 refuses it at security level 1).
LEGACY_CLIENT = ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]


def make_certificate(folder, name, key_type="rsa"):
    """A self-signed certificate for `name` with an RSA 2048 or ECDSA P-256 key: (cert, key)."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    new_key = ["-newkey", "rsa:2048"] if key_type == "rsa" else [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run_tool(["openssl", "req", "-x509", *new_key, "-nodes", "-subj", f"/CN={name}", "-days", "2",
              "-keyout", key, "-out", cert])
    return cert, key


def testssl(port, folder, args=()):
    """testssl.sh (Debian's `testssl`) against STARTTLS on `port`: its findings as parsed from
    --jsonfile (a list of {id, severity, finding})."""
    out = os.path.join(folder, f"testssl-{time.monotonic_ns()}.json")
    # --nodns none: loopback only, no name lookups (a machine without DNS would wait for them).
    result = run_tool(["testssl", "--quiet", "--color", "0", "--warnings", "batch",
                       "--nodns", "none", "--jsonfile", out, *args,
                       "--starttls", "smtp", f"127.0.0.1:{port}"],
                      timeout=280)
    if not os.path.exists(out):
        raise AssertionError("testssl wrote no findings:\n"
                             + result.stdout.decode(errors="replace")[-3000:])
    with open(out) as f:
        return json.load(f)


def reply_codes(text):
    return [int(m.group(1)) for m in re.finditer(r"^(\d{3}) ", text, re.MULTILINE)]


def s_client(port, extra=(), stdin=SESSION, timeout=60):
    """openssl s_client -starttls smtp; stdin lines are sent with CRLF. -ign_eof keeps the
    session open after stdin ends (and stops s_client from treating "Q"/"R" lines as its own
    commands); the server's 221 ends it."""
    return run_tool(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}",
                     "-servername", HOSTNAME, "-crlf", "-ign_eof", *extra],
                    input=stdin, timeout=timeout)


class TlsTest(MxTestCase):

    def test_openssl_s_client_relays_a_message_over_tls_1_3(self):
        sink = self.sink()
        mx = self.mxgate(sink, tls=True)
        result = s_client(mx.port)
        out = result.stdout.decode(errors="replace")
        # (s_client's exit status is checked in test_quit_over_tls_ends_with_a_close_notify.)
        self.assertRegex(out, r"Protocol\s*: TLSv1\.3",
                         out + result.stderr.decode(errors="replace"))
        self.assertRegex(out, r"subject=CN ?= ?mx\.test\.example")
        codes = reply_codes(out)
        # EHLO (last line), MAIL, RCPT, DATA, end of data, QUIT
        self.assertEqual(codes[-5:], [250, 250, 354, 250, 221], out)
        [msg] = sink.wait_for_messages(1)
        received, rest = strip_received(msg.content)
        self.assertRegex(received, rb"with ESMTPS id [0-9A-F]+\n\t\(version=TLSv1\.3 cipher=\S+\)")
        self.assertEqual(rest, b"Subject: over TLS\n\nsent through openssl s_client\n")
        self.assertEqual(mx.metric('mxgate_tls_handshakes_total{result="ok",version="TLSv1.3"}'), 1)

    def test_the_certificate_expiry_is_a_gauge(self):
        mx = self.mxgate(self.sink(), tls=True)
        cert, _ = certificate()
        end = run_tool(["openssl", "x509", "-enddate", "-noout", "-in", cert]).stdout.decode()
        not_after = calendar.timegm(time.strptime(end.strip().split("=", 1)[1],
                                                  "%b %d %H:%M:%S %Y %Z"))
        self.assertEqual(mx.metric(
            f'mxgate_tls_certificate_expiry_timestamp_seconds{{certificate="{cert}"}}'), not_after)

    def test_testssl_finds_nothing_high_or_critical_in_the_default_setting(self):
        mx = self.mxgate(self.sink(), tls=True)
        findings = testssl(mx.port, tempfile.mkdtemp(prefix="mxgate-testssl-"),
                           ["--protocols", "--std", "--server-defaults", "--server-preference",
                            "--vulnerable"])
        # The certificate's own findings (self-signed, valid for 2 days, no OCSP) are about the
        # test's certificate, not about mxgate's TLS: the operator brings the certificate.
        bad = [f for f in findings if f.get("severity") in ("HIGH", "CRITICAL")
               and not f["id"].startswith("cert_")]
        self.assertEqual(bad, [])
        by_id = {f["id"]: f for f in findings}
        self.assertEqual(by_id["TLS1_3"]["finding"], "offered with final")
        self.assertEqual(by_id["TLS1"]["finding"], "not offered")
        self.assertIn("offered", by_id["FS"]["finding"] if "FS" in by_id else
                      by_id.get("PFS", {}).get("finding", "offered"))

    def test_a_modern_cipher_setting_offers_no_cbc_and_no_static_rsa(self):
        mx = self.mxgate(self.sink(), tls=True,
                         settings={"tls.ciphers": "ECDHE+AESGCM:ECDHE+CHACHA20"})
        findings = testssl(mx.port, tempfile.mkdtemp(prefix="mxgate-testssl-"), ["--each-cipher"])
        offered = [f["finding"] for f in findings if f["id"].startswith("cipher_x")]
        self.assertTrue(offered, findings)
        self.assertFalse([c for c in offered if "CBC" in c or " RSA " in c.split("TLS_")[0]
                          or "_CBC_" in c], offered)
        self.assertTrue(all("ECDH" in c or "TLS_AES" in c or "TLS_CHACHA20" in c
                            for c in offered), offered)
        # With the default setting, the same client gets CBC for old senders.
        plain = self.mxgate(self.sink(), tls=True)
        result = s_client(plain.port, ["-tls1_2", "-cipher", "AES128-SHA"], stdin=b"QUIT\n")
        self.assertRegex(result.stdout.decode(errors="replace"), r"Cipher\s*: AES128-SHA")
        result = s_client(mx.port, ["-tls1_2", "-cipher", "AES128-SHA"], stdin=b"QUIT\n")
        self.assertNotRegex(result.stdout.decode(errors="replace"), r"Cipher\s*: AES128-SHA")

    def test_rsa_and_ecdsa_side_by_side_and_a_certificate_per_server_name(self):
        folder = tempfile.mkdtemp(prefix="mxgate-certs-")
        rsa = make_certificate(folder, "mx.test.example")
        ecdsa = make_certificate(folder, "mx.test.example-ec", "ec")
        named = make_certificate(folder, "mx2.example.net")
        mx = self.mxgate(self.sink(), settings={"tls.certificate": rsa[0],
                                                "tls.private_key": rsa[1]},
                         extra_tables=[
                             ("tls.certificates", {"certificate": ecdsa[0],
                                                   "private_key": ecdsa[1]}),
                             ("tls.certificates", {"certificate": named[0],
                                                   "private_key": named[1],
                                                   "server_names": ["mx2.example.net",
                                                                    "*.mx.example.net"]})])

        def subject(extra):
            out = s_client(mx.port, extra, stdin=b"QUIT\n").stdout.decode(errors="replace")
            found = re.search(r"subject=CN ?= ?(\S+)", out)
            self.assertIsNotNone(found, out)
            return found.group(1)

        self.assertEqual(subject(["-tls1_2", "-sigalgs", "ECDSA+SHA256"]), "mx.test.example-ec")
        self.assertEqual(subject(["-tls1_2", "-sigalgs", "RSA+SHA256"]), "mx.test.example")
        self.assertEqual(subject(["-servername", "mx2.example.net"]), "mx2.example.net")
        self.assertEqual(subject(["-servername", "a.mx.example.net"]), "mx2.example.net")
        self.assertIn(subject(["-servername", "other.example.org"]),
                      ("mx.test.example", "mx.test.example-ec"))
        for path in (rsa[0], ecdsa[0], named[0]):
            self.assertIsNotNone(mx.metric(
                f'mxgate_tls_certificate_expiry_timestamp_seconds{{certificate="{path}"}}'))

    def test_min_version_tls_1_3_refuses_tls_1_2(self):
        mx = self.mxgate(self.sink(), tls=True, settings={"tls.min_version": "TLSv1.3"})
        result = s_client(mx.port, ["-tls1_2"], stdin=b"QUIT\n")
        self.assertIn("Cipher is (NONE)", result.stdout.decode(errors="replace"))
        mx.wait_metric('mxgate_tls_handshakes_total{result="failed",version="unknown"}',
                       lambda v: v == 1)

    def test_openssl_s_client_can_use_tls_1_2(self):
        sink = self.sink()
        mx = self.mxgate(sink, tls=True)
        result = s_client(mx.port, ["-tls1_2"])
        out = result.stdout.decode(errors="replace")
        self.assertRegex(out, r"Protocol\s*: TLSv1\.2",
                         out + result.stderr.decode(errors="replace"))
        self.assertEqual(reply_codes(out)[-5:], [250, 250, 354, 250, 221], out)
        [msg] = sink.wait_for_messages(1)
        self.assertIn(b"(version=TLSv1.2 cipher=", msg.content)
        self.assertEqual(mx.metric('mxgate_tls_handshakes_total{result="ok",version="TLSv1.2"}'), 1)

    def test_swaks_tls_relays_and_received_says_esmtps(self):
        sink = self.sink()
        mx = self.mxgate(sink, tls=True)
        result = run_tool(["swaks", "--tls", "--server", f"127.0.0.1:{mx.port}",
                           "--to", "u@example.com", "--from", "s@example.org",
                           "--helo", "swaks.example.org", "--header", "Subject: swaks tls"])
        out = result.stdout.decode(errors="replace")
        self.assertEqual(result.returncode, 0, out + result.stderr.decode(errors="replace"))
        self.assertIn("TLS started", out)
        [msg] = sink.wait_for_messages(1)
        received, _ = strip_received(msg.content)
        self.assertRegex(received, rb"^Received: from swaks\.example\.org \(\[127\.0\.0\.1\]\)\n"
                                   rb"\tby mx\.test\.example \(mxgate\) with ESMTPS id ")
        self.assertRegex(received, rb"\(version=TLSv1\.[23] cipher=")

    def test_quit_over_tls_ends_with_a_close_notify(self):
        # RFC 8446 §6.1: each party MUST send close_notify before closing its write side.
        # Without it OpenSSL clients report "unexpected eof while reading" and fail.
        mx = self.mxgate(tls=True)
        with mx.connect() as c:
            c.ehlo()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.sock = context.wrap_socket(c.sock, server_hostname=HOSTNAME,
                                         suppress_ragged_eofs=False)
            c.ehlo()
            self.assertEqual(c.cmd("QUIT"), (221, "2.0.0 Bye"))
            try:
                rest = c.sock.recv(4096)  # b"" after a close_notify
            except ssl.SSLEOFError as e:
                self.fail(f"connection closed without a TLS close_notify: {e}")
            self.assertEqual(rest, b"")
        result = s_client(mx.port, stdin=b"EHLO client.example.org\nQUIT\n")
        err = result.stderr.decode(errors="replace")
        self.assertNotIn("unexpected eof", err)
        self.assertEqual(result.returncode, 0, err)

    def test_tls_1_1_is_refused(self):
        mx = self.mxgate(tls=True)
        # Control: this client does speak TLS 1.1 to a server that allows it.
        cert, key = certificate()
        folder = tempfile.mkdtemp(prefix="mxgate-s_server-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        log_path = os.path.join(folder, "s_server.log")
        servers = []

        def log():
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")

        def start(ports):
            with open(log_path, "wb") as out:
                server = subprocess.Popen(
                    [require_tool("openssl"), "s_server", "-accept", f"127.0.0.1:{ports[0]}",
                     "-cert", cert, "-key", key, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                     "-naccept", "1", "-quiet"],
                    stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
            servers.append(server)
            wait_listening(server, ports, "openssl s_server", log)

        def stop_servers():
            for server in servers:
                if server.poll() is None:
                    server.kill()
                server.wait(timeout=10)
                server.stdin.close()
        try:
            (held,) = start_on_free_ports("openssl s_server", 1, start)
            self.addCleanup(held.release)
            control = run_tool(["openssl", "s_client", "-connect", f"127.0.0.1:{held.number}",
                                *LEGACY_CLIENT], input=b"", timeout=30)
            self.assertEqual(control.returncode, 0, "control: the TLS 1.1 client does not work:\n"
                             + control.stdout.decode(errors="replace"))
            self.assertRegex(control.stdout.decode(errors="replace"), r"Protocol\s*: TLSv1\.1")
        finally:
            stop_servers()
        result = s_client(mx.port, LEGACY_CLIENT, stdin=b"QUIT\n")
        out = result.stdout.decode(errors="replace")
        self.assertNotEqual(result.returncode, 0, out)
        self.assertRegex(out, r"Cipher is \(NONE\)")
        mx.wait_metric('mxgate_tls_handshakes_total{result="failed",version="unknown"}', lambda v: v == 1)

    def test_silent_client_after_starttls_is_cut_at_the_handshake_timeout(self):
        mx = self.mxgate(tls=True, options=["tls.handshake_timeout=1s"])
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            start = time.monotonic()
            self.assertTrue(c.closed_by_peer(timeout=4), "no handshake, still connected")
            self.assertLess(time.monotonic() - start, 3.0)
        mx.wait_metric('mxgate_tls_handshakes_total{result="failed",version="unknown"}', lambda v: v == 1)

    def test_require_tls_refuses_mail_before_starttls_with_530(self):
        sink = self.sink()
        mx = self.mxgate(sink, tls=True, settings={"tls.require": True})
        with mx.connect() as c:
            c.ehlo()
            code, text = c.cmd("MAIL FROM:<s@example.org>")
            self.assertEqual(code, 530, text)
            self.assertTrue(text.startswith("5.7.0 "), text)
            c.starttls()
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: required\r\n\r\nx\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, text)
        sink.wait_for_messages(1)

    def test_plaintext_pipelined_behind_starttls_is_refused_and_the_connection_closed(self):
        mx = self.mxgate(tls=True)
        with mx.connect() as c:
            c.ehlo()
            c.send(b"STARTTLS\r\nMAIL FROM:<a@b.example>\r\n")
            code, text = c.reply()
            self.assertEqual(code, 554, text)
            self.assertTrue(c.closed_by_peer(), "connection still open")
        self.assertEqual(mx.metric("mxgate_starttls_injection_total"), 1)

    def test_ehlo_after_tls_no_longer_offers_starttls_and_state_is_reset(self):
        mx = self.mxgate(tls=True)
        with mx.connect() as c:
            self.assertIn("STARTTLS", c.ehlo())
            c.starttls()
            # RFC 3207 §4.2: the client must say EHLO again.
            code, text = c.cmd("MAIL FROM:<s@example.org>")
            self.assertEqual(code, 503, text)
            lines = c.ehlo()
            self.assertEqual(lines[0], HOSTNAME)
            self.assertNotIn("STARTTLS", lines)
            self.assertIn("PIPELINING", lines)
            code, text = c.cmd("STARTTLS")
            self.assertEqual(code, 503, text)
            self.assertEqual(c.cmd("QUIT")[0], 221)


if __name__ == "__main__":
    unittest.main()
