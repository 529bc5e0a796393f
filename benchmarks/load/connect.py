#!/usr/bin/env python3
"""Connect benchmark: connections per second and connect-to-banner latency of mxgate with an
empty reputation store and with a store of 10 million IPs, in one run, next to Postfix's
smtp-sink (which answers 220 at once) as the reference for what the machine and the client can
do. On 127.0.0.1 only. See benchmarks/README.md ("Connect benchmark").

Steps:
 1. populate_store fills a store in a temporary directory under /tmp with IPS records (default
    10 million IPv4 addresses and ~1.3 million /24 networks; counters, listings) through SST
    ingestion, and writes a sample of client addresses: SAMPLE that have a record ("hit") and
    as many that have none ("miss"), all of which get a 220.
 2. Starts smtp-sink, mxgate on an empty store and mxgate on the populated store (both with a
    PROXY listener; identical configurations otherwise). All three stay up for the whole run.
 3. Warms each mxgate with one pass over the sample (so the populated store's blocks for the
    sample are in the block cache, as for the clients a busy MX sees again and again).
 4. ROUNDS rounds; in each, for each concurrency, connect_client measures the three servers one
    after the other (the order rotates per round) for DURATION seconds each. Each connection:
    connect, [PROXY v2 header with the next sample address], read the 220 greeting, QUIT,
    read 221, wait for the server to close. smtp-sink gets no PROXY header (it does not speak
    it); mxgate judges the address in the header, so half its lookups find an IP record.
 5. Prints the median over rounds of connections/s and latency, CPU microseconds per
    connection of the server and of the client, lookups that left the block cache, and
    the ratios populated/empty. Stops everything and deletes the temporary directory.

Environment:
  MXGATE_BIN      default <repo>/build/server/mxgate
  POPULATE_BIN    default <repo>/build/benchmarks/micro/populate_store
  CLIENT_BIN      default <repo>/build/benchmarks/load/connect_client
  IPS             records in the populated store (default 10000000)
  SAMPLE          "hit" addresses in the sample (default 20000; as many "miss")
  CONCURRENCY     concurrent connections, e.g. "1 50" (default)
  DURATION        seconds measured per server, concurrency and round (default 1.5)
  ROUNDS          default 13: many short rounds, so that each empty/populated pair is measured
                  close together in time and the median of the pairs resists a busy machine
  QUICK=1         IPS=1000000, DURATION=2, ROUNDS=1 unless set
  JSON            also write every measurement to this file
  SMTP_SINK       default /usr/sbin/smtp-sink
"""

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import (Processes, cpu_model, cpu_seconds, free_port, peak_rss_mib,  # noqa: E402
                  tail, wait_for_port)

REPO = Path(__file__).resolve().parents[2]
QUICK = os.environ.get("QUICK") == "1"
MXGATE_BIN = os.environ.get("MXGATE_BIN", str(REPO / "build" / "server" / "mxgate"))
POPULATE_BIN = os.environ.get("POPULATE_BIN",
                              str(REPO / "build" / "benchmarks" / "micro" / "populate_store"))
CLIENT_BIN = os.environ.get("CLIENT_BIN",
                            str(REPO / "build" / "benchmarks" / "load" / "connect_client"))
SMTP_SINK = os.environ.get("SMTP_SINK", "/usr/sbin/smtp-sink")
IPS = int(os.environ.get("IPS", "1000000" if QUICK else "10000000"))
SAMPLE = int(os.environ.get("SAMPLE", "20000"))
CONCURRENCY = [int(x) for x in os.environ.get("CONCURRENCY", "1 50").replace(",", " ").split()]
DURATION = float(os.environ.get("DURATION", "2" if QUICK else "1.5"))
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "13"))
CLIENT_TIMEOUT = 10          # seconds for one connection
WARMUP_CONCURRENCY = 20
POPULATE_TIMEOUT = 1800      # seconds
SINK_BACKLOG = 1024


def run_client(port, concurrency, duration, proxy_file=None, watch_pid=None, warmup=0.5,
               warmup_connections=0, server=None):
    argv = [CLIENT_BIN, "--port", str(port), "--concurrency", str(concurrency),
            "--duration", str(duration), "--warmup", str(warmup),
            "--warmup-connections", str(warmup_connections), "--timeout", str(CLIENT_TIMEOUT)]
    if proxy_file:
        argv += ["--proxy", str(proxy_file)]
    if watch_pid:
        argv += ["--watch-pid", str(watch_pid)]
    # Bounded: warm-up + duration + drain (one connection timeout) + slack.
    limit = warmup + duration + CLIENT_TIMEOUT + 30 + warmup_connections / 500
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit)
    if done.returncode != 0 and server is not None:
        server.alive()  # a crashed server: its exit status and log say more than the client
    if done.returncode != 0:
        raise RuntimeError(f"connect_client failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace')}{done.stdout.decode()}")
    return json.loads(done.stdout)


class Server:
    """A process that answers SMTP on `port`; `proxy` marks the PROXY listener."""

    def __init__(self, name, proc, port, log, http_port=None, proxy=False):
        self.name, self.proc, self.port, self.log = name, proc, port, log
        self.http_port, self.proxy = http_port, proxy

    def alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n"
                               + tail(self.log))

    def metrics(self):
        """The mxgate counters this benchmark reads, from /metrics."""
        if not self.http_port:
            return {}
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics",
                                      timeout=5).read().decode()
        wanted = {'mxgate_reputation_lookups_total{result="cached"}': "cached",
                  'mxgate_reputation_lookups_total{result="blocking"}': "blocking",
                  'mxgate_reputation_lookups_total{result="error"}': "lookup_errors",
                  "mxgate_sessions_total": "sessions"}
        found = {}
        for line in text.splitlines():
            parts = line.rsplit(" ", 1)
            if len(parts) == 2 and parts[0] in wanted:
                found[wanted[parts[0]]] = float(parts[1])
        return found


def start_sink(procs, workdir):
    port = free_port()
    log = workdir / "sink.out"
    argv = [SMTP_SINK, "-m", "2048"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]  # smtp-sink refuses to run as root without -u
    argv += [f"127.0.0.1:{port}", str(SINK_BACKLOG)]
    proc = procs.start("smtp-sink", argv, log)
    wait_for_port(port, proc, "smtp-sink", log)
    return Server("smtp-sink", proc, port, log)


# Settings that newer mxgate versions know and older ones refuse as unknown keys: the greet
# pause (a deliberate wait of seconds before the final "220 " line) and the connect-time DNS
# checks are switched off, so that the run measures the reputation store and stays on loopback.
# The reputation lookup is what this benchmark measures: the greet pause, the DNS checks,
# authentication and throttling (issues 4 to 6, each with its own benchmark) are off.
OPTIONAL_OVERRIDES = ["pregreet.enabled=false", "checks.rdns.mode=off", "checks.dnsbl.mode=off",
                      "auth.enabled=false", "throttle.enabled=false"]


def supported_overrides(binary, config):
    """The OPTIONAL_OVERRIDES that `binary check-config` accepts with `config`."""
    accepted = []
    for override in OPTIONAL_OVERRIDES:
        done = subprocess.run([str(binary), "check-config", "-c", str(config), "-o", override],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        if done.returncode == 0:
            accepted.append(override)
    return accepted


def start_mxgate(procs, workdir, name, storage, downstream_port, binary):
    port, proxy_port, http_port = free_port(), free_port(), free_port()
    config = workdir / f"{name}.toml"
    config.write_text(f"""# generated by benchmarks/load/connect.py
[server]
listen = ["127.0.0.1:{port}"]
proxy_listen = ["127.0.0.1:{proxy_port}"]
proxy_trusted = ["127.0.0.0/8"]
hostname = "mx.bench.test"
max_sessions = 20000
max_sessions_per_ip = 10000

[http]
listen = "127.0.0.1:{http_port}"

[portal]
listen = "127.0.0.1:0"

[log]
level = "warn"

[storage]
path = "{storage}"

[dns]
# Nothing listens there: a DNS lookup fails at once and never leaves the machine.
servers = ["127.0.0.1:{free_port()}"]

[[route]]
domains = ["example.com"]
downstream = ["127.0.0.1:{downstream_port}"]
""")
    overrides = supported_overrides(binary, config)
    argv = [str(binary), "serve", "-c", str(config)]
    for override in overrides:
        argv += ["-o", override]
    log = workdir / f"{name}.log"
    proc = procs.start(name, argv, log)
    wait_for_port(proxy_port, proc, name, log)
    server = Server(name, proc, proxy_port, log, http_port=http_port, proxy=True)
    server.overrides = overrides
    return server


def populate(workdir):
    store = workdir / "store-10m"
    sample = workdir / "addresses.txt"
    print(f"populating {IPS} IPs into {store} ...", flush=True)
    start = time.monotonic()
    done = subprocess.run([POPULATE_BIN, "--dir", str(store), "--ips", str(IPS),
                           "--sample", str(sample), "--sample-size", str(SAMPLE)],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=POPULATE_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError("populate_store failed: " + done.stderr.decode(errors="replace"))
    line = done.stdout.decode().strip()
    print(f"  {line}  ({time.monotonic() - start:.0f} s)", flush=True)
    info = dict(kv.split("=", 1) for kv in line.split()[1:])
    return store, sample, info


def measure(server, concurrency, sample):
    server.alive()
    before = server.metrics()
    result = run_client(server.port, concurrency, DURATION,
                        proxy_file=sample if server.proxy else None, watch_pid=server.proc.pid,
                        server=server)
    after = server.metrics()
    result["server"] = server.name
    result["metrics"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    refused = {code: n for code, n in result["replies"].items() if code != "220"}
    if result["errors_total"] or refused:
        print(f"  ! {server.name} c={concurrency}: errors {result['errors']}, replies "
              f"{result['replies']}", file=sys.stderr)
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(results, name, concurrency):
    runs = [r for r in results if r["server"] == name and r["concurrency"] == concurrency]
    if not runs:
        return None

    def per_connection(cpu, r):  # microseconds
        return cpu * 1e6 / r["connections"] if r["connections"] else None

    return {
        "rate": median([r["rate"] for r in runs]),
        "rates": [round(r["rate"]) for r in runs],
        "p50": median([r["latency"]["all"]["p50_us"] for r in runs]),
        "p99": median([r["latency"]["all"]["p99_us"] for r in runs]),
        "p99s": [round(r["latency"]["all"]["p99_us"]) for r in runs],
        "hit_p99": median([r["latency"].get("hit", {}).get("p99_us") for r in runs]),
        "miss_p99": median([r["latency"].get("miss", {}).get("p99_us") for r in runs]),
        "server_cpu": median([per_connection(r["watched_cpu_s"][0], r) for r in runs]),
        "client_cpu": median([per_connection(r["client_cpu_s"], r) for r in runs]),
        "blocking": sum(r["metrics"].get("blocking", 0) for r in runs),
        "lookups": sum(r["metrics"].get("blocking", 0) + r["metrics"].get("cached", 0)
                       for r in runs),
        "errors": sum(r["errors_total"] for r in runs),
    }


ROW = "{:>4} {:<13} | {:>6} {:>11} | {:>6} {:>6} {:>7} {:>8} | {:>6} {:>6} | {:>11}"


def fmt(value, spec=".0f"):
    return "-" if value is None else format(value, spec)


def print_table(results, names):
    print()
    print(f"{'':18} | {'connections/s':^18} | {'connect-to-banner, us':^30} | "
          f"{'CPU us/conn':^13} | {'blocking':^11}")
    print(ROW.format("conc", "server", "median", "min-max", "p50", "p99", "hit p99", "miss p99",
                     "server", "client", "lookups"))
    for concurrency in CONCURRENCY:
        for name in names:
            s = summarize(results, name, concurrency)
            if not s:
                continue
            blocking = f"{s['blocking']:.0f}/{s['lookups']:.0f}" if s["lookups"] else "-"
            spread = f"{min(s['rates'])}-{max(s['rates'])}"
            print(ROW.format(concurrency, name, fmt(s["rate"]), spread,
                             fmt(s["p50"]), fmt(s["p99"]), fmt(s["hit_p99"]), fmt(s["miss_p99"]),
                             fmt(s["server_cpu"]), fmt(s["client_cpu"]), blocking))
    print()
    print("populated/empty: median of the per-round ratios (a round measures the two back to back, "
          "so they\nshare the machine's load; min-max in brackets); connections/s should be >= 0.9")
    ratios = []
    for concurrency in CONCURRENCY:
        pairs = {}
        for r in results:
            if r["concurrency"] == concurrency and r["server"] in ("mxgate-empty", "mxgate-10m"):
                pairs.setdefault(r["round"], {})[r["server"]] = r
        rate_ratios, p50_ratios, p99_ratios, cpu_ratios = [], [], [], []
        for pair in pairs.values():
            e, f = pair.get("mxgate-empty"), pair.get("mxgate-10m")
            if not e or not f or not e["rate"]:
                continue
            rate_ratios.append(f["rate"] / e["rate"])
            p50_ratios.append(f["latency"]["all"]["p50_us"] / e["latency"]["all"]["p50_us"])
            p99_ratios.append(f["latency"]["all"]["p99_us"] / e["latency"]["all"]["p99_us"])
            if f["connections"] and e["connections"] and e["watched_cpu_s"][0]:
                cpu_ratios.append((f["watched_cpu_s"][0] / f["connections"]) /
                                  (e["watched_cpu_s"][0] / e["connections"]))
        if not rate_ratios:
            continue
        ratio = {"concurrency": concurrency, "rate": median(rate_ratios),
                 "p50": median(p50_ratios), "p99": median(p99_ratios),
                 "server_cpu": median(cpu_ratios),
                 "rate_per_round": rate_ratios, "p99_per_round": p99_ratios}
        ratios.append(ratio)
        print(f"  concurrency {concurrency:>3}: connections/s {ratio['rate']:.2f} "
              f"({len(rate_ratios)} pairs, {min(rate_ratios):.2f}-{max(rate_ratios):.2f}), "
              f"latency p50 {ratio['p50']:.2f}, p99 {ratio['p99']:.2f} "
              f"({min(p99_ratios):.2f}-{max(p99_ratios):.2f}), "
              f"mxgate CPU per connection {fmt(ratio['server_cpu'], '.2f')}")
    return ratios


def main():
    for tool in (MXGATE_BIN, POPULATE_BIN, CLIENT_BIN, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            sys.exit(f"connect.py: {tool} not found (cmake --build build; apt-get install postfix)")
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    results = []
    with tempfile.TemporaryDirectory(prefix="mxgate-connect-", dir="/tmp") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # smtp-sink drops to nobody
        try:
            load1 = os.getloadavg()[0]
            print(f"mxgate connect benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
                  f"{platform.node()}  {os.cpu_count()} CPUs ({cpu_model()})  "
                  f"load average {load1:.2f}  [{MXGATE_BIN}]")
            if load1 > 0.5:
                print("warning: the machine was not idle at the start; figures will be noisy")
            # A private copy: a rebuild of the tree during the run cannot swap the binary.
            binary = workdir / "mxgate"
            shutil.copy2(MXGATE_BIN, binary)
            store, sample, info = populate(workdir)
            sink = start_sink(procs, workdir)
            (workdir / "store-empty").mkdir()
            empty = start_mxgate(procs, workdir, "mxgate-empty", workdir / "store-empty",
                                 sink.port, binary)
            full = start_mxgate(procs, workdir, "mxgate-10m", store, sink.port, binary)
            servers = [sink, empty, full]
            print(f"mxgate overrides: {' '.join(empty.overrides) or 'none needed'}", flush=True)
            addresses = sum(1 for _ in open(sample))
            print(f"warming up: one pass over the {addresses} sample addresses per mxgate ...",
                  flush=True)
            for server in (empty, full):
                before = server.metrics()
                warm = run_client(server.port, WARMUP_CONCURRENCY, 0.2, proxy_file=sample,
                                  warmup=0, warmup_connections=addresses, server=server)
                after = server.metrics()
                blocking = after.get("blocking", 0) - before.get("blocking", 0)
                print(f"  {server.name}: {warm['completed_total']} connections, lookups that "
                      f"went to the blocking pool: {blocking:.0f}", flush=True)
            print(f"measuring: {ROUNDS} round(s) x concurrency {CONCURRENCY} x "
                  f"{DURATION:g} s per server", flush=True)
            for round_index in range(ROUNDS):
                order = servers[round_index % 3:] + servers[:round_index % 3]
                for concurrency in CONCURRENCY:
                    for server in order:
                        r = measure(server, concurrency, sample)
                        r["round"] = round_index
                        results.append(r)
                        print(f"  round {round_index + 1} c={concurrency:<3} {server.name:<13} "
                              f"{r['rate']:7.0f}/s  p50 {r['latency']['all']['p50_us']:7.0f} us"
                              f"  p99 {r['latency']['all']['p99_us']:7.0f} us", flush=True)
            ratios = print_table(results, [s.name for s in servers])
            print(f"\nmxgate peak RSS: empty {peak_rss_mib(empty.proc.pid):.0f} MiB, "
                  f"10m {peak_rss_mib(full.proc.pid):.0f} MiB; populated store "
                  f"{info.get('store_mib')} MiB on disk ({info.get('ips')} IPs, "
                  f"{info.get('networks')} networks)")
            print(f"load average at the end {os.getloadavg()[0]:.2f}")
            if os.environ.get("JSON"):
                Path(os.environ["JSON"]).write_text(json.dumps(
                    {"populate": info, "results": results, "ratios": ratios}, indent=2) + "\n")
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"connect.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()  # before their directories go away
    failed = any(r["errors_total"] for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
