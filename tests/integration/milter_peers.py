"""Real milter peers for the end-to-end tests of mxgate's milter client (issue 18): Rspamd's
proxy worker in milter mode, and a pymilter test milter (milter_server.py) whose behaviour the
test chooses.

Standard library and harness.py only; the peers are Debian's `rspamd` and `python3-milter`,
which deploy/install-deps.sh --tests installs (a missing one fails the test naming it). Each
peer runs as the invoking user on a loopback port held for it (harness.Port), with its
configuration, state and log in its own temp folder; nothing system-wide is read from
/var/lib/rspamd or /run/rspamd, or written anywhere outside that folder.

    with Rspamd() as rspamd:                    # rejects GTUBE, adds X-Spam-Status etc.
        rspamd.address                          # "inet:127.0.0.1:PORT" for mxgate's config
        rspamd.port, rspamd.log()

    with TestMilter(["--add-header", "X-Test:yes"]) as milter:
        milter.address, milter.port, milter.log()
        milter.records()                        # what it saw: [{"stage": "connect", ...}, ...]
        milter.wait_for_record(lambda r: r["stage"] == "eom")

Both are ready once their milter port listens (harness.wait_listening: this process and no
other); a peer that exits or does not listen within the bound fails with the tail of its log.
stop() ends a peer with SIGTERM (SIGKILL after a bound), kill() with SIGKILL at once.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile

from harness import (TOOL_PACKAGES, PortInUse, require_tool, start_on_free_ports, wait_listening,
                     wait_until)

TOOL_PACKAGES.setdefault("rspamd", "rspamd")
# python3-milter is a Debian package: a python3 earlier on PATH (pyenv, a venv) may not see it.
SYSTEM_PYTHON = "/usr/bin/python3"
MILTER_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "milter_server.py")
START_TIMEOUT = 60  # Rspamd loads its language models and Lua plugins first (~2 s when idle)
STOP_TIMEOUT = 10

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# Rspamd's own variants (options.enable_test_patterns, on below): the other actions.
GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_REWRITE_SUBJECT = "ZJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_NO_ACTION = "AJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# The Subject Rspamd's rewrite_subject action writes (%s: the original subject).
RSPAMD_SUBJECT = "***SPAM*** %s"

RSPAMD_SHARE = "/usr/share/rspamd"
# The milter_headers routines Rspamd runs on every message (each adds or removes headers).
RSPAMD_HEADERS = ["x-spam-status", "x-rspamd-server", "x-rspamd-queue-id", "x-spamd-result",
                  "x-rspamd-action"]
# A few public suffixes instead of Debian's 9,600: compiling the full list takes Rspamd 5-20 s at
# every start, and URL detection is not what the tests look at.
RSPAMD_TLDS = "com\nnet\norg\ntest\nexample\ninvalid\nlocalhost\n"


class _Peer:
    """A peer process on a held loopback port, with its own temp folder and log."""

    what = "peer"

    def __init__(self):
        self.dir = None
        self.proc = None
        self.port = None
        self.log_path = None
        self._ports = []

    @property
    def address(self):
        """The form mxgate's milter configuration takes."""
        return f"inet:127.0.0.1:{self.port}"

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix=f"mxgate-{self.what}-")
        self.log_path = os.path.join(self.dir, f"{self.what}.out")  # stdout and stderr
        try:
            self._ports = start_on_free_ports(self.what, 1, self._start_on)
            return self
        except BaseException:
            log = self.log()
            self.__exit__(None, None, None)
            if log:
                print(f"{self.what} log:\n{log[-5000:]}")
            raise

    def __exit__(self, *exc):
        self.stop()
        for port in self._ports:
            port.release()
        self._ports = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return False

    def _start_on(self, ports):
        self.port = ports[0]
        args = self._args()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log_path)  # the log of an attempt on a port that was taken
        with open(self.log_path, "ab") as log:
            log.write(("$ " + " ".join(args) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         start_new_session=True)
        try:
            wait_listening(self.proc, [self.port], self.what, self.log, timeout=START_TIMEOUT)
        except BaseException:
            self.kill()
            raise

    def _args(self):
        raise NotImplementedError

    def log(self):
        """The peer's output and log so far."""
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL to the whole process group after `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self):
        """SIGKILL to the peer and every process it started (Rspamd's workers)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: start_new_session
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None


class Rspamd(_Peer):
    """Rspamd 3.4 (Debian's `rspamd`) with one proxy worker in milter mode that scans messages
    itself (self_scan), as in a typical Postfix + Rspamd setup without a normal worker.

    The configuration is written from scratch (nothing from /etc/rspamd): the reject,
    rewrite_subject and add_header actions, the milter_headers plugin only (no Redis, no DNS
    lists, no fuzzy or update fetches, no controller, no rules: a message scores 0 unless it
    carries a test pattern). What it answers at the end of a message (seen on the wire):
      GTUBE                  'y' "554 5.7.1 Gtube pattern" (no headers)
      GTUBE_ADD_HEADER       'm' index 1 "X-Spam: Yes" (an addition: no such header yet), 'a'
      GTUBE_REWRITE_SUBJECT  'm' index 1 Subject "***SPAM*** <subject>", 'a'
      GTUBE_NO_ACTION        'a' alone
      a clean message        'h' for each of RSPAMD_HEADERS (X-Rspamd-Queue-Id only when the
                             MTA sent the macro i), in no fixed order, after 'm' index 1
                             "X-Spam" "" when the message has an X-Spam header; then 'a'
    Rspamd answers only at the end of the message: its OPTNEG reply sets every SMFIP_NR_*
    flag (0xff080), whatever the MTA offered.

    worker_options: extra lines for the proxy worker, e.g. ["discard_on_reject = true;"]
    (GTUBE then gets 'd') or ["quarantine_on_reject = true;"] ('q' "Spam message
    quarantined", then 'a').
    """

    what = "rspamd"

    def __init__(self, worker_options=()):
        super().__init__()
        self.worker_options = list(worker_options)

    def _args(self):
        binary = require_tool("rspamd")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.dir, "rspamd.log"))  # an attempt on a taken port
        conf = os.path.join(self.dir, "rspamd.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        args = [binary, "-f", "-c", conf]
        if os.geteuid() == 0:
            args.append("--insecure")  # Rspamd refuses to run its workers as root otherwise
        return args

    def _config(self):
        d = self.dir
        plugins = os.path.join(d, "plugins")
        os.makedirs(plugins, exist_ok=True)
        link = os.path.join(plugins, "milter_headers.lua")
        if not os.path.lexists(link):
            os.symlink(os.path.join(RSPAMD_SHARE, "plugins", "milter_headers.lua"), link)
        tlds = os.path.join(d, "tlds.dat")
        with open(tlds, "w") as f:
            f.write(RSPAMD_TLDS)
        worker = "\n  ".join(self.worker_options)
        headers = ", ".join(f'"{h}"' for h in RSPAMD_HEADERS)
        # dns: a nameserver where nothing answers, so no lookup leaves the machine even if a
        # module were to try one.
        return f"""# Written by tests/integration/milter_peers.py for one test.
options {{
  pidfile = "{d}/rspamd.pid";
  filters = "";
  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }}
  cache_file = "{d}/symbols.cache";
  hs_cache_dir = "{d}";
  tempdir = "{d}";
  url_tld = "{tlds}";
  local_addrs = [];
  allow_raw_input = true;
  enable_test_patterns = true;
  task_timeout = 8s;
  control_socket = "{d}/rspamd.sock mode=0600";
}}
logging {{
  type = "file";
  filename = "{d}/rspamd.log";
  level = "info";
}}
actions {{
  reject = 15;
  rewrite_subject = 8;
  add_header = 6;
  subject = "{RSPAMD_SUBJECT}";
}}
modules {{
  path = "{plugins}";
}}
milter_headers {{
  use = [{headers}];
  skip_local = false;
  skip_authenticated = false;
}}
worker "rspamd_proxy" {{
  bind_socket = "127.0.0.1:{self.port}";
  milter = yes;
  timeout = 120s;
  count = 1;
  upstream "local" {{
    default = yes;
    self_scan = yes;
  }}
  {worker}
}}
"""

    def log(self):
        """Rspamd's stdout/stderr and its log file."""
        text = super().log()
        if self.dir:
            with contextlib.suppress(OSError):
                with open(os.path.join(self.dir, "rspamd.log"), "rb") as f:
                    text += f.read().decode(errors="replace")
        return text


class TestMilter(_Peer):
    """milter_server.py under Debian's python3 with `options` (see its docstring), e.g.
    ["--reject", "550 5.7.1 no thanks", "--reject-at", "rcpt"]. It records what it saw in
    `record_path`; records() reads it back."""

    what = "milter"
    __test__ = False  # not a unittest/pytest class despite the name

    def __init__(self, options=()):
        super().__init__()
        self.options = list(options)
        self.record_path = None

    def _args(self):
        python = require_tool(SYSTEM_PYTHON)
        check = subprocess.run([python, "-c", "import Milter"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        if check.returncode != 0:
            raise AssertionError("pymilter is not installed for /usr/bin/python3: it comes with "
                                 "the Debian package python3-milter, which "
                                 "deploy/install-deps.sh --tests installs")
        self.record_path = os.path.join(self.dir, "record.jsonl")
        return [python, "-u", MILTER_SERVER, "--port", str(self.port),
                "--record", self.record_path, *self.options]

    def records(self):
        """What the milter saw so far: one dict per callback (see milter_server.py)."""
        try:
            with open(self.record_path) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except (OSError, TypeError):
            return []

    def wait_for_record(self, predicate, timeout=30):
        """Waits until a record satisfies predicate(record); returns it."""
        def found():
            return next((r for r in self.records() if predicate(r)), None)
        try:
            return wait_until(found, timeout, what="a milter record")
        except AssertionError:
            raise AssertionError(f"no matching milter record within {timeout}s; records: "
                                 f"{self.records()!r}") from None


__all__ = ["GTUBE", "GTUBE_ADD_HEADER", "GTUBE_NO_ACTION", "GTUBE_REWRITE_SUBJECT", "PortInUse",
           "RSPAMD_HEADERS", "RSPAMD_SUBJECT", "Rspamd", "TestMilter"]
