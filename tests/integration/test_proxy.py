"""PROXY protocol listeners (server.proxy_listen): a trusted load balancer's PROXY v1 or v2
header makes its source address the client IP for replies, logs, Received headers and the
per-IP session cap; anything else on such a listener is refused."""

import socket
import struct
import unittest

from harness import MxTestCase, SmtpClient, send_message, wait_until

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v1(source, destination="10.0.0.1", family="TCP4"):
    return f"PROXY {family} {source} {destination} 40000 25\r\n".encode()


def proxy_v2(source, destination, family=socket.AF_INET6):
    addresses = (socket.inet_pton(family, source) + socket.inet_pton(family, destination) +
                 struct.pack("!HH", 40000, 25))
    family_byte = 0x21 if family == socket.AF_INET6 else 0x11  # AF_INET6/AF_INET, STREAM
    return V2_SIGNATURE + bytes([0x21, family_byte]) + struct.pack("!H", len(addresses)) + \
        addresses


class ProxyTest(MxTestCase):

    def proxied_mxgate(self, sink=None, **settings):
        mx = self.mxgate(sink, settings=settings, proxy=True)
        self.proxy_port = mx.proxy_port
        return mx

    def client(self, header):
        c = SmtpClient(self.proxy_port)
        c.send(header)
        return c

    def relay_one(self, mx, sink, header):
        with self.client(header) as c:
            code, text = c.reply()
            self.assertEqual(code, 220, text)
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: proxied\r\n\r\nhello\r\n")
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        return sink.wait_for_messages(1)[-1]

    def test_v1_header_makes_its_source_the_client_address(self):
        sink = self.sink()
        mx = self.proxied_mxgate(sink)
        message = self.relay_one(mx, sink, proxy_v1("192.0.2.7"))
        self.assertIn(b"Received: from client.example.org ([192.0.2.7])", message.content)
        wait_until(lambda: "session id=" in mx.log() and "client=192.0.2.7 " in mx.log(), 30,
                   what="the session's log line")
        self.assertEqual(mx.metric('mxgate_proxy_headers_total{result="accepted"}'), 1)

    def test_v2_ipv6_header_gives_the_canonical_ipv6_client_address(self):
        sink = self.sink()
        mx = self.proxied_mxgate(sink)
        message = self.relay_one(mx, sink,
                                 proxy_v2("2001:db8:0:0::7", "2001:db8::1"))
        self.assertIn(b"Received: from client.example.org ([2001:db8::7])", message.content)

    def test_v2_header_with_pipelined_commands_behind_it(self):
        sink = self.sink()
        mx = self.proxied_mxgate(sink)
        with self.client(proxy_v2("192.0.2.9", "10.0.0.1", socket.AF_INET) + b"EHLO a.example\r\n") as c:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        wait_until(lambda: "client=192.0.2.9 helo=a.example" in mx.log(), 30,
                   what="the session's log line")

    def test_the_plain_listener_still_takes_plain_smtp(self):
        sink = self.sink()
        mx = self.proxied_mxgate(sink)
        with mx.connect() as c:
            self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_an_untrusted_peer_is_refused_without_a_banner(self):
        mx = self.proxied_mxgate(**{"server.proxy_trusted": ["192.0.2.0/24"]})
        with self.client(proxy_v1("198.51.100.1")) as c:
            self.assertTrue(c.closed_by_peer())
            self.assertEqual(c.buffer, b"")
        self.assertEqual(mx.metric('mxgate_proxy_headers_total{result="untrusted"}'), 1)

    def test_smtp_without_a_header_is_refused(self):
        mx = self.proxied_mxgate()
        with self.client(b"EHLO client.example.org\r\n") as c:
            self.assertTrue(c.closed_by_peer())
            self.assertEqual(c.buffer, b"")
        self.assertEqual(mx.metric('mxgate_proxy_headers_total{result="invalid"}'), 1)

    def test_a_silent_peer_is_refused_after_proxy_timeout(self):
        mx = self.proxied_mxgate(**{"server.proxy_timeout": "1s"})
        with SmtpClient(self.proxy_port) as c:
            self.assertTrue(c.closed_by_peer(timeout=30))
        self.assertEqual(mx.metric('mxgate_proxy_headers_total{result="invalid"}'), 1)

    def test_per_ip_cap_counts_the_proxied_address_not_the_balancer(self):
        mx = self.proxied_mxgate(**{"server.max_sessions_per_ip": 1})
        # The first session must hold its slot before the second asks: the two workers take
        # PROXY headers in any order.
        with self.client(proxy_v1("192.0.2.1")) as first:
            self.assertEqual(first.reply()[0], 220)
            with self.client(proxy_v1("192.0.2.2")) as other, \
                    self.client(proxy_v1("192.0.2.1")) as second:
                self.assertEqual(other.reply()[0], 220)
                code, text = second.reply()
                self.assertEqual(code, 421)
                self.assertTrue(text.startswith("4.7.0 "), text)
                self.assertIn("too many connections from your address", text)
                self.assertTrue(second.closed_by_peer())


if __name__ == "__main__":
    unittest.main()
