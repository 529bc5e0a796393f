#!/usr/bin/env python3
"""Fleet benchmark (issue 19), one run on 127.0.0.1 with a real redis-server:
  - relay messages/s (one message per connection, so also connections/s) of one node with
    [fleet] on against the same node with it off, while another node of the fleet publishes
    decisions that the loaded node applies (DECISIONS_PER_S, default 50) and two others publish
    the history counters of COUNTS_KEYS_PER_S (default 8000) distinct senders a second each,
    which it merges into its store (4 keys for each of 2,000 messages a second); that work of
    the other nodes runs during the "off" run too, where nothing takes it in, so that the
    machine's load besides the node is the same in both;
  - the error of a fleet-wide limit: 60 connections from one address alternating between the
    three nodes 30 ms apart, against a limit of 10 at once;
  - the propagation delay of a listing across three nodes: the time from the admin API's answer
    on one node until the two others refuse the address at connect (each probed by a connection
    every millisecond), p50 and p99 over PROPAGATIONS (default 200) listings;
  - the CPU a node spends merging other nodes' counters, with nothing else to do.

    benchmarks/load/fleet_run.sh                   3 rounds of 5000 messages at 20 sessions
    ROUNDS=1 MESSAGES=500 PROPAGATIONS=50 benchmarks/load/fleet_run.sh

Environment: MXGATE_BIN, SESSIONS (20), MESSAGES (5000), SIZE (4096), ROUNDS (3), RUN_TIMEOUT
(300), DECISIONS_PER_S (50), PROPAGATIONS (200), COUNTS_KEYS_PER_S (8000). 127.0.0.1 is trusted by mxgate (no DNS
checks); the probes come from other loopback addresses (127.1.x.y), which are not.
"""

import os
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

import load  # noqa: E402  (benchmarks/load/load.py)
from fleet_peers import RedisServer  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "20"))
MESSAGES = int(os.environ.get("MESSAGES", "5000"))
SIZE = int(os.environ.get("SIZE", "4096"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
RUN_TIMEOUT = float(os.environ.get("RUN_TIMEOUT", "300"))
DECISIONS_PER_S = float(os.environ.get("DECISIONS_PER_S", "50"))
PROPAGATIONS = int(os.environ.get("PROPAGATIONS", "200"))
# History counters of distinct senders each of two other nodes publishes a second (the loaded
# node relays about 2,000 messages a second from one trusted address, which counts nothing).
COUNTS_KEYS_PER_S = int(os.environ.get("COUNTS_KEYS_PER_S", "8000"))
PROPAGATION_BOUND = 5.0  # seconds; a listing slower than this counts as lost


# smtp-source's 127.0.0.1 stays trusted, the probes' 127.1.x.y are not (on every node alike);
# no greet pause and no reverse DNS, so that a probe of an address not listed yet is answered
# at once.
TRUSTED = ('[reputation]\ntrusted_networks = ["127.0.0.1/32"]\n\n[pregreet]\nenabled = false\n\n'
           '[checks.rdns]\nmode = "off"\n')


# On the fleet nodes only: 10 connections at once per IP (100 an hour, burst 9), the limit whose
# fleet-wide error limit_error() measures. smtp-source's 127.0.0.1 is exempt (trusted).
LIMIT = ('[[limit]]\nname = "per-ip"\nkey = "ip"\ncount = "connections"\nrate = 100\n'
         'period = "1h"\nburst = 9\n')


def fleet_section(redis, node):
    return (f'[fleet]\nenabled = true\nredis = "{redis.address}"\nnode_name = "{node}"\n'
            f'flush_interval = "200ms"\n\n{TRUSTED}\n{LIMIT}')


def admin_block(mx, ip):
    token = (Path(mx.config).parent / f"{mx.name}-storage" / "admin.token").read_text().strip()
    data = urllib.parse.urlencode({"action": "block", "reason": "benchmark"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{mx.http_port}/admin/rep/{ip}",
                                     data=data, method="PUT")
    request.add_header("Authorization", "Bearer " + token)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        response.read()


def banner_code(port, source):
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        return int(data[:3] or b"0")


def address(i, base=1):
    return f"127.{base}.{(i >> 8) & 255}.{i & 255 or 1}"


def propagation(nodes):
    """Seconds from the admin API's answer until both other nodes refuse, per listing."""
    delays = []
    for i in range(PROPAGATIONS):
        source, others = nodes[i % 3], [n for j, n in enumerate(nodes) if j != i % 3]
        ip = address(i + 1)
        admin_block(source, ip)
        started = time.monotonic()
        pending = list(others)
        while pending and time.monotonic() - started < PROPAGATION_BOUND:
            pending = [n for n in pending if banner_code(n.port, ip) != 554]
            if pending:
                time.sleep(0.001)
        delays.append(time.monotonic() - started if not pending else None)
    return delays


def metric(mx, name):
    """The value of an unlabelled metric of `mx` (0 when absent)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{mx.http_port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def wait_connected(mx, bound=30):
    """Until the node says it is connected to the fleet (mxgate_fleet_connected 1)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        text = urllib.request.urlopen(f"http://127.0.0.1:{mx.http_port}/metrics", timeout=5)
        if "mxgate_fleet_connected 1" in text.read().decode():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{mx.name} did not connect to Redis within {bound} s")


def limit_error(nodes, attempts=60, gap=0.03, runs=3):
    """Connections admitted when `attempts` from one new address alternate between the nodes
    `gap` seconds apart, per run: one node alone admits 10 (LIMIT); unshared state, 30."""
    admitted = []
    for run in range(runs):
        ip = address(run + 1, base=3)
        count = 0
        for i in range(attempts):
            count += banner_code(nodes[i % len(nodes)].port, ip) == 220
            time.sleep(gap)  # the arrival pattern being measured
        admitted.append(count)
    return admitted


class Resp:
    """A minimal Redis client (RESP2) for the echo below: commands of bulk strings."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def command(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.reply()

    def reply(self):
        line = self.file.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        n = int(rest)
        return None if n < 0 else [self.reply() for _ in range(n)]

    def close(self):
        self.sock.close()


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def counts_batch(keys, now):
    """A counts entry as a node publishes it (storage/counts.hpp): for each key (family ip),
    one accepted message today, seen now."""
    seen = varint(int(now))
    tail = seen + seen + varint(1) + varint(int(now) // 86400) + varint(1) + varint(0) * 5
    return b"".join(b"\x00" + varint(len(k)) + k + tail for k in keys)


class OtherNodesCounts(threading.Thread):
    """Publishes, as two other nodes of the fleet, the history counters of COUNTS_KEYS_PER_S
    distinct senders a second each (every flush_interval one counts entry per node), until
    stopped: the loaded node merges them all into its store."""

    def __init__(self, redis, interval=0.2):
        super().__init__(daemon=True)
        self.port, self.interval = redis.port, interval
        self.stopping, self.count, self.next_key = threading.Event(), 0, 0

    def run(self):
        redis = Resp(self.port)
        per_batch = max(1, int(COUNTS_KEYS_PER_S * self.interval))
        while not self.stopping.wait(self.interval):
            for node in (b"other-a", b"other-b"):
                keys = [struct.pack(">I", 0x0A000000 + self.next_key + i) for i in range(per_batch)]
                self.next_key += per_batch
                redis.command("XADD", "mxgate:counts", "*", "node", node, "counts",
                              counts_batch(keys, time.time()))
                self.count += per_batch
        redis.close()


def merge_cost(redis, node, duration=5.0):
    """(keys merged, mxgate CPU seconds) while two simulated nodes publish counters for
    `duration` seconds and `node` serves nothing else."""
    merged = metric(node, "mxgate_fleet_counts_total")
    cpu = node.cpu()
    publisher = OtherNodesCounts(redis)
    publisher.start()
    time.sleep(duration)
    publisher.stopping.set()
    publisher.join()
    deadline = time.monotonic() + 10
    while (metric(node, "mxgate_fleet_counts_total") - merged < publisher.count
           and time.monotonic() < deadline):
        time.sleep(0.05)
    return metric(node, "mxgate_fleet_counts_total") - merged, node.cpu() - cpu


class Decisions(threading.Thread):
    """Blocks addresses on `node` at DECISIONS_PER_S until stopped."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node, self.stopping, self.count = node, threading.Event(), 0

    def run(self):
        while not self.stopping.wait(1 / DECISIONS_PER_S):
            self.count += 1
            admin_block(self.node, address(self.count, base=2))


def main():
    opts = {"keepalive": False, "timeout": RUN_TIMEOUT}
    procs = load.Processes()
    workdir = Path(tempfile.mkdtemp(prefix="mxgate-fleet-bench-"))
    with RedisServer() as redis:
        try:
            sinks = {name: load.Sink(procs, workdir, f"sink-{name}")
                     for name in ("direct", "off", "on")}
            off = load.Mxgate(procs, workdir, sinks["off"], "mx-off", extra=TRUSTED)
            on = load.Mxgate(procs, workdir, sinks["on"], "mx-on",
                             extra=fleet_section(redis, "n1"))
            others = [load.Mxgate(procs, workdir, sinks["on"], f"mx-n{i}",
                                  extra=fleet_section(redis, f"n{i}")) for i in (2, 3)]
            for mx in (off, on, *others):
                mx.name = Path(mx.config).stem
            for mx in (on, *others):
                wait_connected(mx)
            print(f"mxgate fleet benchmark  {time.strftime('%Y-%m-%d %H:%M')}  "
                  f"{os.cpu_count()} CPUs  load average {os.getloadavg()[0]:.2f}")
            print(f"{MESSAGES} messages of {SIZE} octets per run, one per connection, "
                  f"{SESSIONS} sessions, {ROUNDS} round(s); during both runs another node "
                  f"publishes {DECISIONS_PER_S:g} decisions/s (applied) and two others the "
                  f"counters of {COUNTS_KEYS_PER_S} senders/s each (merged)\n")
            print(f"{'round':>5} {'direct':>8} {'off':>8} {'on':>8} {'on/off':>7} "
                  f"{'off CPU ms/msg':>15} {'on CPU ms/msg':>14} {'applied':>8} {'merged':>8}")
            ratios = []
            for r in range(1, ROUNDS + 1):
                row = {"direct": load.measure("direct", sinks["direct"].port, sinks["direct"],
                                              None, SESSIONS, SIZE, MESSAGES, opts, workdir)}
                order = [("off", off), ("on", on)] if r % 2 else [("on", on), ("off", off)]
                applied = merged = 0
                for name, mx in order:
                    # The other nodes' work runs during both runs (on this machine it takes
                    # CPU from the node in either); only the node with [fleet] on takes it in.
                    helpers = [Decisions(others[0]), OtherNodesCounts(redis)]
                    for helper in helpers:
                        helper.start()
                    merged_before = metric(mx, "mxgate_fleet_counts_total")
                    row[name] = load.measure(name, mx.port, sinks[name], mx, SESSIONS, SIZE,
                                             MESSAGES, opts, workdir)
                    for helper in helpers:
                        helper.stopping.set()
                        helper.join()
                    if name == "on":
                        applied = helpers[0].count
                        merged = metric(mx, "mxgate_fleet_counts_total") - merged_before
                rate = {k: row[k]["msgs_per_s"] or 0 for k in ("direct", "off", "on")}
                ratio = rate["on"] / rate["off"] if rate["off"] else 0
                ratios.append(ratio)
                per = lambda k: row[k]["cpu_mxgate"] * 1000 / MESSAGES  # noqa: E731
                print(f"{r:>5} {rate['direct']:8.0f} {rate['off']:8.0f} {rate['on']:8.0f} "
                      f"{ratio:7.2f} {per('off'):15.3f} {per('on'):14.3f} {applied:8} {merged:8.0f}")
            print(f"\nmedian on/off: {statistics.median(ratios):.2f}")
            admitted = limit_error([on, *others])
            print(f"a limit of 10 at once per IP, 60 connections alternating over the 3 nodes "
                  f"30 ms apart (flush_interval 200ms): admitted {admitted} (30 unshared)")
            delays = propagation([on, *others])
            done = sorted(d for d in delays if d is not None)
            lost = len(delays) - len(done)
            if done:
                p50 = done[len(done) // 2] * 1000
                p99 = done[min(len(done) - 1, int(len(done) * 0.99))] * 1000
                print(f"propagation of a listing to the 2 other nodes over {len(delays)} "
                      f"listings: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {done[-1] * 1000:.1f} "
                      f"ms, not within {PROPAGATION_BOUND:g} s: {lost}")
            keys, seconds = merge_cost(redis, on)
            print(f"merging other nodes' counters with the node otherwise idle: {keys:.0f} keys "
                  f"in {seconds:.2f} s of mxgate CPU, {seconds / keys * 1e6:.1f} us a key")
        finally:
            procs.stop_all()


if __name__ == "__main__":
    main()
