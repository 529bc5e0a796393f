#!/usr/bin/env python3
"""Memory of idle sessions (issue 21): mxgate's resident set before and after SESSIONS clients
each open a session and then sit idle, for plaintext sessions (EHLO) and for STARTTLS sessions
(EHLO, STARTTLS, the TLS 1.3 handshake, EHLO again over TLS), on 127.0.0.1 only. Prints the
growth per session in KiB; the issue's target is at most 32 KiB for an idle TLS session.

One mxgate, started by the script with a self-signed RSA 2048 certificate, long command
timeouts (the sessions must stay open while they are counted) and the session caps above
SESSIONS; smtp-sink as its downstream (nothing is relayed). The clients are non-blocking
sockets in this process, driven by selectors so that thousands of handshakes run at once.
Each kind of session is measured on a fresh mxgate; the resident set is read from
/proc/<pid>/status (VmRSS) once it has settled (two readings 0.5 s apart within 64 KiB).

Environment: MXGATE_BIN (default <repo>/build/server/mxgate), SESSIONS (default 3000),
ROUNDS (default 1), JSON (write the measurements there).
"""

import json
import os
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load import MXGATE_BIN, Mxgate, Processes, Sink  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "3000"))
ROUNDS = int(os.environ.get("ROUNDS", "1"))
TIMEOUT = 120.0  # seconds for every session to reach its idle state


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settled_rss(pid, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss_kib(pid)
        if abs(now - last) <= 64:
            return now
        last = now
    return last


def certificate(workdir):
    cert, key = Path(workdir) / "cert.pem", Path(workdir) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=mx.bench.test", "-days", "2", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Client:
    """One session, stepped by the selector loop: read the greeting, EHLO, [STARTTLS, the
    handshake, EHLO], then idle."""

    def __init__(self, port, tls_context):
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.context = tls_context
        self.state = "greeting"
        self.inbox = b""
        self.tls = None

    def _send(self, data):
        (self.tls or self.sock).send(data)

    def _reply(self):
        """A complete reply, or None: the last line is "NNN " (RFC 5321 §4.2.1)."""
        lines = self.inbox.split(b"\r\n")
        for i, line in enumerate(lines[:-1]):
            if len(line) >= 4 and line[3:4] == b" ":
                self.inbox = b"\r\n".join(lines[i + 1:])
                return int(line[:3])
        return None

    def step(self):
        """Advances as far as the data at hand allows; True once idle."""
        if self.state == "handshake":
            try:
                self.tls.do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return False
            self.state = "ehlo-tls"
            self._send(b"EHLO client.bench.test\r\n")
            return False
        try:
            data = (self.tls or self.sock).recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        if not data:
            raise RuntimeError(f"the server closed a session in state {self.state}")
        self.inbox += data
        code = self._reply()
        if code is None:
            return False
        if self.state == "greeting":
            self._send(b"EHLO client.bench.test\r\n")
            self.state = "ehlo"
        elif self.state == "ehlo":
            if self.context is None:
                self.state = "idle"
                return True
            self._send(b"STARTTLS\r\n")
            self.state = "starttls"
        elif self.state == "starttls":
            if code != 220:
                raise RuntimeError(f"STARTTLS answered {code}")
            self.tls = self.context.wrap_socket(self.sock, do_handshake_on_connect=False,
                                                server_hostname="mx.bench.test")
            self.state = "handshake"
            return self.step()
        elif self.state == "ehlo-tls":
            self.state = "idle"
            return True
        return False


def open_sessions(port, count, tls_context):
    selector = selectors.DefaultSelector()
    clients = []
    pending = 0
    deadline = time.monotonic() + TIMEOUT
    for _ in range(count):
        client = Client(port, tls_context)
        clients.append(client)
        selector.register(client.sock, selectors.EVENT_READ, client)
        pending += 1
        # Keep the number of sessions in their handshake bounded (the listen backlog).
        while pending > 200 or (len(clients) == count and pending > 0):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pending} sessions not idle after {TIMEOUT:.0f} s")
            for key, _ in selector.select(timeout=1.0):
                if key.data.state != "idle" and key.data.step():
                    pending -= 1
            if len(clients) < count and pending <= 200:
                break
    return selector, clients


def run_kind(kind, procs, workdir, sink, cert, key):
    gateway = start_gateway(kind, procs, workdir, sink, cert, key)
    context = None
    if kind == "tls":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    time.sleep(1.0)
    before = settled_rss(gateway.proc.pid)
    started = time.monotonic()
    selector, clients = open_sessions(gateway.port, SESSIONS, context)
    took = time.monotonic() - started
    after = settled_rss(gateway.proc.pid)
    for client in clients:
        selector.unregister(client.sock)
        (client.tls or client.sock).close()
    procs.stop(gateway.proc)
    return {"kind": kind, "sessions": SESSIONS, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_session": (after - before) / SESSIONS, "open_seconds": round(took, 2)}


def start_gateway(kind, procs, workdir, sink, cert, key):
    extra = f"""
[tls]
certificate = "{cert}"
private_key = "{key}"
"""
    return Mxgate(procs, workdir, sink, name=f"mxgate-{kind}-{time.monotonic_ns()}", extra=extra,
                  server_extra=f"max_sessions = {SESSIONS + 10}\n"
                               f"max_sessions_per_ip = {SESSIONS + 10}\n"
                               "command_timeout = \"10m\"\n")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < SESSIONS + 100:
        print(f"tls_memory.py: the open-files limit ({hard}) is below SESSIONS + 100",
              file=sys.stderr)
        return 1
    procs = Processes()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mxgate-tlsmem-") as workdir:
        try:
            cert, key = certificate(workdir)
            sink = Sink(procs, workdir, "sink")
            print(f"mxgate idle-session memory  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
                  f"{SESSIONS} sessions per run, {ROUNDS} round(s), {MXGATE_BIN}")
            print(f"{'round':>5} {'kind':>9} | {'RSS before':>10} {'RSS after':>10} "
                  f"{'KiB/session':>11} | {'open s':>6}")
            for r in range(ROUNDS):
                for kind in ("plaintext", "tls"):
                    row = run_kind(kind, procs, workdir, sink, cert, key)
                    row["round"] = r
                    rows.append(row)
                    print(f"{r:>5} {kind:>9} | {row['rss_before_kib']:>7} KiB "
                          f"{row['rss_after_kib']:>6} KiB {row['kib_per_session']:>11.1f} | "
                          f"{row['open_seconds']:>6}", flush=True)
        finally:
            procs.stop_all()
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
