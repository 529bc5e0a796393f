#!/usr/bin/env python3
"""Throttling benchmark (issue 6): relay throughput of mxgate with every throttle on against
the same configuration with throttling off, in one run, on 127.0.0.1 only.

Two mxgates relay smtp-source's messages into one smtp-sink each. Both treat 127.0.0.1 as an
ordinary client (reputation.trusted_networks = []), with the DNS checks, authentication and the
greet pause off (no DNS here), so that they differ only in throttling:
  "on":  [throttle] enabled: every default [[limit]] kind (connections, messages and recipients
         per IP and network, the (IP, sender domain) pair), the new-IP ramp, the anomaly and
         hygiene rules, the per-network session cap and the tarpit, with rates and the ramp
         floor set far above the load, so that every message does all the work and none is
         deferred
  "off": throttle.enabled = false
ROUNDS rounds; in each, for each concurrency, both are measured back to back (the order
alternates) with MESSAGES messages of SIZE octets. Prints messages/s of each, the per-round
ratios on/off and their median, and smtp-sink straight from smtp-source as the reference.

Environment: MXGATE_BIN, SESSIONS (default "20 100"), SIZE (4096), MESSAGES (5000), ROUNDS (5),
QUICK=1 (one round of 1000 messages), JSON (write the measurements there).
"""

import json
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load import (UNTRUSTED_NO_DNS, Mxgate, Processes, Sink, env_list, measure,  # noqa: E402
                  peak_rss_mib, tail)

QUICK = os.environ.get("QUICK") == "1"
SESSIONS = env_list("SESSIONS", [20, 100])
SIZE = int(os.environ.get("SIZE", "4096"))
MESSAGES = int(os.environ.get("MESSAGES", "1000" if QUICK else "5000"))
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "5"))
HUGE = 100_000_000

COMMON = UNTRUSTED_NO_DNS

LIMITS = "".join(f"""
[[limit]]
name = "{name}"
key = "{key}"
count = "{count}"
rate = {HUGE}
period = "1h"
burst = {HUGE}
""" for name, key, count in [
    ("ip-connections", "ip", "connections"), ("network-connections", "network", "connections"),
    ("ip-messages", "ip", "messages"), ("network-messages", "network", "messages"),
    ("ip-recipients", "ip", "recipients"),
    ("ip-sender-domain-messages", "ip_sender_domain", "messages")])

ON = COMMON + f"""
[throttle]
enabled = true
ramp_floor = {HUGE}
max_sessions_per_network = 100000
""" + LIMITS

OFF = COMMON + """
[throttle]
enabled = false
"""


def main():
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    opts = {"keepalive": False, "timeout": 180.0}
    rows = []
    with tempfile.TemporaryDirectory(prefix="mxgate-throttle-") as workdir:
        os.chmod(workdir, 0o755)
        try:
            direct = Sink(procs, workdir, "sink-direct")
            sinks = {name: Sink(procs, workdir, f"sink-{name}") for name in ("on", "off")}
            servers = {name: Mxgate(procs, workdir, sinks[name], name=f"mxgate-{name}",
                                    extra=ON if name == "on" else OFF) for name in ("on", "off")}
            for name, server in servers.items():
                probe = measure("probe", server.port, sinks[name], server, 1, 1024, 1, opts,
                                workdir)
                if probe["msgs_per_s"] is None:
                    raise RuntimeError(f"mxgate-{name} did not relay a probe:\n" + tail(server.log))
            print(f"{MESSAGES} messages of {SIZE} octets per run, {ROUNDS} rounds")
            print(f"{'round':>5} {'sess':>5} | {'direct/s':>9} {'on/s':>9} {'off/s':>9} | "
                  f"{'on/off':>6}")
            for r in range(ROUNDS):
                for sessions in SESSIONS:
                    order = ("on", "off") if r % 2 == 0 else ("off", "on")
                    result = {"round": r, "sessions": sessions}
                    result["direct"] = measure("direct", direct.port, direct, None, sessions,
                                               SIZE, MESSAGES, opts, workdir)
                    for name in order:
                        result[name] = measure(name, servers[name].port, sinks[name],
                                               servers[name], sessions, SIZE, MESSAGES, opts,
                                               workdir)
                    rate = {k: result[k]["msgs_per_s"] for k in ("direct", "on", "off")}
                    ratio = rate["on"] / rate["off"] if rate["on"] and rate["off"] else None
                    result["ratio"] = ratio
                    rows.append(result)
                    print(f"{r:>5} {sessions:>5} | {rate['direct'] or 0:9.0f} "
                          f"{rate['on'] or 0:9.0f} {rate['off'] or 0:9.0f} | "
                          f"{ratio or 0:6.3f}", flush=True)
            print()
            for sessions in SESSIONS:
                ratios = [x["ratio"] for x in rows if x["sessions"] == sessions and x["ratio"]]
                on = [x["on"]["msgs_per_s"] for x in rows if x["sessions"] == sessions]
                off = [x["off"]["msgs_per_s"] for x in rows if x["sessions"] == sessions]
                direct_rates = [x["direct"]["msgs_per_s"] for x in rows
                                if x["sessions"] == sessions]
                if ratios:
                    print(f"sessions {sessions}: median on/off {statistics.median(ratios):.3f}; "
                          f"median msgs/s direct {statistics.median(direct_rates):.0f}, "
                          f"on {statistics.median(on):.0f}, off {statistics.median(off):.0f}")
            for name, server in servers.items():
                deferred = "throttle_" in server.log.read_text(errors="replace")
                print(f"mxgate-{name}: peak RSS {peak_rss_mib(server.proc.pid):.1f} MiB"
                      f"{'; see its log' if deferred else ''}")
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except RuntimeError as e:
            print(f"throttle_run.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
    failed = any(x["ratio"] is None for x in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
