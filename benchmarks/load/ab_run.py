#!/usr/bin/env python3
"""A/B benchmark of two mxgate binaries: the same configuration and load, measured back to back
in one run (the order alternating per round), on 127.0.0.1 only. For a change that must not
cost speed (a refactoring): BASE_BIN is the binary before it, MXGATE_BIN the one after.

Both treat 127.0.0.1 as an ordinary client with every check that needs no DNS server: the
reputation lookups at connect and MAIL, and throttling with every limit kind of the defaults,
the ramp, anomaly, hygiene, the per-network session cap and the tarpit (throttle_run.py's "on",
rates far above the load so nothing is deferred). Each relays smtp-source's messages into an
smtp-sink of its own. Prints messages/s and mxgate's CPU seconds per 1000 messages of each,
the per-round ratios new/base and their medians; smtp-sink straight from smtp-source is the
reference.

Environment: BASE_BIN (required), MXGATE_BIN, SESSIONS (default "20 100"), SIZE (4096),
MESSAGES (5000), ROUNDS (5), QUICK=1 (one round of 1000 messages), QUEUE=1 (both in queue
mode: a synced spool write before each 250; the rate counts until the sink has every message),
JSON (write the measurements there).
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
from load import MXGATE_BIN, Mxgate, Processes, Sink, env_list, measure, tail  # noqa: E402
from throttle_run import ON  # noqa: E402

QUICK = os.environ.get("QUICK") == "1"
SESSIONS = env_list("SESSIONS", [20, 100])
SIZE = int(os.environ.get("SIZE", "4096"))
MESSAGES = int(os.environ.get("MESSAGES", "1000" if QUICK else "5000"))
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "5"))
SIDES = ("base", "new")
CONFIG = ON + ('\n[relay]\nmode = "queue"\n' if os.environ.get("QUEUE") == "1" else "")


def start(procs, workdir, binaries):
    sinks = {name: Sink(procs, workdir, f"sink-{name}") for name in SIDES}
    servers = {name: Mxgate(procs, workdir, sinks[name], name=f"mxgate-{name}", extra=CONFIG,
                            binary=binaries[name]) for name in SIDES}
    opts = {"keepalive": False, "timeout": 180.0}
    for name, server in servers.items():
        probe = measure("probe", server.port, sinks[name], server, 1, 1024, 1, opts, workdir)
        if probe["msgs_per_s"] is None:
            raise RuntimeError(f"mxgate-{name} did not relay a probe:\n" + tail(server.log))
    return sinks, servers


def one_round(r, sessions, direct, sinks, servers, workdir):
    opts = {"keepalive": False, "timeout": 180.0}
    result = {"round": r, "sessions": sessions}
    result["direct"] = measure("direct", direct.port, direct, None, sessions, SIZE, MESSAGES,
                               opts, workdir)
    for name in SIDES if r % 2 == 0 else reversed(SIDES):
        result[name] = measure(name, servers[name].port, sinks[name], servers[name], sessions,
                               SIZE, MESSAGES, opts, workdir)
    base, new = result["base"], result["new"]
    if base["msgs_per_s"] and new["msgs_per_s"]:
        result["rate_ratio"] = new["msgs_per_s"] / base["msgs_per_s"]
        result["cpu_ratio"] = new["cpu_mxgate"] / base["cpu_mxgate"]
    return result


def summary(rows):
    for sessions in SESSIONS:
        mine = [x for x in rows if x["sessions"] == sessions and "rate_ratio" in x]
        if not mine:
            continue
        med = {k: statistics.median(x[k] for x in mine) for k in ("rate_ratio", "cpu_ratio")}
        rates = {k: statistics.median(x[k]["msgs_per_s"] for x in mine)
                 for k in ("direct",) + SIDES}
        cpu = {k: statistics.median(x[k]["cpu_mxgate"] * 1000 / MESSAGES for x in mine)
               for k in SIDES}
        print(f"sessions {sessions}: median new/base msgs/s {med['rate_ratio']:.3f}, "
              f"CPU {med['cpu_ratio']:.3f}; median msgs/s direct {rates['direct']:.0f}, "
              f"base {rates['base']:.0f} ({rates['base'] / rates['direct']:.2f}x), "
              f"new {rates['new']:.0f} ({rates['new'] / rates['direct']:.2f}x); "
              f"CPU s/1000 base {cpu['base']:.3f}, new {cpu['new']:.3f}")


def main():
    base_bin = os.environ.get("BASE_BIN")
    if not base_bin or not Path(base_bin).exists():
        print("ab_run.py: set BASE_BIN to the mxgate binary to compare against", file=sys.stderr)
        return 2
    procs = Processes()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mxgate-ab-") as workdir:
        os.chmod(workdir, 0o755)
        try:
            direct = Sink(procs, workdir, "sink-direct")
            sinks, servers = start(procs, workdir, {"base": base_bin, "new": MXGATE_BIN})
            print(f"base {base_bin}\nnew  {MXGATE_BIN}\n"
                  f"{'queue mode, ' if 'queue' in CONFIG else ''}"
                  f"{MESSAGES} messages of {SIZE} octets per run, {ROUNDS} rounds, load "
                  f"{os.getloadavg()[0]:.1f}")
            print(f"{'round':>5} {'sess':>5} | {'direct/s':>9} {'base/s':>9} {'new/s':>9} | "
                  f"{'rate':>6} {'cpu':>6}")
            for r in range(ROUNDS):
                for sessions in SESSIONS:
                    x = one_round(r, sessions, direct, sinks, servers, workdir)
                    rows.append(x)
                    print(f"{r:>5} {sessions:>5} | {x['direct']['msgs_per_s'] or 0:9.0f} "
                          f"{x['base']['msgs_per_s'] or 0:9.0f} "
                          f"{x['new']['msgs_per_s'] or 0:9.0f} | "
                          f"{x.get('rate_ratio', 0):6.3f} {x.get('cpu_ratio', 0):6.3f}",
                          flush=True)
            print()
            summary(rows)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except RuntimeError as e:
            print(f"ab_run.py: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if any("rate_ratio" not in x for x in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
