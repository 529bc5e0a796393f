#!/usr/bin/env python3
"""Load benchmark: Postfix's smtp-source against (a) smtp-sink directly and (b) mxgate relaying
into an identical smtp-sink, at several concurrencies and message sizes, on 127.0.0.1 only.

Prints messages/s of (a) and (b), the ratio b/a, and the CPU seconds per 1000 messages spent by
smtp-source, smtp-sink and mxgate. Every process it starts is stopped on exit (also on Ctrl-C
or SIGTERM); every run has a time limit. Python 3 standard library only. See
benchmarks/README.md for the columns and how to read them.

Environment:
  MXGATE_BIN   mxgate binary (default: <repo>/build/server/mxgate); (b) is skipped if missing
  MESSAGES     messages per run, for every run (default: per size and concurrency, see COUNTS)
  QUICK=1      a smoke run: a tenth of the default counts
  SESSIONS     concurrencies, e.g. "1 20 100" (default)
  SIZES        payload sizes in bytes, e.g. "4096 102400" (default)
  KEEPALIVE=1  pass -d to smtp-source: many messages per connection (default: one per message)
  RUN_TIMEOUT  seconds one smtp-source run may take (default: 180)
  JSON         also write the results to this file
  SMTP_SOURCE, SMTP_SINK   the Postfix tools (default: /usr/sbin/smtp-source, /usr/sbin/smtp-sink)
"""

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMTP_SOURCE = os.environ.get("SMTP_SOURCE", "/usr/sbin/smtp-source")
SMTP_SINK = os.environ.get("SMTP_SINK", "/usr/sbin/smtp-sink")
MXGATE_BIN = os.environ.get("MXGATE_BIN", str(REPO / "build" / "server" / "mxgate"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Messages per run, chosen so that a direct run takes about 2-3 s on a 2-core VM.
COUNTS = {
    (4096, 1): 5000, (4096, 20): 10000, (4096, 100): 10000,
    (102400, 1): 2000, (102400, 20): 3000, (102400, 100): 3000,
}
FALLBACK_COUNT = 2000
SINK_BACKLOG = 256
SINK_MAX_CONNECTIONS = 1024  # smtp-sink -m: above the largest concurrency tested
STARTUP_TIMEOUT = 10.0       # seconds for a listener to accept connections
DELIVERY_GRACE = 30.0        # seconds for the sink to count every message after the source ends
# mxgate's config for benchmarks that treat 127.0.0.1 as an ordinary client but measure neither
# DNS (there is no resolver here) nor authentication nor the greet pause.
UNTRUSTED_NO_DNS = """
[pregreet]
enabled = false

[auth]
enabled = false

[reputation]
trusted_networks = []

[checks.rdns]
mode = "off"

[checks.helo]
mode = "off"

[checks.sender_domain]
mode = "off"
"""
SENDER = "from@example.org"
RECIPIENT = "to@example.com"
HELO = "[127.0.0.1]"


def env_list(name, default):
    value = os.environ.get(name)
    return [int(x) for x in value.replace(",", " ").split()] if value else default


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a running process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def human_size(size):
    return f"{size // 1024}K" if size % 1024 == 0 else str(size)


class Processes:
    """The long-running processes of this benchmark; stop_all() ends each one, by pid."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log_path):
        log = open(log_path, "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        self.procs.append((name, proc))
        return proc

    def stop(self, proc):
        """Ends one of them (SIGTERM, then SIGKILL after 5 s)."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = [(n, p) for n, p in self.procs if p is not proc]

    def stop_all(self):
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def wait_for_port(port, proc, name, log_path, timeout=STARTUP_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode}:\n"
                               + tail(log_path))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not accept on 127.0.0.1:{port} within "
                       f"{timeout:.0f} s:\n" + tail(log_path))


def tail(path, size=2000):
    try:
        data = Path(path).read_bytes()[-size:]
    except OSError:
        return ""
    return data.decode(errors="replace").replace("\r", "\n")


class Sink:
    """One smtp-sink. Its -c counters ("sess=N quit=N mesg=N", CR-separated) go to a file; the
    last mesg= value is the number of messages it has received."""

    def __init__(self, procs, workdir, name):
        self.name = name
        self.port = free_port()
        self.log = Path(workdir) / f"{name}.out"
        argv = [SMTP_SINK, "-c", "-m", str(SINK_MAX_CONNECTIONS)]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]  # smtp-sink refuses to run as root without -u
        argv += [f"127.0.0.1:{self.port}", str(SINK_BACKLOG)]
        self.proc = procs.start(name, argv, self.log)
        wait_for_port(self.port, self.proc, name, self.log)

    def messages(self):
        with open(self.log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def cpu(self):
        return cpu_seconds(self.proc.pid)


DEFAULT_SESSION_CAPS = "max_sessions_per_ip = 1000\nmax_sessions = 5000\n"


class Mxgate:
    """mxgate relaying to `sink`; `extra` is appended to its generated config (more sections);
    `binary`: another mxgate than MXGATE_BIN; `wrapper`: a command it runs under (valgrind);
    `server_extra`: more [server] keys (replacing the session caps it sets)."""

    def __init__(self, procs, workdir, sink, name="mxgate", extra="", binary=None, wrapper=(),
                 startup_timeout=STARTUP_TIMEOUT, server_extra=None):
        self.port = free_port()
        self.http_port = free_port()
        storage = Path(workdir) / f"{name}-storage"
        storage.mkdir()
        self.config = Path(workdir) / f"{name}.toml"
        self.config.write_text(f"""# generated by benchmarks/load/load.py
[server]
listen = ["127.0.0.1:{self.port}"]
hostname = "mx.bench.test"
{server_extra or DEFAULT_SESSION_CAPS}
[http]
listen = "127.0.0.1:{self.http_port}"

[portal]
listen = "127.0.0.1:0"

[log]
level = "warn"

[storage]
path = "{storage}"

[[route]]
domains = ["example.com"]
downstream = ["127.0.0.1:{sink.port}"]
{extra}""")
        self.log = Path(workdir) / f"{name}.log"
        self.proc = procs.start(
            name, [*wrapper, binary or MXGATE_BIN, "serve", "-c", str(self.config)], self.log)
        wait_for_port(self.port, self.proc, "mxgate", self.log, startup_timeout)

    def cpu(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"mxgate exited with status {self.proc.returncode}:\n"
                               + tail(self.log))
        return cpu_seconds(self.proc.pid)


def run_source(port, sessions, messages, size, keepalive, timeout, errfile):
    """Runs smtp-source to completion. Returns (exit status, wall seconds, CPU seconds)."""
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-M", HELO, "-f", SENDER, "-t", RECIPIENT]
    if keepalive:
        argv.append("-d")
    argv.append(f"127.0.0.1:{port}")
    with open(errfile, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        # wait4 rather than wait(): it also returns the child's rusage.
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # interrupted: do not leave smtp-source behind
        proc.kill()
        proc.wait()
        raise
    finally:
        killer.cancel()
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime


def measure(label, port, sink, gateway, sessions, size, messages, opts, workdir):
    """One smtp-source run into `port`. Rate counts until the sink has every message."""
    errfile = Path(workdir) / f"source-{label}-{sessions}-{size}.err"
    expected = sink.messages() + messages
    sink_cpu0 = sink.cpu()
    gw_cpu0 = gateway.cpu() if gateway else 0.0
    start = time.monotonic()
    status, _, source_cpu = run_source(port, sessions, messages, size, opts["keepalive"],
                                       opts["timeout"], errfile)
    deadline = time.monotonic() + DELIVERY_GRACE
    while status == 0 and sink.messages() < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    delivered = messages - (expected - sink.messages())
    result = {
        "status": status,
        "seconds": round(elapsed, 3),
        "delivered": delivered,
        "msgs_per_s": messages / elapsed if status == 0 and delivered == messages else None,
        "cpu_source": source_cpu,
        "cpu_sink": sink.cpu() - sink_cpu0,
    }
    if gateway:
        result["cpu_mxgate"] = gateway.cpu() - gw_cpu0
    if status != 0 or delivered != messages:
        print(f"  ! {label} s={sessions} l={size}: smtp-source status {status}, sink received "
              f"{delivered}/{messages}; smtp-source said:\n"
              + "    " + tail(errfile, 600).strip().replace("\n", "\n    "), file=sys.stderr)
    return result


ROW = "{:>5} {:>5} {:>7} | {:>8} {:>8} {:>5} | {:>7} {:>7} | {:>7} {:>8} {:>7}"


def cpu_per_1000(result, key, messages):
    return f"{result[key] * 1000 / messages:.3f}" if result else "-"


def rate(result):
    if not result:
        return "-"
    return f"{result['msgs_per_s']:.0f}" if result["msgs_per_s"] else "FAIL"


def print_header(opts, gateway_note):
    load1 = os.getloadavg()[0]
    print(f"mxgate load benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.node()}  "
          f"{os.cpu_count()} CPUs ({cpu_model()})  load average {load1:.2f}")
    if load1 > 0.5:
        print("warning: the machine was not idle at the start; figures will be low and noisy")
    conn = ("many messages per connection (-d)" if opts["keepalive"] else
            "a new TCP connection per message (smtp-source default; KEEPALIVE=1 adds -d)")
    print(f"smtp-source on 127.0.0.1, 1 recipient per message, {conn}")
    print(f"(a) smtp-source -> smtp-sink   (b) smtp-source -> mxgate -> smtp-sink   {gateway_note}")
    print()
    print(f"{'':19} | {'messages/s':^24} | {'CPU seconds per 1000 messages':^42}".rstrip())
    print(ROW.format("size", "sess", "msgs", "(a)", "(b)", "b/a",
                     "a:src", "a:sink", "b:src", "b:mxgate", "b:sink"))


def print_row(size, sessions, messages, a, b):
    ratio = "-"
    if b and a["msgs_per_s"] and b["msgs_per_s"]:
        ratio = f"{b['msgs_per_s'] / a['msgs_per_s']:.2f}"
    print(ROW.format(human_size(size), sessions, messages, rate(a), rate(b), ratio,
                     cpu_per_1000(a, "cpu_source", messages),
                     cpu_per_1000(a, "cpu_sink", messages),
                     cpu_per_1000(b, "cpu_source", messages),
                     cpu_per_1000(b, "cpu_mxgate", messages),
                     cpu_per_1000(b, "cpu_sink", messages)), flush=True)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def count_for(size, sessions):
    if os.environ.get("MESSAGES"):
        return max(int(os.environ["MESSAGES"]), 1)
    count = COUNTS.get((size, sessions), FALLBACK_COUNT)
    if os.environ.get("QUICK") == "1":
        count //= 10
    return max(count, sessions)


def run_all(procs, workdir, opts, sizes, sessions_list, results):
    direct_sink = Sink(procs, workdir, "sink-direct")
    gateway = relay_sink = None
    if not os.access(MXGATE_BIN, os.X_OK):
        note = f"\n(b) SKIPPED: {MXGATE_BIN} not found or not executable (build it, or set MXGATE_BIN)"
    else:
        relay_sink = Sink(procs, workdir, "sink-relay")
        gateway = Mxgate(procs, workdir, relay_sink)
        note = f"[{MXGATE_BIN}]"
        # One message first, so that a broken set-up fails here with its reason.
        probe = measure("probe", gateway.port, relay_sink, gateway, 1, 1024, 1, opts, workdir)
        if probe["msgs_per_s"] is None:
            raise RuntimeError("mxgate did not relay a probe message; its log:\n"
                               + tail(gateway.log))
    print_header(opts, note)
    for size in sizes:
        for sessions in sessions_list:
            messages = count_for(size, sessions)
            a = measure("direct", direct_sink.port, direct_sink, None, sessions, size, messages,
                        opts, workdir)
            b = None
            if gateway:
                b = measure("mxgate", gateway.port, relay_sink, gateway, sessions, size,
                            messages, opts, workdir)
            print_row(size, sessions, messages, a, b)
            results.append({"size": size, "sessions": sessions, "messages": messages,
                            "direct": a, "mxgate": b})
    if gateway:
        print(f"\nmxgate peak RSS {peak_rss_mib(gateway.proc.pid):.1f} MiB")


def main():
    for tool in (SMTP_SOURCE, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            sys.exit(f"load.py: {tool} not found (apt-get install postfix)")
    opts = {
        "keepalive": os.environ.get("KEEPALIVE") == "1",
        "timeout": float(os.environ.get("RUN_TIMEOUT", "180")),
    }
    sizes = env_list("SIZES", [4096, 102400])
    sessions_list = env_list("SESSIONS", [1, 20, 100])

    procs = Processes()
    # SIGTERM and SIGHUP end the run like Ctrl-C does, so the finally below stops everything.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    results = []
    with tempfile.TemporaryDirectory(prefix="mxgate-load-") as workdir:
        os.chmod(workdir, 0o755)  # smtp-sink drops to nobody but writes only to its stdout
        try:
            run_all(procs, workdir, opts, sizes, sessions_list, results)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except RuntimeError as e:
            print(f"load.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()  # before the directory they write into goes away
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    failed = any(r["direct"]["msgs_per_s"] is None
                 or (r["mxgate"] and r["mxgate"]["msgs_per_s"] is None) for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
