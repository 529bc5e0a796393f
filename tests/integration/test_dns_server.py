"""Self-test of dns_server.py: NSD starts on a held loopback port with the default test zones
and answers A, AAAA, PTR (IPv4 and IPv6), TXT, MX, null MX, CNAME chains, the DNSBL zone and
negative answers with the SOA; a custom zone; the silent server; an independent DNS client
(dnspython) sees the same answers."""

import socket
import subprocess
import time
import unittest

from dns_server import NEGATIVE_TTL, DnsServer, SilentServer, query
from harness import require_tool

# dnspython is Debian's python3-dnspython, which python3-dkim (deploy/install-deps.sh) depends
# on; it is installed for the system's Python, which may not be the one running the tests.
SYSTEM_PYTHON = "/usr/bin/python3"
DNSPYTHON_QUERY = """
import sys
import dns.message, dns.query
reply = dns.query.udp(dns.message.make_query(sys.argv[2], sys.argv[3]), "127.0.0.1",
                      port=int(sys.argv[1]), timeout=5)
for rrset in reply.answer:
    for rr in rrset:
        print(rr.to_text())
"""


class DnsServerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer()
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def values(self, name, rtype):
        reply = query(self.dns.port, name, rtype)
        self.assertEqual(reply.rcode, "NOERROR", (name, rtype))
        return [rr.value for rr in reply.answers if rr.type == rtype]

    def test_addresses_and_reverse_names(self):
        self.assertEqual(self.values("mail.example.test", "A"), ["192.0.2.25"])
        self.assertEqual(self.values("MAIL.example.test.", "AAAA"), ["2001:db8::25"])
        self.assertEqual(self.values("25.2.0.192.in-addr.arpa", "PTR"), ["mail.example.test"])
        v6 = "5.2.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.ip6.arpa"
        self.assertEqual(self.values(v6, "PTR"), ["mail.example.test"])

    def test_txt_mx_null_mx_and_cname_chain(self):
        self.assertEqual(self.values("example.test", "TXT"),
                         [("v=spf1 ip4:192.0.2.0/24 ", "-all")])
        self.assertEqual(self.values("example.test", "MX"), [(10, "mail.example.test")])
        self.assertEqual(self.values("nomail.example.test", "MX"), [(0, ".")])
        reply = query(self.dns.port, "www.example.test", "A")
        self.assertEqual([(rr.name, rr.type) for rr in reply.answers],
                         [("www.example.test", "CNAME"), ("web.example.test", "CNAME"),
                          ("mail.example.test", "A")])

    def test_dnsbl_zone(self):
        self.assertEqual(self.values("2.0.0.127.zone.example", "A"), ["127.0.0.2"])
        self.assertEqual(self.values("3.0.0.127.zone.example", "A"), ["127.255.255.254"])
        self.assertEqual(query(self.dns.port, "1.0.0.127.zone.example", "A").rcode, "NXDOMAIN")

    def test_negative_answers_carry_the_soa(self):
        nx = query(self.dns.port, "nowhere.example.test", "A")
        self.assertEqual(nx.rcode, "NXDOMAIN")
        self.assertEqual([rr.value[-1] for rr in nx.authority if rr.type == "SOA"],
                         [NEGATIVE_TTL])
        nodata = query(self.dns.port, "mail.example.test", "MX")
        self.assertEqual((nodata.rcode, nodata.answers), ("NOERROR", []))
        self.assertEqual(query(self.dns.port, "example.org", "A").rcode, "REFUSED")

    def test_custom_zone(self):
        with DnsServer({"custom.test": "host A 192.0.2.80\n"}) as dns:
            self.assertEqual([rr.value for rr in query(dns.port, "host.custom.test").answers],
                             ["192.0.2.80"])
        self.assertIsNone(dns.proc)

    def test_silent_server_never_answers(self):
        with SilentServer() as silent:
            start = time.monotonic()
            with self.assertRaises(socket.timeout):
                query(silent.port, "mail.example.test", timeout=0.3)
            self.assertLess(time.monotonic() - start, 2)

    def test_dnspython_sees_the_same(self):
        out = subprocess.run([require_tool(SYSTEM_PYTHON), "-c", DNSPYTHON_QUERY,
                              str(self.dns.port), "mail.example.test", "A"],
                             capture_output=True, text=True, timeout=60)
        if "No module named 'dns'" in out.stderr:
            self.fail(f"dnspython is not installed for {SYSTEM_PYTHON}: it comes with the Debian "
                      "package python3-dnspython (a dependency of python3-dkim, which "
                      "deploy/install-deps.sh installs)")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["192.0.2.25"])


if __name__ == "__main__":
    unittest.main()
