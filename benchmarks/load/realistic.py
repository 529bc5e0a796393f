#!/usr/bin/env python3
"""Realistic-traffic benchmark (issue 17): messages per second of mxgate judging real-looking
mail from thousands of clients of hundreds of sending domains, with its content checks on and
off, against Postfix's smtp-source straight into smtp-sink, in one run, on 127.0.0.1 only. See
benchmarks/README.md ("Realistic-traffic benchmark").

Steps:
 1. realistic_world.py writes the world into a temporary directory: DOMAINS sending domains with
    CLIENTS_PER_DOMAIN clients each (PTR, SPF, DKIM, DMARC p=reject), BAD_SHARE bad senders
    (DNSBL-listed, no PTR, forged, linking to a listed domain), 10 DKIM-signed messages per
    domain of mixed sizes (60% ~4 KiB, 30% ~20 KiB multipart/alternative, 10% ~100 KiB HTML with
    ~50 links), some of them bulk with one-click unsubscribe.
 2. NSD serves it (tests/integration/dns_server.py's DnsServer on a free loopback port) with
    TTLs of a day, so nothing expires during the run.
 3. Three smtp-sinks and two mxgates from one generated configuration (PROXY listener,
    dns.servers = NSD, reputation.trusted_networks = [], the greet pause and throttling off,
    the [[dnsbl]] zones, every other check at its default: rdns, dnsbl, helo, sender_domain,
    rhsbl, spf, dkim, dmarc, format, linked_domains, bulk_unsubscribe, relaying to its sink):
    "on" as written, "off" with -o content.enabled=false and the three content checks off.
    Neither is warmed: the first round pays every DNS lookup (a probe message from a client
    and domain outside the sample checks the set-up first).
 4. ROUNDS rounds; in each, for each concurrency (SESSIONS), MESSAGES messages, one per
    connection, in four runs:
      (a) smtp-source -> smtp-sink, -l the mean size of the sample's messages (the reference
          of the issue's target)
      (d) connect_client -> smtp-sink: the same messages, no PROXY header (what this client
          and sink do with this load)
      (b) connect_client -> mxgate "on" -> smtp-sink, PROXY v2 with each client's address
      (c) the same into mxgate "off"
    (b) and (c) alternate their order per round. connect_client --dialog message sends each
    sample line's message (EHLO its HELO, MAIL FROM, RCPT TO, DATA, the message, QUIT) and
    counts the reply that ended each transaction, per kind of client.
 5. Prints each round, the first round (cold caches) and the medians of the others (warm), the
    ratios b/a and b/c (median of the per-round ratios) against the targets (b/c >= 0.9,
    b/a >= 0.45 at 20 sessions), mxgate's CPU seconds per 1000 messages, DNS queries per
    message, the reply mix per kind of client, the signals the checks raised and the peak RSS.
    Stops everything and removes the temporary directories.

Environment:
  MXGATE_BIN          default <repo>/build/server/mxgate
  CLIENT_BIN          default <repo>/build/benchmarks/load/connect_client
  SESSIONS            concurrencies (default "20")
  MESSAGES            messages per run (default 5000; QUICK: 1000)
  ROUNDS              default 5 (QUICK: 2, a cold and a warm one)
  DOMAINS             sending domains (default 200; QUICK: 50)
  CLIENTS_PER_DOMAIN  default 20 (at most 30)
  KEY_POOL            RSA 2048 keys generated, shared round-robin by the domains (default 16;
                      QUICK: 4)
  BAD_SHARE           share of bad senders (default 0.10)
  RUN_TIMEOUT         seconds one run may take (default 300)
  QUICK=1             the smaller defaults above
  JSON                also write every measurement to this file
  SMTP_SOURCE, SMTP_SINK   the Postfix tools (default /usr/sbin/smtp-source, smtp-sink)
"""

import json
import os
import platform
import re
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
from load import (SMTP_SINK, SMTP_SOURCE, Processes, Sink, cpu_model,  # noqa: E402
                  cpu_seconds, free_port, peak_rss_mib, run_source, tail, wait_for_port)
from dns import BenchDnsServer, Mxgate, check_config  # noqa: E402
import realistic_world  # noqa: E402

QUICK = os.environ.get("QUICK") == "1"
MXGATE_BIN = os.environ.get("MXGATE_BIN", str(REPO / "build" / "server" / "mxgate"))
CLIENT_BIN = os.environ.get("CLIENT_BIN",
                            str(REPO / "build" / "benchmarks" / "load" / "connect_client"))
SESSIONS = [int(x) for x in os.environ.get("SESSIONS", "20").replace(",", " ").split()]
MESSAGES = int(os.environ.get("MESSAGES", "1000" if QUICK else "5000"))
ROUNDS = int(os.environ.get("ROUNDS", "2" if QUICK else "5"))
DOMAINS = int(os.environ.get("DOMAINS", "50" if QUICK else "200"))
CLIENTS_PER_DOMAIN = int(os.environ.get("CLIENTS_PER_DOMAIN", "20"))
KEY_POOL = int(os.environ.get("KEY_POOL", "4" if QUICK else "16"))
BAD_SHARE = float(os.environ.get("BAD_SHARE", "0.10"))
RUN_TIMEOUT = float(os.environ.get("RUN_TIMEOUT", "300"))
SESSION_TIMEOUT = 30        # seconds one SMTP session may take in connect_client
DELIVERY_GRACE = 30.0       # seconds for a sink to count the relayed messages after a run
CONTENT_OFF = ["content.enabled=false", "checks.format.mode=off",
               "checks.linked_domains.mode=off", "checks.bulk_unsubscribe.mode=off"]
SERVERS = ("on", "off")
TARGET_ON_OFF, TARGET_ON_DIRECT, TARGET_SESSIONS = 0.9, 0.45, 20


class Gateway(Mxgate):
    """dns.py's Mxgate, plus the DNS queries by outcome (answer, nxdomain, timeout, ...)."""

    def metrics(self):
        found = super().metrics()
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics",
                                      timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("mxgate_dns_queries_total{"):
                key, _, value = line.rpartition(" ")
                outcome = re.search(r'outcome="([^"]*)"', key)
                name = f"dns {outcome.group(1) if outcome else '?'}"
                found[name] = found.get(name, 0) + float(value)
        return found


def mxgate_config(workdir, name, dns_address, dnsbls, sink_port):
    port, proxy_port, http_port = free_port(), free_port(), free_port()
    storage = workdir / f"{name}-store"
    storage.mkdir()
    config = workdir / f"{name}.toml"
    config.write_text(f"""# generated by benchmarks/load/realistic.py
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

# A deliberate wait of seconds before the banner: it would dominate every figure.
[pregreet]
enabled = false

# Throttling would defer the benchmark's senders (new IPs, a burst); issue 6 measured it.
[throttle]
enabled = false

[reputation]
trusted_networks = []

[[route]]
domains = ["example.com"]
downstream = ["127.0.0.1:{sink_port}"]
{dnsbls}""")
    return config, proxy_port, http_port


def start_mxgate(procs, workdir, binary, name, world, dns_address, sink, overrides):
    config, proxy_port, http_port = mxgate_config(workdir, f"mxgate-{name}", dns_address,
                                                  world.dnsbl_toml, sink.port)
    check_config(binary, config, overrides)
    argv = [str(binary), "serve", "-c", str(config)]
    for override in overrides:
        argv += ["-o", override]
    log = workdir / f"mxgate-{name}.log"
    proc = procs.start(f"mxgate-{name}", argv, log)
    wait_for_port(proxy_port, proc, f"mxgate-{name}", log)
    server = Gateway(name, proc, proxy_port, http_port, log)
    server.sink = sink
    return server


def run_client(client, port, sessions, messages, sample, proxy_header=True, watch_pid=None):
    argv = [client, "--port", str(port), "--concurrency", str(sessions), "--duration", "3600",
            "--warmup", "0", "--max-connections", str(messages), "--timeout",
            str(SESSION_TIMEOUT), "--proxy", str(sample), "--dialog", "message",
            "--proxy-header", "on" if proxy_header else "off"]
    if watch_pid:
        argv += ["--watch-pid", str(watch_pid)]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"connect_client failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace')}{done.stdout.decode()}")
    return json.loads(done.stdout)


def wait_for_sink(sink, expected):
    deadline = time.monotonic() + DELIVERY_GRACE
    while sink.messages() < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return sink.messages()


def outcome_shares(outcomes):
    """{"250": n, "451": n, ...} -> (share of 2xx, 4xx, 5xx)."""
    total = sum(outcomes.values()) or 1
    return tuple(sum(n for code, n in outcomes.items() if int(code) // 100 == c) / total
                 for c in (2, 4, 5))


def measure_mxgate(server, client, sessions, sample):
    """One run of connect_client into an mxgate; CPU and metrics are differences over it."""
    server.alive()
    before, cpu0 = server.metrics(), cpu_seconds(server.proc.pid)
    sink_before, sink_cpu0 = server.sink.messages(), server.sink.cpu()
    r = run_client(client, server.port, sessions, MESSAGES, sample, watch_pid=server.proc.pid)
    accepted = sum(n for code, n in r["outcomes"]["all"].items() if int(code) // 100 == 2)
    delivered = wait_for_sink(server.sink, sink_before + accepted) - sink_before
    after = server.metrics()
    r.update(server=server.name, cpu_mxgate=cpu_seconds(server.proc.pid) - cpu0,
             cpu_sink=server.sink.cpu() - sink_cpu0, delivered=delivered, accepted=accepted,
             metrics={k: after.get(k, 0) - before.get(k, 0) for k in after})
    if r["errors_total"] or delivered != accepted or r["connections"] != MESSAGES:
        print(f"  ! mxgate-{server.name} s={sessions}: {r['connections']}/{MESSAGES} sessions "
              f"completed, errors {r['errors']}, {accepted} accepted, {delivered} reached the "
              f"sink", file=sys.stderr)
        r["failed"] = True
    return r


def measure_direct_client(sink, client, sessions, sample):
    sink_before, sink_cpu0 = sink.messages(), sink.cpu()
    r = run_client(client, sink.port, sessions, MESSAGES, sample, proxy_header=False)
    delivered = wait_for_sink(sink, sink_before + MESSAGES) - sink_before
    r.update(cpu_sink=sink.cpu() - sink_cpu0, delivered=delivered)
    if r["errors_total"] or delivered != MESSAGES:
        print(f"  ! (d) s={sessions}: errors {r['errors']}, {delivered}/{MESSAGES} reached the "
              "sink", file=sys.stderr)
        r["failed"] = True
    return r


def measure_source(sink, sessions, size, workdir):
    """(a): smtp-source, one message per connection, -l size; rate until the sink has all."""
    sink_before, sink_cpu0 = sink.messages(), sink.cpu()
    errfile = workdir / f"source-{sessions}.err"
    start = time.monotonic()
    status, _, source_cpu = run_source(sink.port, sessions, MESSAGES, size, False, RUN_TIMEOUT,
                                       errfile)
    delivered = wait_for_sink(sink, sink_before + MESSAGES) - sink_before
    elapsed = time.monotonic() - start
    ok = status == 0 and delivered == MESSAGES
    if not ok:
        print(f"  ! (a) s={sessions}: smtp-source status {status}, sink received "
              f"{delivered}/{MESSAGES}:\n    {tail(errfile, 600).strip()}", file=sys.stderr)
    return {"rate": MESSAGES / elapsed if ok else None, "seconds": elapsed,
            "cpu_source": source_cpu, "cpu_sink": sink.cpu() - sink_cpu0, "failed": not ok}


def probe(server, client, world):
    """One good message from outside the sample: the set-up works (a 250 at the end of data)."""
    r = run_client(client, server.port, 1, 1, world.probe)
    if r["outcomes"]["all"] != {"250": 1}:
        raise RuntimeError(f"the probe message through mxgate-{server.name} got "
                           f"{r['outcomes']['all']} (steps {r['step_replies']}); its log:\n"
                           + tail(server.log))


def one_round(index, sessions, ctx):
    row = {"round": index, "sessions": sessions}
    row["a"] = measure_source(ctx["sink_direct"], sessions, ctx["source_size"], ctx["workdir"])
    row["d"] = measure_direct_client(ctx["sink_direct"], ctx["client"], sessions,
                                     ctx["world"].sample)
    servers = ctx["servers"] if index % 2 == 0 else ctx["servers"][::-1]
    for server in servers:
        row[server.name] = measure_mxgate(server, ctx["client"], sessions, ctx["world"].sample)
    rate = {k: row[k]["rate"] if not row[k].get("failed") else None for k in ("a", "d", "on",
                                                                              "off")}
    row["b_a"] = rate["on"] / rate["a"] if rate["on"] and rate["a"] else None
    row["b_c"] = rate["on"] / rate["off"] if rate["on"] and rate["off"] else None
    return row


def per_1000(r, key):
    return r[key] * 1000 / MESSAGES if r and r.get(key) is not None else None


def fmt(value, spec=".0f"):
    return "-" if value is None else format(value, spec)


def mix(r):
    if not r["outcomes"]["all"]:
        return "-"
    two, four, five = outcome_shares(r["outcomes"]["all"])
    return f"{two * 100:.0f}/{four * 100:.0f}/{five * 100:.0f}"


def dns_per_message(r):
    return r["metrics"].get("queries", 0) / MESSAGES


ROW = ("{:>5} {:>4} | {:>6} {:>6} {:>6} {:>6} | {:>5} {:>5} | {:>6} {:>6} {:>6} {:>6} | "
       "{:>8} {:>8} | {:>5} {:>5}")


def print_header():
    print()
    print(f"{'':10} | {'messages/s':^27} | {'ratios':^11} | {'CPU s per 1000 messages':^27} | "
          f"{'250/4xx/5xx, %':^17} | {'DNS q/msg':^11}")
    print(ROW.format("round", "sess", "(a)", "(d)", "(b)", "(c)", "b/a", "b/c", "b:mx",
                     "c:mx", "b:cli", "a:src", "(b)", "(c)", "(b)", "(c)"))


def print_row(label, row):
    a, d, on, off = row["a"], row["d"], row["on"], row["off"]
    print(ROW.format(label, row["sessions"], fmt(a["rate"]), fmt(d["rate"]), fmt(on["rate"]),
                     fmt(off["rate"]), fmt(row["b_a"], ".2f"), fmt(row["b_c"], ".2f"),
                     fmt(per_1000(on, "cpu_mxgate"), ".3f"),
                     fmt(per_1000(off, "cpu_mxgate"), ".3f"),
                     fmt(per_1000(on, "client_cpu_s"), ".3f"),
                     fmt(per_1000(a, "cpu_source"), ".3f"), mix(on), mix(off),
                     fmt(dns_per_message(on), ".2f"), fmt(dns_per_message(off), ".2f")),
          flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(rows):
    """The cold first round, and the medians of the warm ones, per concurrency."""
    out = []
    print("\ncold: round 1 of the first concurrency (no DNS answer cached, every client new to "
          "the store;\nlater concurrencies' round 1 is shown as \"first\"); warm: medians of "
          "rounds 2..N\n(ratios: median of the per-round ratios); targets "
          f"b/c >= {TARGET_ON_OFF}, b/a >= {TARGET_ON_DIRECT} at {TARGET_SESSIONS} sessions")
    print_header()
    for sessions in SESSIONS:
        mine = [r for r in rows if r["sessions"] == sessions]
        if not mine:
            continue
        print_row("cold" if sessions == SESSIONS[0] else "first", mine[0])
        warm = mine[1:] or mine
        med = {"sessions": sessions, "b_a": median([r["b_a"] for r in warm]),
               "b_c": median([r["b_c"] for r in warm])}
        for k in ("a", "d", "on", "off"):
            med[k] = {key: median([r[k].get(key) for r in warm])
                      for key in ("rate", "cpu_mxgate", "client_cpu_s", "cpu_source")}
        for k in SERVERS:  # the reply mix of the warm rounds together, their mean DNS queries
            med[k]["outcomes"] = {"all": {}}
            for r in warm:
                for code, n in r[k]["outcomes"]["all"].items():
                    med[k]["outcomes"]["all"][code] = med[k]["outcomes"]["all"].get(code, 0) + n
            med[k]["metrics"] = {"queries": statistics.mean(r[k]["metrics"].get("queries", 0)
                                                            for r in warm)}
        print_row("warm", med)
        out.append(med)
        verdict = []
        if med["b_c"] is not None:
            verdict.append(f"b/c {med['b_c']:.2f} "
                           + ("meets" if med["b_c"] >= TARGET_ON_OFF else "BELOW")
                           + f" the target {TARGET_ON_OFF}")
        if med["b_a"] is not None and sessions == TARGET_SESSIONS:
            verdict.append(f"b/a {med['b_a']:.2f} "
                           + ("meets" if med["b_a"] >= TARGET_ON_DIRECT else "BELOW")
                           + f" the target {TARGET_ON_DIRECT}")
        if verdict:
            print(f"      {sessions} sessions, warm: " + "; ".join(verdict))
    return out


def print_outcomes(rows, world):
    """Reply codes that ended the transactions, per kind of client, over all rounds."""
    print("\nreplies that ended each transaction, per kind of client (all rounds; "
          "code: share of that kind's messages):")
    kinds = list(world.facts["kinds"])
    for name in SERVERS:
        for kind in ["all"] + kinds:
            codes = {}
            for r in rows:
                for code, n in r[name]["outcomes"].get(kind, {}).items():
                    codes[code] = codes.get(code, 0) + n
            total = sum(codes.values()) or 1
            text = ", ".join(f"{code} {n / total * 100:.1f}%" for code, n in sorted(codes.items()))
            print(f"  ({'b' if name == 'on' else 'c'}) {name:<3} {kind:<9} {text}")


def print_latency(rows):
    """Connect to the reply that ended the transaction, median over the rounds of each class."""
    for name in SERVERS:
        parts = []
        for label, mine in (("cold", rows[:len(SESSIONS)]), ("warm", rows[len(SESSIONS):])):
            for sessions in SESSIONS:
                runs = [r[name]["session_latency"]["all"] for r in mine
                        if r["sessions"] == sessions]
                if label == "cold" and sessions != SESSIONS[0]:
                    label = "first"
                if runs:
                    parts.append(f"{label} s={sessions} p50 "
                                 f"{median([x['p50_us'] for x in runs]) / 1000:.1f} p99 "
                                 f"{median([x['p99_us'] for x in runs]) / 1000:.1f}")
        print(f"connect to final reply, ms, mxgate {name}: " + "; ".join(parts))


def print_signals(rows):
    for name in SERVERS:
        outcomes = {}
        for r in rows:
            for key, value in r[name]["metrics"].items():
                if key.startswith("dns ") and value:
                    outcomes[key[4:]] = outcomes.get(key[4:], 0) + value
        print(f"DNS queries of mxgate {name} by outcome (all rounds): "
              + ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items())))
    for name in SERVERS:
        totals = {}
        for r in rows:
            for key, value in r[name]["metrics"].items():
                if key.startswith("signal ") and value:
                    totals[key[7:]] = totals.get(key[7:], 0) + value
        messages = MESSAGES * len(rows)
        shown = ", ".join(f"{k} {v / messages * 100:.1f}%" for k, v in sorted(totals.items()))
        print(f"signals per message, mxgate {name}: {shown or 'none'}")


def world_line(world):
    f = world.facts
    kinds = ", ".join(f"{k} {n}" for k, n in f["kinds"].items())
    return (f"world: {f['domains']} sending domains, {f['clients']} client addresses ({kinds}); "
            f"{f['messages']} messages on disk ({f['signed']} DKIM-signed, {f['key_pool']} RSA "
            f"keys), mean size as sent {f['sample_mean_size'] / 1024:.1f} KiB; NSD "
            f"{f['records']} records, TTL 1 day")


def setup(procs, workdir, ctx):
    binary, client = workdir / "mxgate", str(workdir / "connect_client")
    shutil.copy2(MXGATE_BIN, binary)  # private copies: a rebuild cannot swap them mid-run
    shutil.copy2(CLIENT_BIN, client)
    started = time.monotonic()
    world = realistic_world.build_world(workdir / "world", DOMAINS, CLIENTS_PER_DOMAIN,
                                        KEY_POOL, BAD_SHARE)
    print(world_line(world) + f" (built in {time.monotonic() - started:.0f} s)", flush=True)
    ctx["nsd"] = BenchDnsServer(world.zones)
    ctx["nsd"].start()
    ctx.update(workdir=workdir, client=client, world=world,
               source_size=round(world.facts["sample_mean_size"]))
    ctx["sink_direct"] = Sink(procs, workdir, "sink-direct")
    servers = []
    for name in SERVERS:
        sink = Sink(procs, workdir, f"sink-{name}")
        servers.append(start_mxgate(procs, workdir, binary, name, world, ctx["nsd"].address, sink,
                                    CONTENT_OFF if name == "off" else []))
    ctx["servers"] = servers
    for server in servers:
        probe(server, client, world)
    print(f"(a) smtp-source -l {ctx['source_size']} -> smtp-sink   (d) connect_client -> "
          "smtp-sink, same messages\n(b) connect_client -> mxgate, content checks on -> "
          "smtp-sink   (c) the same, content off: -o " + " -o ".join(CONTENT_OFF))
    print(f"{MESSAGES} messages per run, one per connection; {ROUNDS} round(s); sessions "
          f"{SESSIONS}; caches cold at the start (a probe from outside the sample only)",
          flush=True)


def run(procs, workdir, rows):
    load1 = os.getloadavg()[0]
    print(f"mxgate realistic-traffic benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
          f"{platform.node()}  {os.cpu_count()} CPUs ({cpu_model()})  load average "
          f"{load1:.2f}  [{MXGATE_BIN}]")
    if load1 > 0.5:
        print("warning: the machine was not idle at the start; figures will be noisy")
    ctx = {}
    try:
        setup(procs, workdir, ctx)
        print_header()
        for index in range(ROUNDS):
            for sessions in SESSIONS:
                row = one_round(index, sessions, ctx)
                rows.append(row)
                print_row(str(index + 1), row)
        medians = summary(rows)
        print_outcomes(rows, ctx["world"])
        print_latency(rows)
        print_signals(rows)
        rss = {s.name: peak_rss_mib(s.proc.pid) for s in ctx["servers"]}
        print(f"mxgate peak RSS: on {rss['on']:.0f} MiB, off {rss['off']:.0f} MiB")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        for server in ctx["servers"]:
            server.alive()
        if os.environ.get("JSON"):
            Path(os.environ["JSON"]).write_text(json.dumps(
                {"world": ctx["world"].facts, "messages": MESSAGES, "rows": rows,
                 "warm_medians": medians, "peak_rss_mib": rss}, indent=2) + "\n")
    finally:
        if ctx.get("nsd"):
            ctx["nsd"].stop()


def main():
    for tool in (MXGATE_BIN, CLIENT_BIN, SMTP_SOURCE, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            sys.exit(f"realistic.py: {tool} not found (cmake --build build --target mxgate "
                     "connect_client; smtp-source and smtp-sink: apt-get install postfix)")
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mxgate-realistic-", dir="/tmp") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # smtp-sink drops to nobody
        try:
            run(procs, workdir, rows)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"realistic.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()
    failed = any(r[k].get("failed") for r in rows for k in ("a", "d", "on", "off"))
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
