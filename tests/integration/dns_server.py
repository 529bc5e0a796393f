"""A real DNS server for integration tests: NSD (Debian's `nsd`, installed by
deploy/install-deps.sh) on a loopback port held for it (harness.Port), serving zone data the
test writes.

Standard library and harness.py only. NSD is authoritative and does not recurse, which is what
the tests need: mxgate's resolver (dns.servers = [server.address]) gets exactly the zones below.
Names outside every zone get REFUSED.

    with DnsServer() as dns:                    # DEFAULT_ZONES
        dns.address                             # "127.0.0.1:PORT" for mxgate's dns.servers
        reply = query(dns.port, "mail.example.test", "A")
        reply.rcode, reply.answers              # "NOERROR", [Rr(name, type, ttl, value)]

    zones = dict(DEFAULT_ZONES, **{"other.test": "mail A 192.0.2.80\\n"})
    with DnsServer(zones) as dns: ...

    with SilentServer() as silent:              # a port that takes queries and never answers
        silent.wait_for_query()                 # the first query arrived

A zone is master-file text (RFC 1035 §5.1) relative to its origin; the helper adds $ORIGIN,
$TTL, the SOA (negative TTL NEGATIVE_TTL, RFC 2308 §5) and an NS record. Every wait is bounded.
"""

import contextlib
import ipaddress
import os
import random
import select
import shutil
import socket
import struct
import subprocess
import tempfile
from collections import namedtuple

from harness import PORT_ATTEMPTS, PortInUse, require_tool, start_on_free_ports, wait_until

NEGATIVE_TTL = 60   # SOA MINIMUM of every zone
DEFAULT_TTL = 300


def _ptr(address):
    """The absolute PTR owner name of an address (RFC 1035 §3.5, RFC 3596 §2.5)."""
    return ipaddress.ip_address(address).reverse_pointer + "."


# The test world. Addresses are from the documentation ranges (RFC 5737, RFC 3849).
DEFAULT_ZONES = {
    "example.test": "\n".join([
        "@        MX    10 mail",
        '@        TXT   "v=spf1 ip4:192.0.2.0/24 " "-all"',
        "mail     A     192.0.2.25",
        "mail     AAAA  2001:db8::25",
        "www      CNAME web",                  # a chain: www -> web -> mail
        "web      CNAME mail",
        "nomail   MX    0 .",                  # null MX (RFC 7505)
        "nomail   A     192.0.2.26",
        "99-2-0-192.dynamic A 192.0.2.99",     # a generic-looking name that confirms
        "liar     A     192.0.2.200",          # the PTR of 192.0.2.7 points here: no FCrDNS
        "noaddr   TXT   \"exists, but has no address\"",
    ]),
    "2.0.192.in-addr.arpa": "\n".join([
        f"{_ptr('192.0.2.25')} PTR mail.example.test.",
        f"{_ptr('192.0.2.99')} PTR 99-2-0-192.dynamic.example.test.",
        f"{_ptr('192.0.2.7')}  PTR liar.example.test.",
    ]),
    "8.b.d.0.1.0.0.2.ip6.arpa": f"{_ptr('2001:db8::25')} PTR mail.example.test.",
    # DNSBL style (RFC 5782 §5): 127.0.0.2 is listed, 127.0.0.1 is not; 127.0.0.3 gets an
    # error code that must count as a zone error, not a listing.
    "zone.example": "\n".join([
        "2.0.0.127 A   127.0.0.2",
        '2.0.0.127 TXT "listed: test entry, see https://zone.example/"',
        "3.0.0.127 A   127.255.255.254",
    ]),
}

Rr = namedtuple("Rr", "name type ttl value")
Reply = namedtuple("Reply", "rcode answers authority")

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def nsd_binary():
    """The nsd binary; a missing one fails naming its package."""
    return require_tool("nsd")


class DnsServer:
    """NSD serving `zones` ({origin: records}) on 127.0.0.1:port, in a temp folder."""

    def __init__(self, zones=None):
        self.zones = DEFAULT_ZONES if zones is None else zones
        self.port = None
        self.proc = None
        self.dir = None
        self._ports = []  # held while the server lives

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=30):
        binary = nsd_binary()
        self.dir = tempfile.mkdtemp(prefix="mxgate-dns-")
        self.log_path = os.path.join(self.dir, "nsd.log")
        try:
            for origin, records in self.zones.items():
                with open(os.path.join(self.dir, origin + ".zone"), "w") as f:
                    f.write(self._zone_text(origin, records))
            # NSD takes the TCP port while we hold it; the UDP one was free when picked.
            self._ports = start_on_free_ports(
                "nsd", 1, lambda ports: self._start_on(binary, ports[0], timeout), udp_free=True)
        except BaseException:
            log = self.log()
            self.stop()
            if log:
                print(f"nsd log:\n{log}")
            raise

    def _start_on(self, binary, port, timeout):
        self.port = port
        conf = os.path.join(self.dir, "nsd.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log_path)  # the log of an attempt on a port that was taken
        with open(os.path.join(self.dir, "nsd.out"), "ab") as out:
            self.proc = subprocess.Popen([binary, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self._stop_process()
            raise

    def _zone_text(self, origin, records):
        return (f"$ORIGIN {origin}.\n$TTL {DEFAULT_TTL}\n"
                f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 {NEGATIVE_TTL}\n"
                f"@ NS ns.{origin}.\n{records}\n")

    def _config(self):
        zones = "".join(f'zone:\n    name: "{origin}"\n    zonefile: "{origin}.zone"\n'
                        for origin in self.zones)
        # username "" keeps NSD's privileges (it reads our temp folder); no database, no
        # control socket, one server process: a throwaway server that starts in ~0.2 s.
        return (f"server:\n"
                f"    ip-address: 127.0.0.1\n    port: {self.port}\n"
                f'    username: ""\n    chroot: ""\n    zonesdir: "{self.dir}"\n'
                f'    database: ""\n    zonelistfile: "{self.dir}/zone.list"\n'
                f'    xfrdfile: "{self.dir}/xfrd.state"\n    pidfile: "{self.dir}/nsd.pid"\n'
                f'    logfile: "{self.log_path}"\n    server-count: 1\n    verbosity: 1\n'
                f"    hide-version: yes\n    do-ip6: no\n"
                # Debian builds NSD with response rate limiting (200 answers/s per client
                # /24): the load benchmarks ask faster from 127.0.0.1, and a dropped answer
                # costs c-ares a 2 s retransmission. A resolver in front of mxgate does not
                # rate-limit it either.
                f"    rrl-ratelimit: 0\n"
                f"remote-control:\n    control-enable: no\n{zones}")

    def _wait_ready(self, timeout):
        """Waits until NSD answers the SOA of the first zone; PortInUse when it exited because
        its port was taken."""
        first = next(iter(self.zones))

        def answers():
            if self.proc.poll() is not None:
                log = self.log()
                if "in use" in log:
                    raise PortInUse(log[-2000:])
                raise AssertionError(f"nsd exited with {self.proc.returncode}; log:\n{log}")
            try:
                return query(self.port, first, "SOA", timeout=0.2).rcode == "NOERROR"
            except OSError:
                return False
        wait_until(answers, timeout, what="nsd answering")

    def log(self):
        text = ""
        for name in ("nsd.out", "nsd.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f.read()
            except (OSError, TypeError):
                pass
        return text

    def _stop_process(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def stop(self):
        self._stop_process()
        for port in self._ports:
            port.release()
        self._ports = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class SilentServer:
    """A loopback port (UDP and TCP) that accepts queries and never answers: a DNS server that
    hangs. Nothing runs; datagrams and connections just queue until close()."""

    def __enter__(self):
        # UDP on port 0, then TCP on the port the kernel chose (taken by someone: again).
        for _ in range(PORT_ATTEMPTS * 10):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
            except OSError:
                self.udp.close()
                self.tcp.close()
                continue
            self.tcp.listen(64)
            return self
        raise AssertionError("no loopback port free for both UDP and TCP")

    def wait_for_query(self, timeout=30):
        """Waits until a query arrived (a datagram or a connection waits to be read)."""
        readable, _, _ = select.select([self.udp, self.tcp], [], [], timeout)
        if not readable:
            raise AssertionError(f"no DNS query reached the silent server within {timeout}s")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.udp.close()
        self.tcp.close()


# A small DNS client (RFC 1035 §4.1) for checks from the tests: one UDP query, one reply.

def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def _read_name(data, pos):
    labels, end, jumps = [], None, 0
    while True:
        length = data[pos]
        if length & 0xC0 == 0xC0:
            jumps += 1
            if jumps > 64:
                raise ValueError("compression loop")
            end = pos + 2 if end is None else end
            pos = struct.unpack_from(">H", data, pos)[0] & 0x3FFF
            continue
        if length == 0:
            return ".".join(labels).lower() or ".", (pos + 1 if end is None else end)
        labels.append(data[pos + 1:pos + 1 + length].decode("ascii", "backslashreplace"))
        pos += 1 + length


def _rdata(data, rtype, pos, length):
    if rtype == 1 or rtype == 28:
        return str(ipaddress.ip_address(data[pos:pos + length]))
    if rtype in (2, 5, 12):
        return _read_name(data, pos)[0]
    if rtype == 15:
        return (struct.unpack_from(">H", data, pos)[0], _read_name(data, pos + 2)[0])
    if rtype == 16:
        strings, end = [], pos + length
        while pos < end:
            strings.append(data[pos + 1:pos + 1 + data[pos]].decode("utf-8", "replace"))
            pos += 1 + data[pos]
        return tuple(strings)
    if rtype == 6:
        mname, pos = _read_name(data, pos)
        rname, pos = _read_name(data, pos)
        return (mname, rname) + struct.unpack_from(">5I", data, pos)
    return data[pos:pos + length]


def _records(data, pos, count):
    out = []
    for _ in range(count):
        name, pos = _read_name(data, pos)
        rtype, _cls, ttl, length = struct.unpack_from(">HHIH", data, pos)
        pos += 10
        out.append(Rr(name, TYPE_NAMES.get(rtype, rtype), ttl, _rdata(data, rtype, pos, length)))
        pos += length
    return out, pos


def query(port, name, rtype="A", host="127.0.0.1", timeout=2.0):
    """Asks (name, rtype) over UDP with RD set; returns Reply(rcode, answers, authority).
    Raises socket.timeout when nothing answers within `timeout` seconds."""
    qid = random.randrange(1 << 16)
    packet = (struct.pack(">6H", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) +
              struct.pack(">HH", TYPES[rtype], 1))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        while True:
            data = s.recv(65535)
            if len(data) >= 12 and struct.unpack_from(">H", data)[0] == qid:
                break
    _, flags, qdcount, ancount, nscount, _ = struct.unpack_from(">6H", data)
    pos = 12
    for _ in range(qdcount):
        pos = _read_name(data, pos)[1] + 4
    answers, pos = _records(data, pos, ancount)
    authority, pos = _records(data, pos, nscount)
    return Reply(RCODES.get(flags & 0x0F, flags & 0x0F), answers, authority)
