"""End-to-end test harness for mxgate: the real binary against real peers on loopback.

Standard library only. Environment:
  MXGATE_BIN         the mxgate binary (required)
  MXGATE_SOURCE_DIR  the source tree (default: two folders above this file)

Pieces:
  Port / start_on_free_ports()  ports for peers that cannot bind port 0 (see below)
  require_tool()  the path of a peer tool; a missing one fails the test naming its package
  Sink            Postfix's smtp-sink dumping every transaction into a temp folder
  Mxgate          a running `mxgate serve` with a generated TOML config (context manager)
  SmtpClient      a raw-socket SMTP client that reads replies exactly as sent
  MxTestCase      unittest.TestCase that prints the logs of its peers when a test fails
Every wait is bounded in time and waits for an event (a log line, a metric, a reply, a file, a
listening socket, a process exit); none sleeps for a fixed time.

Ports. mxgate binds its SMTP listeners (server.listen, server.proxy_listen) on port 0 and
reports the ports in its "started" line, which the harness reads back. Port 0 turns
http.listen and portal.listen off, and smtp-sink, nsd and openssl s_server take a number too:
those ports come from a Port: a socket bound to 127.0.0.1:<n> with SO_REUSEADDR that never
listens. While it is held the kernel hands <n> to nobody else's bind(0) or outgoing connection,
yet a peer that sets SO_REUSEADDR (all of the above do) binds and listens on it. Holding the
port matters: mxgate and smtp-sink set SO_REUSEPORT, so two of them given the same free number
would both start and silently share the connections. The owner (a Mxgate, a Sink, a test)
holds its ports until it ends, so a restarted peer finds its port again. On top of that,
start_on_free_ports() retries with new ports when a peer still reports "address in use", and
listening_check() makes sure that the process we started is the only listener on its port.
"""

import atexit
import calendar
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HOSTNAME = "mx.test.example"
SMTP_SINK = "/usr/sbin/smtp-sink"
SOURCE_DIR = os.environ.get(
    "MXGATE_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))

# The 500-session test needs more descriptors than the usual soft limit of 1024; children
# (mxgate, smtp-sink) inherit the raised limit.
try:
    _soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    _want = 8192 if _hard == resource.RLIM_INFINITY else min(_hard, 8192)
    if _soft != resource.RLIM_INFINITY and _soft < _want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))
except (ValueError, OSError):
    pass


def read_log(path):
    """A peer's log file as text ("" while it does not exist)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def vm_rss_kib(pid):
    """The resident set of process `pid`, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def mxgate_bin():
    path = os.environ.get("MXGATE_BIN")
    if not path:
        raise RuntimeError("MXGATE_BIN is not set: point it at the mxgate binary "
                           "(ctest sets it; see tests/integration/CMakeLists.txt)")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"MXGATE_BIN={path} is not an executable")
    return path


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Calls predicate() until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Peer tools: deploy/install-deps.sh installs them all; a missing one fails the test loudly.

# tool name -> the Debian package that provides it
TOOL_PACKAGES = {
    "smtp-sink": "postfix",
    "swaks": "swaks",
    "openssl": "openssl",
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "testssl": "testssl.sh",
    "nsd": "nsd",
    "chromium": "chromium",
    "dknewkey": "python3-dkim",
    "dkimsign": "python3-dkim",
    "mount": "mount",
    "umount": "mount",
    "python3": "python3",
    "strace": "strace",
    "xmllint": "libxml2-utils",
}


def require_tool(name):
    """The absolute path of a peer tool (searched in PATH, then /usr/sbin and /usr/bin); raises
    AssertionError naming the tool and its package when it is not installed."""
    if os.path.isabs(name):
        found = name if os.access(name, os.X_OK) else None
        name = os.path.basename(name)
    else:
        found = shutil.which(name) or shutil.which(
            name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"]))
    if not found:
        package = TOOL_PACKAGES.get(name, "unknown: add it to TOOL_PACKAGES")
        raise AssertionError(f"{name} is not installed: it comes with the Debian package "
                             f"{package}, which deploy/install-deps.sh --tests installs")
    return found


# ---------------------------------------------------------------------------------------------
# Ports (see the module's docstring)

PORT_ATTEMPTS = 5
_LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)


class PortInUse(Exception):
    """A peer could not bind a port it was given: try again with other ports."""


class Port:
    """A TCP port on 127.0.0.1 held until release(): a socket bound to it with SO_REUSEADDR,
    never listening. `udp_free`: the same UDP port is free at the time of the pick too (for
    NSD; UDP is not held, NSD's start retries when it was taken since)."""

    def __init__(self, udp_free=False):
        for _ in range(100):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            number = sock.getsockname()[1]
            if not udp_free or _udp_free(number):
                self._sock = sock
                self.number = number
                return
            sock.close()
        raise AssertionError("no loopback port free for both TCP and UDP in 100 picks")

    def release(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __repr__(self):
        return f"Port({self.number})"


def _udp_free(number):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", number))
            return True
        except OSError:
            return False


def start_on_free_ports(what, count, start, udp_free=False):
    """The one pick-and-retry helper, for every peer that cannot bind port 0. Calls
    start([n1, n2, ...]) with `count` held ports; `start` returns once the peer is up, or
    raises PortInUse when the peer could not bind one of them (then it must have stopped the
    peer) and is called again with new ports, PORT_ATTEMPTS times at most. Returns the held
    Ports: the caller releases them when the peer is gone for good."""
    failures = []
    for _ in range(PORT_ATTEMPTS):
        ports = [Port(udp_free) for _ in range(count)]
        try:
            start([p.number for p in ports])
            return ports
        except PortInUse as e:
            failures.append(f"{[p.number for p in ports]}: {e}")
            for p in ports:
                p.release()
        except BaseException:
            for p in ports:
                p.release()
            raise
    raise AssertionError(f"{what} found no free port in {PORT_ATTEMPTS} tries:\n" +
                         "\n".join(failures))


def _listening_inodes(port):
    """Socket inodes listening on 127.0.0.1:<port> (TCP), from /proc/net/tcp."""
    want = f"{_LOOPBACK_HEX}:{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid):
    inodes = set()
    folder = f"/proc/{pid}/fd"
    with contextlib.suppress(FileNotFoundError):
        for fd in os.listdir(folder):
            with contextlib.suppress(OSError):
                target = os.readlink(os.path.join(folder, fd))
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
    return inodes


def listening_check(proc, port):
    """True when `proc` listens on 127.0.0.1:<port> and nothing else does; raises PortInUse when
    another process listens there too (SO_REUSEPORT lets it share the port silently)."""
    listening = _listening_inodes(port)
    if not listening:
        return False
    ours = _socket_inodes(proc.pid)
    if not listening & ours:
        return False  # not yet ours (a foreign listener alone would make our bind fail)
    if listening - ours:
        raise PortInUse(f"another process listens on 127.0.0.1:{port} too")
    return True


def wait_listening(proc, ports, what, log, timeout=30):
    """Waits until `proc` listens on each of `ports` (and alone). Raises PortInUse when the
    process exited and its log says a port was in use, AssertionError when it exited otherwise
    or did not listen within `timeout` seconds. `log`: a function returning the peer's log."""
    def ready():
        if proc.poll() is not None:
            text = log()
            if "in use" in text:
                raise PortInUse(text[-2000:])
            raise AssertionError(f"{what} exited with {proc.returncode} at start-up; "
                                 f"log:\n{text[-5000:]}")
        return all(listening_check(proc, port) for port in ports)
    try:
        wait_until(ready, timeout, what=f"{what} listening on {ports}")
    except AssertionError as e:
        if proc.poll() is None:
            raise AssertionError(f"{e}; log:\n{log()[-5000:]}") from None
        raise


# ---------------------------------------------------------------------------------------------
# Time


def parse_utc(text):
    """Unix seconds of a time as mxgate prints it, "2026-12-06T19:52:18Z"."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def observe_expiry(in_force, expires, timeout=30):
    """Watches something that ends at `expires` (Unix seconds, e.g. a listing's expiry): calls
    in_force() -> bool until it says False. Each answer is judged by this machine's clock,
    which is mxgate's: "in force" asked at or after `expires`, or "ended" answered before it,
    fails. Returns how many answers said "in force" (0: the first was asked after the expiry,
    too late to see it in force)."""
    seen = [0]

    def ended():
        asked = time.time()
        holds = in_force()
        answered = time.time()
        if holds:
            if asked >= expires:
                raise AssertionError(f"still in force when asked at {asked:.3f}, after its "
                                     f"expiry {expires}")
            seen[0] += 1
            return False
        if answered < expires:
            raise AssertionError(f"ended by {answered:.3f}, before its expiry {expires}")
        return True
    wait_until(ended, max(0.0, expires - time.time()) + timeout, interval=0.1,
               what=f"the end at {expires}")
    return seen[0]


_TEMP_ROOTS = []


def _cleanup_temp_roots():
    for path in _TEMP_ROOTS:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup_temp_roots)


def module_tempdir():
    """A folder removed when the interpreter exits."""
    path = tempfile.mkdtemp(prefix="mxgate-it-")
    _TEMP_ROOTS.append(path)
    return path


_CERT = None
_CERT_LOCK = threading.Lock()


def certificate():
    """(certificate path, key path): a self-signed RSA certificate for mx.test.example, made
    once per process."""
    global _CERT
    with _CERT_LOCK:
        if _CERT is None:
            folder = module_tempdir()
            cert = os.path.join(folder, "cert.pem")
            key = os.path.join(folder, "key.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-subj", f"/CN={HOSTNAME}", "-days", "2", "-keyout", key, "-out", cert],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            os.chmod(folder, 0o755)
            os.chmod(key, 0o644)
            _CERT = (cert, key)
        return _CERT


# ---------------------------------------------------------------------------------------------
# The downstream: Postfix's smtp-sink


class SinkMessage:
    """One transaction smtp-sink dumped: envelope and content.

    smtp-sink writes lines ending in LF: `content` is the content as received, with each CRLF
    shown as LF and transparency dots removed; `content_crlf` puts the CRLFs back."""

    def __init__(self, path, raw):
        self.path = path
        self.raw = raw
        self.client_addr = None
        self.helo = None
        self.mail_args = None
        self.rcpt_args = []
        lines = raw.split(b"\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith(b"X-Client-Addr: "):
                self.client_addr = line[len(b"X-Client-Addr: "):].decode()
            elif line.startswith(b"X-Helo-Args: "):
                self.helo = line[len(b"X-Helo-Args: "):].decode()
            elif line.startswith(b"X-Mail-Args: "):
                self.mail_args = line[len(b"X-Mail-Args: "):].decode()
            elif line.startswith(b"X-Rcpt-Args: "):
                self.rcpt_args.append(line[len(b"X-Rcpt-Args: "):].decode())
            elif line.startswith(b"Received: "):
                # smtp-sink's own three-line Received header ends its records.
                i += 1
                while i < len(lines) and lines[i].startswith(b"\t"):
                    i += 1
                break
            i += 1
        body = b"\n".join(lines[i:])
        # The dump ends with one empty line after the content.
        if body.endswith(b"\n"):
            body = body[:-1]
        self.content = body

    @property
    def mail_from(self):
        """The reverse path of MAIL, e.g. "<s@example.org>"."""
        return self.mail_args.split(" ")[0] if self.mail_args else None

    @property
    def rcpts(self):
        return [arg.split(" ")[0] for arg in self.rcpt_args]

    @property
    def content_crlf(self):
        return self.content.replace(b"\n", b"\r\n")

    def __repr__(self):
        return (f"SinkMessage(from={self.mail_from}, rcpts={self.rcpts}, "
                f"content={self.content[:300]!r})")


class Sink:
    """Postfix's smtp-sink on 127.0.0.1:<a held port>, dumping each transaction to a file.

    extra_args: more smtp-sink options, e.g. ["-f", "RCPT", "-B", "550 5.1.1 No such user"].
    port: listen on this port (one the test holds with MxTestCase.reserve_port(): a downstream
          that comes back) instead of one of its own."""

    def __init__(self, extra_args=(), max_connections=256, backlog=256, port=None):
        self.extra_args = list(extra_args)
        self.fixed_port = port
        self.max_connections = max_connections
        self.backlog = backlog
        self.port = None
        self.proc = None
        self.folder = None
        self.dump = None
        self.log_path = None
        self._log = None
        self._ports = []  # held while the sink lives

    def __enter__(self):
        binary = require_tool(SMTP_SINK)
        self.folder = tempfile.mkdtemp(prefix="mxgate-sink-")
        try:
            self.dump = os.path.join(self.folder, "dump")
            os.mkdir(self.dump)
            # smtp-sink writes as nobody when we are root.
            os.chmod(self.folder, 0o755)
            os.chmod(self.dump, 0o777)
            self.log_path = os.path.join(self.folder, "smtp-sink.log")
            if self.fixed_port:
                try:
                    self._start(binary, [self.fixed_port])
                except PortInUse as e:
                    raise AssertionError(f"smtp-sink cannot listen on its given port "
                                         f"{self.fixed_port}: {e}") from None
            else:
                self._ports = start_on_free_ports(
                    "smtp-sink", 1, lambda ports: self._start(binary, ports))
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self, binary, ports):
        self.port = ports[0]
        args = [binary]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += ["-m", str(self.max_connections), "-d", os.path.join(self.dump, "%M.")]
        args += self.extra_args
        args += [f"127.0.0.1:{self.port}", str(self.backlog)]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_listening(self.proc, [self.port], "smtp-sink", self.log)
        except BaseException:
            self._stop()
            raise

    def _stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log:
            self._log.close()
            self._log = None

    def __exit__(self, *exc):
        self._stop()
        for port in self._ports:
            port.release()
        self._ports = []
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        return False

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        return read_log(self.log_path)

    def files(self):
        try:
            return sorted(os.path.join(self.dump, name) for name in os.listdir(self.dump))
        except FileNotFoundError:
            return []

    def messages(self):
        """Every transaction that reached DATA so far. smtp-sink creates a transaction's file at
        MAIL, writes it from DATA on and removes it when the transaction is aborted (RSET, QUIT,
        disconnect); an empty file is a transaction still in its envelope, not a message."""
        out = []
        for path in self.files():
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except FileNotFoundError:
                continue  # an aborted transaction, removed while we looked
            if raw:
                out.append(SinkMessage(path, raw))
        return out

    def wait_for_messages(self, count, timeout=30):
        """Waits until at least `count` complete transactions are dumped; returns them all."""
        def ready():
            msgs = self.messages()
            if len(msgs) >= count and all(m.raw.endswith(b"\n\n") for m in msgs):
                return msgs
            return None
        try:
            return wait_until(ready, timeout, what=f"{count} message(s) at the sink")
        except AssertionError:
            raise AssertionError(
                f"expected {count} message(s) at the sink within {timeout}s, "
                f"got {len(self.messages())}: {self.messages()!r}") from None

    def clear(self):
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


# ---------------------------------------------------------------------------------------------
# mxgate


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


# The line mxgate logs once every listener is bound (server/runtime.cpp), e.g.
# "... info started version=0.1.0 config=/tmp/x/mxgate.toml
#  listen=127.0.0.1:35483,proxy:127.0.0.1:33783 http=127.0.0.1:42861 portal=off workers=2"
_STARTED = re.compile(r"^\S+ info started version=\S+ config=.* listen=(?P<listen>\S+) "
                      r"http=(?P<http>\S+) portal=(?P<portal>\S+) workers=\d+$", re.MULTILINE)


def _started_fields(text):
    """listen, http and portal of the started line, in the text or the JSON log format."""
    match = _STARTED.search(text)
    if match:
        return match.groupdict()
    for line in text.splitlines():
        if line.startswith("{") and '"event":"started"' in line:
            record = json.loads(line)
            return {key: str(record[key]) for key in ("listen", "http", "portal")}
    return None


def _port_of(address):
    """The port of "host:port" or "[v6]:port"; None for "off"."""
    return None if address == "off" else int(address.rpartition(":")[2])


class Mxgate:
    """`mxgate serve` with a generated configuration, for one test.

    downstream: "host:port" of the route for example.com and .example.com (usually sink.address;
                default: a held port where nothing listens)
    settings:   {"server.max_recipients": 2, ...} written into the file (None removes a key)
    options:    ["server.command_timeout=1s", ...] passed as -o
    tls:        True: configure the module's self-signed certificate
    proxy:      True: a server.proxy_listen address too

    Once started, port, proxy_port, http_port and portal_port are the ports mxgate reported in
    its "started" line (None when off). Nothing connects to mxgate to see that it is up.
    """

    def __init__(self, downstream=None, settings=None, options=(), tls=False, routes=None,
                 extra_tables=(), proxy=False, startup_timeout=30, stop_timeout=None):
        self.bin = mxgate_bin()
        self.downstream = downstream  # None: a held port where nothing listens
        self.extra_settings = dict(settings or {})
        self.options = list(options)
        self.tls = tls
        self.routes = routes
        self.extra_tables = list(extra_tables)  # [("dnsbl", {...}), ...] as [[dnsbl]] sections
        self.proxy = proxy  # True: a server.proxy_listen address too (proxy_port)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.folder = None
        self.proc = None
        # The ports mxgate reported in its "started" line.
        self.port = None
        self.proxy_port = None
        self.http_port = None
        self.portal_port = None
        self.config_path = None
        self.log_path = None
        self.returncode = None
        self._ports = []  # held from start to __exit__, so that restart() finds them again

    # -- configuration

    def settings(self, **overrides):
        s = {
            "server.listen": [f"127.0.0.1:{self.port}"],
            "server.proxy_listen": [f"127.0.0.1:{self.proxy_port}"] if self.proxy else None,
            "server.hostname": HOSTNAME,
            "server.workers": 2,
            "http.listen": f"127.0.0.1:{self.http_port}",
            "portal.listen": f"127.0.0.1:{self.portal_port}",
            "relay.connect_timeout": "3s",
            "relay.command_timeout": "10s",
            "relay.data_timeout": "10s",
            "storage.path": os.path.join(self.folder, "storage"),
            "log.level": "info",
            # The DNS checks and the greet pause have their own tests (test_dns_checks) with
            # a real DNS server; elsewhere they would only wait for the sandbox's resolver.
            "pregreet.enabled": False,
            "checks.rdns.mode": "off",
            "checks.helo.mode": "off",
            "checks.sender_domain.mode": "off",
            # Authentication (SPF, DKIM, DMARC) likewise: test_auth runs it with NSD.
            "auth.enabled": False,
            # The tarpit would slow every test that collects refusals; test_throttle has it.
            "throttle.tarpit_after": 0,
        }
        if self.tls:
            cert, key = certificate()
            s["tls.certificate"] = cert
            s["tls.private_key"] = key
        s.update(self.extra_settings)
        s.update(overrides)
        return {k: v for k, v in s.items() if v is not None}

    def config_text(self, settings=None):
        settings = self.settings() if settings is None else settings
        sections = {}
        for key, value in settings.items():
            section, name = key.split(".", 1)
            sections.setdefault(section, []).append(f"{name} = {toml_value(value)}")
        out = []
        for section, lines in sections.items():
            out.append(f"[{section}]")
            out.extend(lines)
            out.append("")
        routes = self.routes or [{"domains": ["example.com", ".example.com"],
                                  "downstream": [self.downstream]}]
        tables = [("route", route) for route in routes] + self.extra_tables
        for kind, table in tables:
            out.append(f"[[{kind}]]")
            for name, value in table.items():
                out.append(f"{name} = {toml_value(value)}")
            out.append("")
        return "\n".join(out)

    def write_config(self, text=None, **overrides):
        """Rewrites the config file (for reload tests): `text` verbatim, or the generated one
        with `overrides` ({"server.max_recipients": 3} as keyword: server__max_recipients=3)."""
        if text is None:
            text = self.config_text(self.settings(
                **{k.replace("__", "."): v for k, v in overrides.items()}))
        tmp = self.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    # -- process

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix="mxgate-it-")
        self.config_path = os.path.join(self.folder, "mxgate.toml")
        self.log_path = os.path.join(self.folder, "mxgate.log")
        try:
            if self.downstream is None:
                down = Port()
                self._ports.append(down)
                self.downstream = f"127.0.0.1:{down.number}"
            self._ports += start_on_free_ports("mxgate", 2, self._start_on)
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start_on(self, ports):
        """Starts mxgate with its SMTP listeners (server.listen and, with `proxy`,
        server.proxy_listen) on port 0, the kernel's choice, and http.listen and portal.listen
        on these held ports: mxgate takes port 0 as "off" there, so start_on_free_ports()
        picks them."""
        self.http_port, self.portal_port = ports
        self.port = 0
        self.proxy_port = 0 if self.proxy else None
        self.write_config()
        self._start()

    def _start(self):
        """Starts `mxgate serve` on the config file and waits for its "started" line, which it
        logs once every listener is bound; the ports are read back from that line. Raises
        PortInUse when a port was taken (the process is gone then)."""
        args = [self.bin, "serve", "-c", self.config_path]
        for option in self.options:
            args += ["-o", option]
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            log.write(("$ " + " ".join(args) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.folder)

        def started():
            text = self._log_since(offset)
            match = _started_fields(text)
            if match:
                return match
            if self.proc.poll() is not None:
                if "in use" in text:
                    raise PortInUse(text[-2000:])
                raise AssertionError(f"mxgate exited with {self.proc.returncode} at start-up; "
                                     f"log:\n{text[-5000:]}")
            return None
        try:
            try:
                line = wait_until(started, self.startup_timeout, what="mxgate's started line")
            except AssertionError as e:
                if self.proc.poll() is not None:
                    raise  # its message has the log
                raise AssertionError(f"{e}; log:\n{self._log_since(offset)[-5000:]}") from None
            listen = line["listen"].split(",")
            smtp = [_port_of(a) for a in listen if not a.startswith("proxy:")]
            proxied = [_port_of(a[len("proxy:"):]) for a in listen if a.startswith("proxy:")]
            self.port = smtp[0]
            self.proxy_port = proxied[0] if proxied else None
            self.http_port = _port_of(line["http"])
            self.portal_port = _port_of(line["portal"])
            # Bound already; SO_REUSEPORT on the SMTP listeners would let another process
            # share them silently: make sure that this process is their only listener.
            bound = smtp + proxied + [p for p in (self.http_port, self.portal_port) if p]
            wait_listening(self.proc, bound, "mxgate", self.log)
        except BaseException:
            self._kill()
            raise

    def _log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def signal(self, signum):
        self.proc.send_signal(signum)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        """The exit code; raises AssertionError when the process is still running."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            raise AssertionError(f"mxgate still running after {timeout}s") from None

    def kill(self, timeout=5):
        """SIGKILL (a crash: no drain, nothing closed cleanly), then waits for the exit. Returns
        the exit code (-9)."""
        self.proc.kill()
        return self.wait_exit(timeout)

    def restart(self):
        """Starts `mxgate serve` again after stop() or kill(): same config file, storage and
        ports (the SMTP ports are those the first start read back; the log file goes on)."""
        if self.alive():
            raise AssertionError("restart(): mxgate is still running")
        self.returncode = None
        # The SMTP ports the first start read back, so that clients find it again.
        self.write_config()
        try:
            self._start()
        except PortInUse as e:
            raise AssertionError(f"mxgate did not start again on its held ports: {e}") from None

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout or 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.returncode = self.proc.returncode
        return self.returncode

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self._kill()
            for port in self._ports:
                port.release()
            self._ports = []
            shutil.rmtree(self.folder, ignore_errors=True)
        return False

    def log(self):
        return self._log_since(0)

    def session_lines(self):
        """The "session id=..." lines, each logged when a session has ended (after its last
        exchange with the downstream), over every run of this instance."""
        return [line for line in self.log().splitlines()
                if line.split(" ", 2)[2:3] and line.split(" ", 2)[2].startswith("session id=")]

    def wait_sessions_ended(self, count, timeout=30):
        """Waits until `count` sessions have ended (logged their session line); returns the
        lines. The event that a negative assertion about what a session did waits for: once a
        session ended, it relays nothing more (relay mode answers the end of the data only after
        the downstream's reply, and smtp-sink closes its dump file before that reply)."""
        def ended():
            lines = self.session_lines()
            return lines if len(lines) >= count else None
        return wait_until(ended, timeout, what=f"{count} session line(s) in mxgate's log")

    # -- clients

    def connect(self, timeout=10, read_banner=True):
        """A raw SMTP client; by default the 220 banner has been read and checked."""
        client = SmtpClient(self.port, timeout=timeout)
        if read_banner:
            code, text = client.reply()
            if code != 220:
                client.close()
                raise AssertionError(f"expected a 220 banner, got {code} {text!r}")
            client.banner = text
        return client

    def admin_token(self):
        """The admin API's bearer token, which mxgate made in its storage directory."""
        with open(os.path.join(self.settings()["storage.path"], "admin.token")) as f:
            return f.read().strip()

    def admin(self, method, path, form=None, timeout=30):
        """(status, body text) of an admin API request with the token; `form`: a dict sent as
        application/x-www-form-urlencoded."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data,
                                         method=method)
        request.add_header("Authorization", "Bearer " + self.admin_token())
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def http(self, path, timeout=30):
        """(status, body text) of GET http://127.0.0.1:<http port><path>."""
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def metrics(self):
        status, body = self.http("/metrics")
        if status != 200:
            raise AssertionError(f"GET /metrics: {status} {body[:200]!r}")
        return body

    def metric(self, series, text=None):
        """The value of one series, e.g. 'mxgate_transactions_total{result="accepted"}'
        (labels exactly as exposed), or None when absent."""
        return metric_value(text if text is not None else self.metrics(), series)

    def wait_metric(self, series, predicate, timeout=30):
        """Waits until predicate(value) holds for a series; returns the value."""
        last = [None]

        def check():
            last[0] = self.metric(series)
            return last[0] is not None and predicate(last[0])
        try:
            wait_until(check, timeout, interval=0.1, what=series)
        except AssertionError:
            raise AssertionError(f"{series} is {last[0]} after {timeout}s") from None
        return last[0]

    def wait_queue_empty(self, timeout=30):
        """Waits until the queue holds no message: its statistics from the admin API, read from
        the spool then (the mxgate_queue_depth gauge is refreshed every second only). A
        message being delivered is still in the queue: once empty, every delivery is over."""
        last = [None]

        def empty():
            last[0] = self.admin("GET", "/admin/queue/stats")
            return last[0][0] == 200 and last[0][1].startswith("depth 0\n")
        try:
            wait_until(empty, timeout, interval=0.1, what="an empty queue")
        except AssertionError:
            raise AssertionError(f"the queue is not empty after {timeout}s: "
                                 f"{last[0]}") from None

    def wait_sessions_idle(self, timeout=30):
        """Waits until mxgate_sessions_active is 0."""
        return self.wait_metric("mxgate_sessions_active", lambda v: v == 0, timeout)


_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)")


def parse_metrics(text):
    """{series text: float value} for the exposition format (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SERIES.match(line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def metric_value(text, series):
    return parse_metrics(text).get(series)


# ---------------------------------------------------------------------------------------------
# A raw SMTP client


class SmtpClient:
    """A socket that speaks SMTP without smtplib's help: what is sent is what the test wrote,
    and replies are read exactly as the server sent them."""

    def __init__(self, port, host="127.0.0.1", timeout=10, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.banner = None
        self.timeout = timeout

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        """Sends one command line (CRLF added) and returns its reply (code, text)."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out reading a reply")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed by mxgate; unparsed: {self.buffer!r}")
        self.buffer += chunk

    def reply_lines(self, timeout=None):
        """One complete (possibly multi-line) reply: [(code, text), ...]."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(1000):
            while b"\r\n" not in self.buffer:
                if len(self.buffer) > 65536:
                    raise AssertionError(f"reply line too long: {self.buffer[:200]!r}")
                self._fill(deadline)
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode(errors="replace")
            if len(text) < 3 or not text[:3].isdigit() or (len(text) > 3 and text[3] not in " -"):
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append((int(text[:3]), text[4:]))
            if len(text) == 3 or text[3] == " ":
                return lines
        raise AssertionError("reply with more than 1000 lines")

    def reply(self, timeout=None):
        """(code, text) of one reply; the text of a multi-line reply is joined with "\\n"."""
        lines = self.reply_lines(timeout)
        return lines[-1][0], "\n".join(text for _, text in lines)

    def replies(self, count, timeout=None):
        return [self.reply(timeout) for _ in range(count)]

    def closed_by_peer(self, timeout=10):
        """True when the server closes the connection within `timeout` seconds (any unread
        data is kept in `buffer`)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        return False

    def ehlo(self, name="client.example.org"):
        self.send(f"EHLO {name}\r\n")
        lines = self.reply_lines()
        if lines[-1][0] != 250:
            raise AssertionError(f"EHLO refused: {lines}")
        return [text for _, text in lines]

    def starttls(self, context=None, server_hostname=HOSTNAME):
        """STARTTLS, its 220, then the TLS handshake; returns the 220 reply. Certificates are not
        verified (the test certificate is self-signed)."""
        reply = self.cmd("STARTTLS")
        if reply[0] != 220:
            raise AssertionError(f"STARTTLS refused: {reply}")
        if self.buffer:
            raise AssertionError(f"data after the 220 to STARTTLS: {self.buffer!r}")
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        return reply

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def send_message(client, mail_from, rcpts, content, check=True):
    """One transaction with DATA. `content` is the dot-stuffed content ending in CRLF (the
    terminator ".\\r\\n" is added). Returns the final reply."""
    code, text = client.cmd(f"MAIL FROM:<{mail_from}>")
    if check and code != 250:
        raise AssertionError(f"MAIL: {code} {text}")
    for rcpt in rcpts:
        code, text = client.cmd(f"RCPT TO:<{rcpt}>")
        if check and code != 250:
            raise AssertionError(f"RCPT {rcpt}: {code} {text}")
    code, text = client.cmd("DATA")
    if check and code != 354:
        raise AssertionError(f"DATA: {code} {text}")
    client.send(content + b".\r\n")
    return client.reply()


def strip_received(content):
    """(the first Received header field as bytes, the rest): for content read back from the
    sink (LF line endings)."""
    if not content.startswith(b"Received:"):
        return None, content
    end = 0
    lines = content.split(b"\n")
    header = [lines[0]]
    end = 1
    while end < len(lines) and lines[end][:1] in (b"\t", b" "):
        header.append(lines[end])
        end += 1
    return b"\n".join(header), b"\n".join(lines[end:])


def run_tool(args, input=None, timeout=60):
    """Runs a peer tool (a missing one fails naming its package); returns CompletedProcess
    with bytes stdout/stderr."""
    args = [require_tool(args[0])] + list(args[1:])
    return subprocess.run(args, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


class MxTestCase(unittest.TestCase):
    """Starts peers with self.sink(...) / self.mxgate(...) and stops them after the test. Every
    test also checks that mxgate exits 0 on SIGTERM and logged no escaped session exception (a
    crash or a bug that the test's own assertions would not see). Logs are printed on failure."""

    maxDiff = 4000

    def setUp(self):
        self._peers = []

    def reserve_port(self):
        """A port number held for this test: nothing listens on it (a downstream that is down)
        until the test starts a peer there (Sink(port=...): the downstream comes back), and
        nobody else gets it meanwhile."""
        port = Port()
        self.addCleanup(port.release)
        return port.number

    def sink(self, **kwargs):
        s = Sink(**kwargs)
        s.__enter__()
        self._peers.append(s)
        self.addCleanup(s.__exit__, None, None, None)
        return s

    def mxgate(self, sink=None, **kwargs):
        if sink is not None:
            kwargs.setdefault("downstream", sink.address)
        m = Mxgate(**kwargs)
        m.__enter__()
        self._peers.append(m)
        self.addCleanup(self._finish_mxgate, m)
        return m

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "success") and not outcome.success:
            return True
        result = getattr(outcome, "result", None)
        if result is not None:
            failed = list(getattr(result, "failures", [])) + list(getattr(result, "errors", []))
            for test, _ in failed:
                if test is self:
                    return True
        return False

    def _finish_mxgate(self, mx):
        try:
            code = mx.stop()
            log = mx.log()
            problems = []
            if code != 0:
                problems.append(f"mxgate exited with {code} (expected 0 after SIGTERM)")
            if "session_exception" in log:
                problems.append("an exception escaped a session (see session_exception)")
            if problems or self._failed():
                self._print_logs(mx)
            if problems:
                raise AssertionError("; ".join(problems))
        finally:
            mx.__exit__(None, None, None)

    def _print_logs(self, mx):
        sys.stderr.write(f"\n----- mxgate log ({self.id()}) -----\n")
        sys.stderr.write(mx.log()[-20000:])
        for peer in self._peers:
            if isinstance(peer, Sink):
                log = peer.log()
                if log:
                    sys.stderr.write(f"\n----- smtp-sink log -----\n{log[-5000:]}")
        sys.stderr.write("\n----- end -----\n")
