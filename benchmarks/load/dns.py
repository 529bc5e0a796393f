#!/usr/bin/env python3
"""DNS benchmark (issue 4): connections per second of mxgate with every DNS check on, answered
from a warm cache, against the same configuration with the DNS checks off, in one run, on
127.0.0.1 only. See benchmarks/README.md ("DNS benchmark").

Steps:
 1. Writes a world of SAMPLE client addresses in 198.18.0.0/15 (RFC 2544) and their DNS: PTR
    records that are forward-confirmed (most), generic ones (the address in the name), ones
    that point at a name resolving elsewhere, and missing ones; HELO names that match the PTR,
    that need their own lookup, that do not exist, or address literals; sender domains with MX
    records or only an A record; a DNSBL (6% of the clients listed), a DNSWL (the
    forward-confirmed 10%), a sender-domain RHSBL and a HELO RHSBL, each with its RFC 5782
    test entries so that mxgate's probes keep them up.
 2. Serves it with NSD (tests/integration/dns_server.py's DnsServer: loopback, free port), with
    TTLs of a day and negative TTLs of an hour, so no cached entry expires during the run.
 3. Starts two mxgates from one generated configuration (PROXY listener, dns.servers = NSD,
    reputation.trusted_networks = [], pregreet.enabled = false, auth.enabled = false and
    throttle.enabled = false (issues 5 and 6), the four [[dnsbl]] entries,
    defer_at = reject_at = 1000 so that no client is refused on score): "dns-on" as written,
    "dns-off" with -o checks.{rdns,dnsbl,helo,sender_domain,rhsbl}.mode=off. The greet pause is
    off in both: it is a deliberate wait of seconds (3 s by default) that would dominate every
    figure, and the DNS checks are what is measured. Every client address gets the same SMTP
    replies from both, so they do the same SMTP work and differ only in the DNS checks.
 4. Warms both: passes over the sample at concurrency 20 until a pass asks NSD nothing (each
    worker has its own cache, and the kernel spreads connections over the workers at random,
    so it takes a dozen passes).
 5. ROUNDS rounds; in each, for each concurrency, connect_client measures both mxgates back to
    back (the order alternates per round) for DURATION seconds each. Each connection:
    connect, PROXY v2 header with the next sample address, 220, EHLO <the address's HELO>,
    MAIL FROM:<user@its sender domain>, QUIT, 221, close (DIALOG=banner: 220 then QUIT, which
    runs only the connect-stage checks, rdns and dnsbl).
 6. Prints medians over the rounds and on/off as the median of the per-round ratios, the DNS
    cache hits and misses per connection, and the signals the checks raised. Stops everything
    and deletes the temporary directories.

Environment:
  MXGATE_BIN   default <repo>/build/server/mxgate
  CLIENT_BIN   default <repo>/build/benchmarks/load/connect_client
  SAMPLE       client addresses (default 4000)
  CONCURRENCY  default "1 50"
  DURATION     seconds per server, concurrency and round (default 1.5)
  ROUNDS       default 13
  DIALOG       "mail" (default: EHLO and MAIL FROM, so the HELO, sender-domain and RHSBL
               checks run) or "banner" (220 then QUIT: connect-stage checks only)
  WARM_PASSES  most warm-up passes (default 24)
  QUICK=1      ROUNDS=1, DURATION=1, SAMPLE=1000 unless set
  JSON         also write every measurement to this file
"""

import ipaddress
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "integration"))
from load import Processes, cpu_model, free_port, peak_rss_mib, tail, wait_for_port  # noqa: E402
import dns_server  # noqa: E402

QUICK = os.environ.get("QUICK") == "1"
MXGATE_BIN = os.environ.get("MXGATE_BIN", str(REPO / "build" / "server" / "mxgate"))
CLIENT_BIN = os.environ.get("CLIENT_BIN",
                            str(REPO / "build" / "benchmarks" / "load" / "connect_client"))
SAMPLE = min(int(os.environ.get("SAMPLE", "1000" if QUICK else "4000")), 65000)  # 198.18/16
CONCURRENCY = [int(x) for x in os.environ.get("CONCURRENCY", "1 50").replace(",", " ").split()]
DURATION = float(os.environ.get("DURATION", "1" if QUICK else "1.5"))
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "13"))
DIALOG = os.environ.get("DIALOG", "mail")
WARM_PASSES = int(os.environ.get("WARM_PASSES", "24"))
CLIENT_TIMEOUT = 10
client_bin = CLIENT_BIN  # main() points it at a private copy
WARMUP_CONCURRENCY = 20
TTL = 86400           # positive answers: a day (dns.max_ttl's default)
NEGATIVE_TTL = 3600   # NXDOMAIN/NODATA: an hour (dns.max_negative_ttl's default)
DNS_OFF = ["checks.rdns.mode=off", "checks.dnsbl.mode=off", "checks.helo.mode=off",
           "checks.sender_domain.mode=off", "checks.rhsbl.mode=off"]
FIRST_CLIENT = int(ipaddress.ip_address("198.18.0.1"))
LABELS = ["fcrdns", "helo-a", "generic", "mismatch", "no-ptr"]


class BenchDnsServer(dns_server.DnsServer):
    """DnsServer with long TTLs: a cached answer must not expire in the middle of the run."""

    def _zone_text(self, origin, records):
        return (f"$ORIGIN {origin}.\n$TTL {TTL}\n"
                f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 {NEGATIVE_TTL}\n"
                f"@ NS ns.{origin}.\n{records}\n")


def world(count):
    """(zones, sample lines, [[dnsbl]] TOML): count clients, by i % 20:
      0-10  fcrdns    PTR mta-i.out.org-k.test -> A the client; HELO that name (matches the
                      PTR, no lookup); sender user@org-k.test (MX). i % 20 == 0: on the DNSWL.
      11-12 helo-a    same PTR; HELO gw-i.relays.test, which resolves to the client (a lookup)
      13-14 generic   PTR a-b-c-d.dyn.isp.test (the address in it) -> A the client; HELO
                      pc-i.home.test (NXDOMAIN); sender user@webmail-k.test (MX)
      15    mismatch  PTR host-i.hosting.test -> A 192.0.2.x; HELO that name (resolves, but not
                      to the client); sender user@org-k.test
      16-19 no-ptr    no PTR (NXDOMAIN); HELO [the address] (16, 17) or x-i.home.test (NXDOMAIN);
                      sender user@nomx-k.test (no MX: NODATA, then its A record)
    and i % 16 == 7 is on the DNSBL (127.0.0.2, or 127.0.0.4 every other one); org-3.test and
    org-17.test are on the sender-domain RHSBL."""
    forward, reverse, bl, wl = [], [], [], []
    sample = []
    for k in range(50):
        forward.append(f"org-{k} MX 10 mx.org-{k}")
        forward.append(f"mx.org-{k} A 192.0.2.{k + 1}")
    for k in range(5):
        forward.append(f"webmail-{k} MX 10 mx.webmail-{k}")
        forward.append(f"mx.webmail-{k} A 192.0.2.{k + 101}")
        forward.append(f"nomx-{k} A 192.0.2.{k + 151}")
    for i in range(count):
        ip = ipaddress.ip_address(FIRST_CLIENT + i)
        a, b, c, d = str(ip).split(".")
        kind, k = i % 20, i % 50
        ptr_owner = ip.reverse_pointer + "."
        if kind <= 14:
            if kind <= 12:
                name, label = f"mta-{i}.out.org-{k}", ("fcrdns" if kind <= 10 else "helo-a")
            else:
                name, label = f"{a}-{b}-{c}-{d}.dyn.isp", "generic"
            forward.append(f"{name} A {ip}")
            reverse.append(f"{ptr_owner} PTR {name}.test.")
            if kind <= 10:
                helo, sender = f"{name}.test", f"user@org-{k}.test"
                if kind == 0:
                    wl.append(f"{d}.{c}.{b}.{a} A 127.0.15.1")
            elif kind <= 12:
                helo, sender = f"gw-{i}.relays.test", f"user@org-{k}.test"
                forward.append(f"gw-{i}.relays A {ip}")
            else:
                helo, sender = f"pc-{i}.home.test", f"user@webmail-{k % 5}.test"
        elif kind == 15:
            label = "mismatch"
            name = f"host-{i}.hosting"
            forward.append(f"{name} A 192.0.2.{i % 250 + 1}")
            reverse.append(f"{ptr_owner} PTR {name}.test.")
            helo, sender = f"{name}.test", f"user@org-{k}.test"
        else:
            label = "no-ptr"
            helo = f"[{ip}]" if kind <= 17 else f"x-{i}.home.test"
            sender = f"user@nomx-{k % 5}.test"
        if i % 16 == 7:
            bl.append(f"{d}.{c}.{b}.{a} A 127.0.0.{2 if i % 32 == 7 else 4}")
        sample.append(f"{ip} {label} {helo} {sender}")
    test_entries = ["2.0.0.127 A 127.0.0.2", '2.0.0.127 TXT "test entry"']
    zones = {
        "test": "\n".join(forward),
        "18.198.in-addr.arpa": "\n".join(reverse),
        "bl.example": "\n".join(test_entries + bl),
        "wl.example": "\n".join(test_entries + wl),
        "dbl.example": "\n".join(["test A 127.0.0.2", "org-3.test A 127.0.1.2",
                                  "org-17.test A 127.0.1.2"]),
        "hbl.example": "test A 127.0.0.2",
    }
    dnsbls = """
[[dnsbl]]
zone = "bl.example"
returns = ["127.0.0.[2..11]"]
weight = 1.0

[[dnsbl]]
zone = "wl.example"
returns = ["127.0.[0..255].[1..3]"]
weight = -1.0

[[dnsbl]]
zone = "dbl.example"
type = "sender_domain"
weight = 1.0

[[dnsbl]]
zone = "hbl.example"
type = "helo"
weight = 1.0
"""
    return zones, sample, dnsbls


def run_client(port, concurrency, duration, sample, watch_pid=None, warmup=0.5,
               max_connections=None):
    argv = [client_bin, "--port", str(port), "--concurrency", str(concurrency),
            "--duration", str(duration), "--warmup", str(warmup), "--timeout",
            str(CLIENT_TIMEOUT), "--proxy", str(sample), "--dialog", DIALOG]
    if max_connections:
        argv += ["--max-connections", str(max_connections)]
    if watch_pid:
        argv += ["--watch-pid", str(watch_pid)]
    limit = warmup + duration + CLIENT_TIMEOUT + 30
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit)
    if done.returncode != 0:
        raise RuntimeError(f"connect_client failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace')}{done.stdout.decode()}")
    return json.loads(done.stdout)


class Mxgate:
    def __init__(self, name, proc, port, http_port, log):
        self.name, self.proc, self.port, self.http_port, self.log = name, proc, port, http_port, log

    def alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n"
                               + tail(self.log))

    def metrics(self):
        """DNS cache counters, sessions and the checks' signals, from /metrics."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics",
                                      timeout=5).read().decode()
        wanted = {"mxgate_dns_cache_hits_total": "hits", "mxgate_dns_cache_misses_total": "misses",
                  "mxgate_dns_cache_coalesced_total": "coalesced",
                  "mxgate_dns_cache_entries": "entries", "mxgate_sessions_total": "sessions"}
        found = {}
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key in wanted:
                found[wanted[key]] = float(value)
            elif key.startswith("mxgate_dns_queries_total{"):
                found["queries"] = found.get("queries", 0) + float(value)
            elif key.startswith("mxgate_check_signals_total{") or \
                    key.startswith("mxgate_dnsbl_hits_total{"):
                labels = dict(part.split("=", 1) for part in key[key.index("{") + 1:-1].split(","))
                labels = {k: v.strip('"') for k, v in labels.items()}
                name = (f"{labels.get('check')}:{labels.get('signal')}"
                        if "check" in labels else f"dnsbl_hit:{labels.get('zone')}")
                found["signal " + name] = float(value)
        return found


def mxgate_config(workdir, name, dns_address, dnsbls):
    port, proxy_port, http_port = free_port(), free_port(), free_port()
    storage = workdir / f"{name}-store"
    storage.mkdir()
    config = workdir / f"{name}.toml"
    config.write_text(f"""# generated by benchmarks/load/dns.py
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
servers = ["{dns_address}"]

[pregreet]
enabled = false

# SPF, DKIM and DMARC (issue 5) and throttling (issue 6) are not issue 4's: off on both sides.
[auth]
enabled = false

[throttle]
enabled = false

[reputation]
trusted_networks = []
defer_at = 1000.0
reject_at = 1000.0

[[route]]
domains = ["example.com"]
downstream = ["127.0.0.1:{free_port()}"]
{dnsbls}""")
    return config, proxy_port, http_port


def check_config(binary, config, overrides):
    argv = [str(binary), "check-config", "-c", str(config)]
    for override in overrides:
        argv += ["-o", override]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"check-config refused {config} {overrides}:\n"
                           f"{done.stderr.decode(errors='replace')}")


def start_mxgate(procs, workdir, binary, name, dns_address, dnsbls, overrides):
    config, proxy_port, http_port = mxgate_config(workdir, name, dns_address, dnsbls)
    check_config(binary, config, overrides)
    argv = [str(binary), "serve", "-c", str(config)]
    for override in overrides:
        argv += ["-o", override]
    log = workdir / f"{name}.log"
    proc = procs.start(name, argv, log)
    wait_for_port(proxy_port, proc, name, log)
    return Mxgate(name, proc, proxy_port, http_port, log)


def delta(after, before):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def warm(server, sample, addresses):
    """Passes over the sample until one sends no query (at least two)."""
    for n in range(1, WARM_PASSES + 1):
        before = server.metrics()
        run_client(server.port, WARMUP_CONCURRENCY, 120, sample, warmup=0,
                   max_connections=addresses)
        d = delta(server.metrics(), before)
        if n >= 2 and d.get("misses", 0) == 0:
            break
    return n, d


def measure(server, concurrency, sample):
    server.alive()
    before = server.metrics()
    result = run_client(server.port, concurrency, DURATION, sample, watch_pid=server.proc.pid)
    result["metrics"] = delta(server.metrics(), before)
    result["server"] = server.name
    unexpected = any(code != "220" for code in result["replies"]) or any(
        code != "250" for key in ("ehlo_replies", "mail_replies") for code in result.get(key, {}))
    if result["errors_total"] or unexpected:
        print(f"  ! {server.name} c={concurrency}: errors {result['errors']}, replies "
              f"{result['replies']} {result.get('ehlo_replies')} {result.get('mail_replies')}",
              file=sys.stderr)
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec=".0f"):
    return "-" if value is None else format(value, spec)


def latency(r, kind, label="all", p="p50_us"):
    table = r["latency"] if kind == "banner" else r.get("session_latency", {})
    return table.get(label, {}).get(p)


ROW = "{:>4} {:<8} | {:>6} {:>11} | {:>6} {:>6} | {:>6} {:>6} | {:>6} {:>5} {:>6} | {:>5} {:>7}"


def per_connection(r, key):
    """Microseconds of CPU per connection in the measured window (key: watched_cpu_s for the
    server's user + system time, watched_user_cpu_s for user time alone, client_cpu_s)."""
    if not r["connections"]:
        return None
    value = r.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else value * 1e6 / r["connections"]


def print_table(results, names):
    print()
    print(f"{'':13} | {'connections/s':^18} | {'banner, us':^13} | {'to MAIL reply':^13} | "
          f"{'CPU us/conn':^20} | {'DNS per conn':^13}")
    print(ROW.format("conc", "server", "median", "min-max", "p50", "p99", "p50", "p99",
                     "server", "user", "client", "hits", "queries"))
    for concurrency in CONCURRENCY:
        for name in names:
            runs = [r for r in results if r["server"] == name and r["concurrency"] == concurrency]
            if not runs:
                continue
            # The counters cover the client's whole run (its warm-up and drain too).
            sessions = sum(r["metrics"].get("sessions", 0) for r in runs) or 1
            hits = sum(r["metrics"].get("hits", 0) for r in runs) / sessions
            queries = sum(r["metrics"].get("queries", 0) for r in runs) / sessions
            rates = [round(r["rate"]) for r in runs]
            print(ROW.format(
                concurrency, name, fmt(median([r["rate"] for r in runs])),
                f"{min(rates)}-{max(rates)}",
                fmt(median([latency(r, "banner") for r in runs])),
                fmt(median([latency(r, "banner", p="p99_us") for r in runs])),
                fmt(median([latency(r, "session") for r in runs])),
                fmt(median([latency(r, "session", p="p99_us") for r in runs])),
                fmt(median([per_connection(r, "watched_cpu_s") for r in runs])),
                fmt(median([per_connection(r, "watched_user_cpu_s") for r in runs])),
                fmt(median([per_connection(r, "client_cpu_s") for r in runs])),
                fmt(hits, ".1f"), fmt(queries, ".3f")))
    print()
    print("dns-on/dns-off: median of the per-round ratios (the two are measured back to back in "
          "each round;\nmin-max in brackets); connections/s should be >= 0.8")
    ratios = []
    for concurrency in CONCURRENCY:
        pairs = {}
        for r in results:
            if r["concurrency"] == concurrency:
                pairs.setdefault(r["round"], {})[r["server"]] = r
        rate, cpu, user, p50, session_p50 = [], [], [], [], []
        for pair in pairs.values():
            on, off = pair.get("dns-on"), pair.get("dns-off")
            if not on or not off or not off["rate"] or not on["connections"]:
                continue
            rate.append(on["rate"] / off["rate"])
            for key, ratios_of in (("watched_cpu_s", cpu), ("watched_user_cpu_s", user)):
                a, b = per_connection(on, key), per_connection(off, key)
                if a is not None and b:
                    ratios_of.append(a / b)
            p50.append(latency(on, "banner") / latency(off, "banner"))
            if DIALOG == "mail":
                session_p50.append(latency(on, "session") / latency(off, "session"))
        if not rate:
            continue
        ratio = {"concurrency": concurrency, "rate": median(rate), "rate_per_round": rate,
                 "server_cpu": median(cpu), "server_user_cpu": median(user),
                 "banner_p50": median(p50),
                 "session_p50": median(session_p50)}
        ratios.append(ratio)
        print(f"  concurrency {concurrency:>3}: connections/s {ratio['rate']:.2f} "
              f"({len(rate)} pairs, {min(rate):.2f}-{max(rate):.2f}), mxgate CPU per "
              f"connection {fmt(ratio['server_cpu'], '.2f')} (user "
              f"{fmt(ratio['server_user_cpu'], '.2f')}), banner p50 "
              f"{fmt(ratio['banner_p50'], '.2f')}"
              + (f", to-MAIL-reply p50 {fmt(ratio['session_p50'], '.2f')}"
                 if DIALOG == "mail" else ""))
    return ratios


def print_signals(results):
    on = [r for r in results if r["server"] == "dns-on"]
    sessions = sum(r["metrics"].get("sessions", 0) for r in on) or 1
    totals = {}
    for r in on:
        for key, value in r["metrics"].items():
            if key.startswith("signal "):
                totals[key[7:]] = totals.get(key[7:], 0) + value
    shown = ", ".join(f"{k} {v / sessions * 100:.1f}%" for k, v in sorted(totals.items()) if v)
    print(f"\ndns-on: signals per session ({sessions:.0f} sessions): {shown or 'none'}")
    off = [r for r in results if r["server"] == "dns-off"]
    fired = {}
    for r in off:
        for key, value in r["metrics"].items():
            if key.startswith("signal ") and value:
                fired[key[7:]] = fired.get(key[7:], 0) + value
    print(f"dns-off: signals {', '.join(f'{k} {v:.0f}' for k, v in sorted(fired.items()))}")


def main():
    global client_bin
    for tool in (MXGATE_BIN, CLIENT_BIN):
        if not os.access(tool, os.X_OK):
            sys.exit(f"dns.py: {tool} not found (cmake --build build --target mxgate "
                     "connect_client)")
    if DIALOG not in ("mail", "banner"):
        sys.exit("dns.py: DIALOG is mail or banner")
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    results = []
    nsd = None
    with tempfile.TemporaryDirectory(prefix="mxgate-dnsbench-", dir="/tmp") as tmp:
        workdir = Path(tmp)
        try:
            load1 = os.getloadavg()[0]
            print(f"mxgate DNS benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
                  f"{platform.node()}  {os.cpu_count()} CPUs ({cpu_model()})  "
                  f"load average {load1:.2f}  [{MXGATE_BIN}]")
            if load1 > 0.5:
                print("warning: the machine was not idle at the start; figures will be noisy")
            # Private copies: a rebuild of the tree cannot swap them in the middle of the run.
            binary = workdir / "mxgate"
            shutil.copy2(MXGATE_BIN, binary)
            client_bin = str(workdir / "connect_client")
            shutil.copy2(CLIENT_BIN, client_bin)
            zones, sample_lines, dnsbls = world(SAMPLE)
            sample = workdir / "sample.txt"
            sample.write_text("\n".join(sample_lines) + "\n")
            nsd = BenchDnsServer(zones)
            nsd.start()
            print(f"NSD on {nsd.address}: {len(zones)} zones, "
                  f"{sum(z.count(chr(10)) + 1 for z in zones.values())} records; "
                  f"{SAMPLE} client addresses; dialog: {DIALOG}", flush=True)
            on = start_mxgate(procs, workdir, binary, "dns-on", nsd.address, dnsbls, [])
            off = start_mxgate(procs, workdir, binary, "dns-off", nsd.address, dnsbls, DNS_OFF)
            servers = [on, off]
            print(f"dns-off overrides: {' '.join(DNS_OFF)}", flush=True)
            for server in servers:
                passes, last = warm(server, sample, SAMPLE)
                m = server.metrics()
                print(f"  warm-up {server.name}: {passes} passes of {SAMPLE} connections; last "
                      f"pass: {last.get('misses', 0):.0f} cache misses, "
                      f"{last.get('hits', 0):.0f} hits; cache entries (all workers) "
                      f"{m.get('entries', 0):.0f}", flush=True)
            print(f"measuring: {ROUNDS} round(s) x concurrency {CONCURRENCY} x "
                  f"{DURATION:g} s per server", flush=True)
            for round_index in range(ROUNDS):
                order = servers if round_index % 2 == 0 else servers[::-1]
                for concurrency in CONCURRENCY:
                    for server in order:
                        r = measure(server, concurrency, sample)
                        r["round"] = round_index
                        results.append(r)
                        print(f"  round {round_index + 1:>2} c={concurrency:<3} "
                              f"{server.name:<8} {r['rate']:7.0f}/s  banner p50 "
                              f"{latency(r, 'banner'):6.0f} us  misses "
                              f"{r['metrics'].get('misses', 0):.0f}", flush=True)
            ratios = print_table(results, [s.name for s in servers])
            print_signals(results)
            print(f"mxgate peak RSS: dns-on {peak_rss_mib(on.proc.pid):.0f} MiB, dns-off "
                  f"{peak_rss_mib(off.proc.pid):.0f} MiB")
            print(f"load average at the end {os.getloadavg()[0]:.2f}")
            for server in servers:
                server.alive()
            if os.environ.get("JSON"):
                Path(os.environ["JSON"]).write_text(json.dumps(
                    {"sample": SAMPLE, "dialog": DIALOG, "results": results, "ratios": ratios},
                    indent=2) + "\n")
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"dns.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()
            if nsd is not None:
                nsd.stop()
    failed = any(r["errors_total"] for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
