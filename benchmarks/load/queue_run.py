#!/usr/bin/env python3
"""Queue-mode benchmark (issue 7): messages accepted and delivered per second by mxgate in queue
mode (relay.mode = "queue": each message is written to the spool with a synced write, fsync on,
before its 250) against smtp-source straight into smtp-sink and against Postfix relaying to an
identical smtp-sink, with the same load, in one run, on 127.0.0.1 only.

Three smtp-sinks, one per path:
  direct:  smtp-source -> smtp-sink; rate = messages / time until the sink has them all
  mxgate:  smtp-source -> mxgate (queue mode) -> smtp-sink
  postfix: smtp-source -> a private Postfix instance (its own config and queue directories in
           the temporary directory, relay_domains = example.com, relay_transport to the sink,
           default tuning otherwise: queue files fsynced, 20 deliveries per destination) ->
           smtp-sink
A second mxgate, the same with recipient verification by callout (relay.recipient_verification
= "callout", issue 20; its sink accepts every recipient, so after the probe every RCPT is
answered from the warm cache), is measured in each round too ("mxv del", and "v/mx" its
delivered rate over the first mxgate's; the target is v/mx >= 0.9).
mxgate and Postfix each get two rates: "accepted" = messages / time smtp-source took (every
message answered 250: on disk), "delivered" = messages / time from the start of smtp-source
until their sink had counted every message. The target is mxgate delivered >= 0.4 x direct.

mxgate treats 127.0.0.1 as an ordinary client (reputation.trusted_networks = []) with the DNS
checks, authentication, the greet pause and throttling off (no DNS here; the throttle's ramp
would defer this load), as in throttle_run.py's "off"; Postfix permits 127.0.0.0/8
(mynetworks) and does no DNS. ROUNDS rounds; in each, for each concurrency, the three are
measured back to back (direct first, then mxgate and Postfix, their order alternating per
round) with MESSAGES messages of SIZE octets, one message per connection. Prints the rates,
the delivered/direct ratios per round and their medians, and per run mxgate's messages per WAL
fsync (mxgate_queue_messages_per_fsync on /metrics) and commit latency
(mxgate_queue_commit_seconds). Every process it starts, Postfix included, is stopped on exit,
Ctrl-C or SIGTERM; every wait is bounded.

Environment: MXGATE_BIN, SESSIONS (default "20 100"), SIZE (4096), MESSAGES (5000), ROUNDS (3),
QUICK=1 (one round of 1000 messages), DELIVERY_TIMEOUT (seconds a run may take to deliver after
smtp-source ends, default 300), POLL_INTERVAL and MAX_DELIVERIES (queue.poll_interval and
queue.max_deliveries of mxgate, e.g. "100ms" and 200; default: mxgate's defaults), POSTFIX=0
(skip Postfix), POSTFIX_BIN (default /usr/sbin/postfix), JSON (write the measurements there).
"""

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))
from load import (MXGATE_BIN, UNTRUSTED_NO_DNS, Mxgate, Processes, Sink,  # noqa: E402
                  cpu_model, env_list, free_port, peak_rss_mib, run_source, tail)
from postfix_peer import MASTER_CF  # noqa: E402  (the private Postfix's services)

QUICK = os.environ.get("QUICK") == "1"
SESSIONS = env_list("SESSIONS", [20, 100])
SIZE = int(os.environ.get("SIZE", "4096"))
MESSAGES = int(os.environ.get("MESSAGES", "1000" if QUICK else "5000"))
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "3"))
DELIVERY_TIMEOUT = float(os.environ.get("DELIVERY_TIMEOUT", "300"))
RUN_TIMEOUT = 180.0
POLL_INTERVAL = os.environ.get("POLL_INTERVAL")
MAX_DELIVERIES = os.environ.get("MAX_DELIVERIES")
POSTFIX_BIN = os.environ.get("POSTFIX_BIN", "/usr/sbin/postfix")
WITH_POSTFIX = os.environ.get("POSTFIX", "1") != "0"
TARGET = 0.4
GAUGE_REFRESH = 1.3  # s: mxgate refreshes its queue gauges every reputation.flush_interval (1 s)

COMMON = UNTRUSTED_NO_DNS + """
[throttle]
enabled = false

[relay]
mode = "queue"
"""

# The same gateway with recipient verification by callout (issue 20) to its sink, which
# accepts every recipient: after the probe, every RCPT is answered from the warm cache.
COMMON_VERIFY = COMMON.replace('mode = "queue"\n',
                               'mode = "queue"\nrecipient_verification = "callout"\n')

QUEUE = "".join(["\n[queue]\n" if POLL_INTERVAL or MAX_DELIVERIES else "",
                 f'poll_interval = "{POLL_INTERVAL}"\n' if POLL_INTERVAL else "",
                 f"max_deliveries = {int(MAX_DELIVERIES)}\n" if MAX_DELIVERIES else ""])


def metrics(gateway):
    """mxgate's /metrics as {series: value}."""
    url = f"http://127.0.0.1:{gateway.http_port}/metrics"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    with opener.open(url, timeout=5) as response:
        text = response.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)", line)
        if m and not line.startswith("#"):
            out[m.group(1)] = float(m.group(2))
    return out


def queue_stats(gateway):
    """mxgate's queue figures since it started: messages committed, WAL syncs (from the
    messages-per-fsync gauge, commits / syncs as of its last refresh), the commit latency
    histogram ({upper bound: cumulative count}), queue depth, deliveries deferred."""
    m = metrics(gateway)
    commits = m.get("mxgate_queue_commit_seconds_count", 0.0)
    per_fsync = m.get("mxgate_queue_messages_per_fsync", 0.0)
    buckets = {}
    for series, value in m.items():
        bound = re.fullmatch(r'mxgate_queue_commit_seconds_bucket\{le="([^"]+)"\}', series)
        if bound:
            buckets[float(bound.group(1))] = value
    return {"commits": commits, "per_fsync": per_fsync,
            "syncs": commits / per_fsync if per_fsync else 0.0, "buckets": buckets,
            "depth": m.get("mxgate_queue_depth", 0.0),
            "deferred": m.get('mxgate_queue_deliveries_total{result="deferred"}', 0.0)}


def commit_quantile(before, after, q):
    """The bucket bound (in ms) under which a fraction q of the commits between two
    queue_stats() fell; None without commits."""
    total = after["commits"] - before["commits"]
    if total <= 0:
        return None
    for bound in sorted(after["buckets"]):
        if after["buckets"][bound] - before["buckets"].get(bound, 0.0) >= q * total:
            return bound * 1000
    return None


class Postfix:
    """A private Postfix instance: config_directory, queue_directory and data_directory under
    `workdir`, smtpd on 127.0.0.1:<port>, relaying example.com to [127.0.0.1]:<sink port>.
    stop() may be called at any point, also half-way through start()."""

    def __init__(self, workdir, sink):
        base = Path(workdir) / "postfix"
        self.conf = base / "etc"
        self.queue = base / "spool"
        self.data = base / "data"
        self.maillog = base / "maillog"
        self.out = base / "postfix.out"  # what the postfix command printed
        self.port = free_port()
        self.started = False
        self.conf.mkdir(parents=True)
        self.queue.mkdir()  # root-owned, as Postfix wants it; "check" fills it
        (self.conf / "main.cf").write_text(f"""# generated by benchmarks/load/queue_run.py
compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-mxgate-bench-{os.getpid()}
maillog_file = {self.maillog}
maillog_file_prefixes = {base}
myhostname = relay.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.com
relay_transport = relay:[127.0.0.1]:{sink.port}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
smtpd_peername_lookup = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtp_dns_support_level = disabled
smtp_host_lookup = native
default_process_limit = 300
biff = no
""")
        (self.conf / "master.cf").write_text("# generated by benchmarks/load/queue_run.py\n"
                                             + MASTER_CF.format(port=self.port))

    def command(self, *args, timeout=60):
        with open(self.out, "ab") as out:
            result = subprocess.run([POSTFIX_BIN, "-c", str(self.conf), *args],
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, timeout=timeout)
        return result.returncode

    def start(self):
        self.started = True  # from here on, stop() looks for a master
        # "check" creates the queue and data directories with their owners (post-install
        # create-missing), then "start" starts the master daemon and waits for it to be up.
        if self.command("check") != 0 or self.command("start") != 0:
            raise RuntimeError(f"postfix did not start:\n{tail(self.out)}\n{tail(self.maillog)}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket_to(self.port):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"postfix did not accept on 127.0.0.1:{self.port}:\n"
                           + tail(self.maillog))

    def master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def instance_pids(self):
        """Processes of this instance (the master and its children): those whose environment
        has the MAIL_CONFIG that the postfix command sets. A stale master.pid is never trusted."""
        wanted = f"MAIL_CONFIG={self.conf}".encode()
        pids = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    pids.add(int(entry.name))
            except OSError:
                continue
        pids.discard(os.getpid())
        return pids

    def queued(self):
        """Messages in Postfix's queue (files under incoming, active, deferred, hold, maildrop)."""
        count = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(self.queue / sub):
                count += len(files)
        return count

    def stop(self):
        if not self.started:
            return
        self.started = False
        try:
            if self.master_pid():
                self.command("stop", timeout=20)  # SIGTERM to the master; waits up to 5 s
        except (subprocess.TimeoutExpired, OSError):
            pass
        deadline = time.monotonic() + 5
        pids = self.instance_pids()
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = self.instance_pids()
        for pid in pids:  # whatever is left of this instance: by pid, never by name
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def warnings(self):
        try:
            text = self.maillog.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines()
                if re.search(r"\b(warning|fatal|panic|error):|status=(deferred|bounced)", line)]


def socket_to(port):
    return socket.create_connection(("127.0.0.1", port), timeout=0.5)


def run(label, port, sink, sessions, messages, workdir):
    """One smtp-source run into `port`: accepted rate (until smtp-source ended) and delivered
    rate (until `sink` had counted every message)."""
    errfile = Path(workdir) / f"source-{label}-{sessions}.err"
    expected = sink.messages() + messages
    sink_cpu = sink.cpu()
    start = time.monotonic()
    status, wall, source_cpu = run_source(port, sessions, messages, SIZE, False, RUN_TIMEOUT,
                                          errfile)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while status == 0 and sink.messages() < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    delivered = messages - (expected - sink.messages())
    ok = status == 0 and delivered >= messages
    result = {"status": status, "source_seconds": round(wall, 3),
              "delivered_seconds": round(elapsed, 3), "delivered": delivered,
              "accepted_per_s": messages / wall if status == 0 else None,
              "delivered_per_s": messages / elapsed if ok else None,
              # smtp-source's and the sink's CPU seconds per message (the peers' share)
              "peer_cpu_per_msg": (source_cpu + sink.cpu() - sink_cpu) / messages}
    if not ok:
        print(f"  ! {label} s={sessions}: smtp-source status {status}, sink received "
              f"{delivered}/{messages} within {DELIVERY_TIMEOUT:.0f} s of the end; smtp-source "
              "said:\n    " + tail(errfile, 600).strip().replace("\n", "\n    "),
              file=sys.stderr)
    return result


def settle(what, empty, sink, timeout=DELIVERY_TIMEOUT):
    """Waits (bounded) until `empty()` and the sink's count has stopped moving, so that a run's
    leftovers do not count in the next one."""
    deadline = time.monotonic() + timeout
    last = sink.messages()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = sink.messages()
        if empty() and now == last:
            return True
        last = now
    print(f"  ! {what}: queue not empty {timeout:.0f} s after the run", file=sys.stderr)
    return False


def fmt(value, spec):
    return format(value, spec) if value is not None else "FAIL"


def median(values, spec):
    values = [v for v in values if v is not None]
    return format(statistics.median(values), spec) if values else "-"


ROW = ("{:>5} {:>5} | {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>5} {:>5} {:>5} | {:>6} {:>5} "
       "{:>5} {:>6} | {:>7} {:>5}")
HEAD = ("", "sess", "direct", "mx acc", "mx del", "pf acc", "pf del", "mx/d", "cpu/d", "pf/d",
        "msg/fs", "c p50", "c p99", "mx cpu", "mxv del", "v/mx")


def start_gateway(procs, workdir, name="mxgate", common=COMMON):
    sink = Sink(procs, workdir, f"sink-{name}")
    gateway = Mxgate(procs, workdir, sink, name=name, extra=common + QUEUE)
    probe = run("probe", gateway.port, sink, 1, 1, workdir)
    if probe["delivered_per_s"] is None:
        raise RuntimeError("mxgate did not queue and deliver a probe:\n" + tail(gateway.log))
    time.sleep(GAUGE_REFRESH)  # so that the gauges count the probe before round 0
    return gateway, sink


def start_postfix(procs, workdir, instances):
    """(Postfix, its sink, a note for the header); Postfix is None when it is skipped. The
    instance goes into `instances` before it starts, so that it is stopped whatever happens."""
    if not WITH_POSTFIX:
        return None, None, "skipped (POSTFIX=0)"
    if os.geteuid() != 0 or not os.access(POSTFIX_BIN, os.X_OK):
        return None, None, f"skipped: needs root and {POSTFIX_BIN}; the postfix columns are '-'"
    sink = Sink(procs, workdir, "sink-postfix")
    postfix = Postfix(workdir, sink)
    instances.append(postfix)
    postfix.start()
    probe = run("postfix-probe", postfix.port, sink, 1, 1, workdir)
    if probe["delivered_per_s"] is None:
        raise RuntimeError("postfix did not relay a probe:\n" + tail(postfix.maillog))
    version = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    return postfix, sink, f"Postfix {version}, a private instance (default tuning)"


def run_gateway(gateway, sink, sessions, workdir, label="mxgate"):
    """One run through mxgate, then waits for its queue to be empty and its gauges refreshed,
    and adds the run's messages per fsync and commit latency."""
    before = queue_stats(gateway)
    cpu_before = gateway.cpu()
    result = run(label, gateway.port, sink, sessions, MESSAGES, workdir)
    result["cpu_per_1000"] = (gateway.cpu() - cpu_before) * 1000 / MESSAGES
    settle(label, lambda: queue_stats(gateway)["depth"] == 0, sink)
    time.sleep(GAUGE_REFRESH)
    after = queue_stats(gateway)
    syncs = after["syncs"] - before["syncs"]
    result["messages_per_fsync"] = ((after["commits"] - before["commits"]) / syncs
                                    if syncs > 0 else None)
    result["commit_ms_p50"] = commit_quantile(before, after, 0.5)
    result["commit_ms_p99"] = commit_quantile(before, after, 0.99)
    result["deferred"] = after["deferred"] - before["deferred"]
    return result


def print_header(postfix_note):
    load1 = os.getloadavg()[0]
    print(f"mxgate queue-mode benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
          f"{os.cpu_count()} CPUs ({cpu_model()})  load average {load1:.2f}")
    if load1 > 0.5:
        print("warning: the machine was not idle at the start; figures will be low and noisy")
    print(f"{MESSAGES} messages of {SIZE} octets per run, one per connection, {ROUNDS} round(s)")
    print(f"mxgate {MXGATE_BIN}: relay.mode = \"queue\" (fsync on), queue.poll_interval "
          f"{POLL_INTERVAL or 'default'}, queue.max_deliveries {MAX_DELIVERIES or 'default'}")
    print(f"postfix: {postfix_note}")
    print("msgs/s: acc = until smtp-source ended (each message answered 250), del = until the "
          "sink had them all;\nmx/d, pf/d = delivered / direct; msg/fs = mxgate's messages per "
          "WAL fsync in the run;\ncpu/d = the mx/d that the CPU allows: direct's CPU per message "
          "(smtp-source + sink) over the mxgate path's (smtp-source + mxgate + sink);\nc p50, c p99 = bucket bound of mxgate's commit latency, ms; "
          "mx cpu = mxgate's CPU seconds per 1000 messages;\nmxv del = mxgate with "
          "recipient_verification = \"callout\" (cache warm), v/mx = its del / mx del")
    print()
    print(ROW.format("round", *HEAD[1:]))


def print_row(r, result):
    mx, pf = result["mxgate"], result.get("postfix")
    print(ROW.format(r, result["sessions"], fmt(result["direct"]["delivered_per_s"], ".0f"),
                     fmt(mx["accepted_per_s"], ".0f"), fmt(mx["delivered_per_s"], ".0f"),
                     fmt(pf["accepted_per_s"], ".0f") if pf else "-",
                     fmt(pf["delivered_per_s"], ".0f") if pf else "-",
                     fmt(result["mx_ratio"], ".2f"), fmt(result["cpu_ceiling"], ".2f"),
                     fmt(result["pf_ratio"], ".2f") if pf else "-",
                     median([mx["messages_per_fsync"]], ".2f"),
                     median([mx["commit_ms_p50"]], "g"), median([mx["commit_ms_p99"]], "g"),
                     median([mx.get("cpu_per_1000")], ".2f"),
                     fmt(result["verify"]["delivered_per_s"], ".0f"),
                     fmt(result["v_ratio"], ".2f")),
          flush=True)


def print_medians(rows):
    print()
    print(f"medians over {ROUNDS} round(s) (ratios: the median of the per-round ratios); target "
          f"mx/d >= {TARGET}")
    print(ROW.format(*HEAD))
    for sessions in SESSIONS:
        mine = [x for x in rows if x["sessions"] == sessions]

        def values(name, key):
            return [x[name][key] for x in mine if x.get(name)]

        mx_ratio = [x["mx_ratio"] for x in mine if x["mx_ratio"] is not None]
        verdict = ("" if not mx_ratio else "  meets the target"
                   if statistics.median(mx_ratio) >= TARGET else "  BELOW the target")
        print(ROW.format("", sessions, median(values("direct", "delivered_per_s"), ".0f"),
                         median(values("mxgate", "accepted_per_s"), ".0f"),
                         median(values("mxgate", "delivered_per_s"), ".0f"),
                         median(values("postfix", "accepted_per_s"), ".0f"),
                         median(values("postfix", "delivered_per_s"), ".0f"),
                         median(mx_ratio, ".2f"), median([x["cpu_ceiling"] for x in mine], ".2f"),
                         median([x["pf_ratio"] for x in mine], ".2f"),
                         median(values("mxgate", "messages_per_fsync"), ".2f"),
                         median(values("mxgate", "commit_ms_p50"), "g"),
                         median(values("mxgate", "commit_ms_p99"), "g"),
                         median(values("mxgate", "cpu_per_1000"), ".2f"),
                         median(values("verify", "delivered_per_s"), ".0f"),
                         median([x["v_ratio"] for x in mine], ".2f")) + verdict)


def print_footer(gateway, postfix):
    print()
    stats = queue_stats(gateway)
    print(f"mxgate: {stats['commits']:.0f} messages committed, {stats['per_fsync']:.2f} messages "
          f"per fsync since start, queue depth {stats['depth']:.0f}, deferred deliveries "
          f"{stats['deferred']:.0f}, peak RSS {peak_rss_mib(gateway.proc.pid):.1f} MiB")
    logged = gateway.log.read_text(errors="replace").splitlines()
    print(f"mxgate: {len(logged)} lines in its log (level warn)"
          + (":\n  " + "\n  ".join(logged[:5]) if logged else ""))
    if postfix:
        warnings = postfix.warnings()
        print(f"postfix: {len(warnings)} warnings or deferrals in its log"
              + (":\n  " + "\n  ".join(warnings[:5]) if warnings else ""))


def run_all(procs, workdir, instances, rows):
    if not os.access(MXGATE_BIN, os.X_OK):
        raise RuntimeError(f"{MXGATE_BIN} not found (build it, or set MXGATE_BIN)")
    direct = Sink(procs, workdir, "sink-direct")
    gateway, mx_sink = start_gateway(procs, workdir)
    verifying, v_sink = start_gateway(procs, workdir, "mxgate-verify", COMMON_VERIFY)
    postfix, pf_sink, postfix_note = start_postfix(procs, workdir, instances)
    print_header(postfix_note)
    for r in range(ROUNDS):
        for sessions in SESSIONS:
            result = {"round": r, "sessions": sessions, "messages": MESSAGES, "size": SIZE}
            result["direct"] = run("direct", direct.port, direct, sessions, MESSAGES, workdir)
            names = ["mxgate", "verify", "postfix"]
            for name in names if r % 2 == 0 else names[::-1]:
                if name == "mxgate":
                    result["mxgate"] = run_gateway(gateway, mx_sink, sessions, workdir)
                elif name == "verify":
                    result["verify"] = run_gateway(verifying, v_sink, sessions, workdir,
                                                   "mxgate-verify")
                elif postfix:
                    result["postfix"] = run("postfix", postfix.port, pf_sink, sessions,
                                            MESSAGES, workdir)
                    settle("postfix", lambda: postfix.queued() == 0, pf_sink)
            d = result["direct"]["delivered_per_s"]
            for name, key in (("mxgate", "mx_ratio"), ("postfix", "pf_ratio")):
                rate = result[name]["delivered_per_s"] if result.get(name) else None
                result[key] = rate / d if rate and d else None
                    # What the two cores allow if every process is busy all the time: direct's CPU per
            # message over the mxgate path's (smtp-source, mxgate and its sink).
            m = result["mxgate"]
            result["cpu_ceiling"] = result["direct"]["peer_cpu_per_msg"] / (
                m["peer_cpu_per_msg"] + m["cpu_per_1000"] / 1000)
            mx, v = result["mxgate"]["delivered_per_s"], result["verify"]["delivered_per_s"]
            result["v_ratio"] = v / mx if v and mx else None
            rows.append(result)
            print_row(r, result)
    print_medians(rows)
    print_footer(gateway, postfix)


def main():
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    rows = []
    instances = []  # the Postfix instance, once there is one
    with tempfile.TemporaryDirectory(prefix="mxgate-queue-") as workdir:
        os.chmod(workdir, 0o755)  # smtp-sink runs as nobody, Postfix's daemons as postfix
        try:
            run_all(procs, workdir, instances, rows)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            print(f"queue_run.py: {e}", file=sys.stderr)
            return 1
        finally:
            for postfix in instances:
                postfix.stop()
            procs.stop_all()  # before the directory they write into goes away
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
    failed = any(x["mx_ratio"] is None or (x.get("postfix") and x["pf_ratio"] is None)
                 for x in rows)
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
