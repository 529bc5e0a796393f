#!/usr/bin/env python3
"""Milter benchmark (issue 18): messages per second of mxgate relaying with no content filter,
with one do-nothing pymilter filter, and with Debian's Rspamd in milter mode (a new connection
per SMTP session, reuse = "never", and connections kept across sessions, reuse = "always"),
against smtp-source straight into smtp-sink, all in one run on 127.0.0.1; CPU per message of
mxgate and of each filter, the filters' mean step time from mxgate's own histogram
(mxgate_milter_seconds), and the share of sessions that reused a kept connection
(mxgate_milter_connections_total), to say where the time goes.

    benchmarks/load/milter_run.sh                  3 rounds of 2000 messages at 20 sessions
    ROUNDS=1 MESSAGES=500 benchmarks/load/milter_run.sh

Environment: MXGATE_BIN, SESSIONS (20), MESSAGES (2000), SIZE (4096), ROUNDS (3),
RUN_TIMEOUT (300). The filters come from tests/integration/milter_peers.py (Rspamd with its
self-contained milter-mode configuration; milter_server.py --eom-continue: it continues at
every step, the end of the message included, so that libmilter takes QUIT_NC and mxgate's
default reuse = "after_message" keeps its connection). mxgate treats 127.0.0.1 as trusted (no
DNS checks, no authentication): the figures are the filters' cost on top of plain relaying.
"""

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

import load  # noqa: E402  (benchmarks/load/load.py)
from milter_peers import Rspamd, TestMilter  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "20"))
MESSAGES = int(os.environ.get("MESSAGES", "2000"))
SIZE = int(os.environ.get("SIZE", "4096"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
RUN_TIMEOUT = float(os.environ.get("RUN_TIMEOUT", "300"))


def tree_cpu(pid):
    """CPU seconds of `pid` and of its children (Rspamd's workers are processes)."""
    total = load.cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += load.cpu_seconds(int(stat.parent.name))
    return total


def milter_figures(mx):
    """(step seconds sum, step count, connections, reused connections) over every filter."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{mx.http_port}/metrics", timeout=5)
    out = [0.0, 0.0, 0.0, 0.0]
    for line in text.read().decode().splitlines():
        value = line.split()[-1] if line and not line.startswith("#") else "0"
        if line.startswith("mxgate_milter_seconds_sum"):
            out[0] += float(value)
        elif line.startswith("mxgate_milter_seconds_count"):
            out[1] += float(value)
        elif line.startswith("mxgate_milter_connections_total"):
            out[2] += float(value)
            if 'reused="true"' in line:
                out[3] += float(value)
    return out


def filter_entry(name, address, reuse):
    return f'[[milter]]\nname = "{name}"\naddress = "{address}"\nreuse = "{reuse}"\n'


def main():
    opts = {"keepalive": False, "timeout": RUN_TIMEOUT}
    procs = load.Processes()
    workdir = Path(tempfile.mkdtemp(prefix="mxgate-milter-bench-"))
    rows = []
    with TestMilter(["--eom-continue"]) as pymilter, Rspamd() as rspamd:
        try:
            configs = {  # name: (filter process, [[milter]] entry)
                "none": (None, ""),
                "pymilter": (pymilter.proc.pid,
                             filter_entry("pymilter", pymilter.address, "after_message")),
                "rspamd-new": (rspamd.proc.pid, filter_entry("rspamd", rspamd.address, "never")),
                "rspamd-kept": (rspamd.proc.pid,
                                filter_entry("rspamd", rspamd.address, "always")),
            }
            sinks = {name: load.Sink(procs, workdir, f"sink-{name}")
                     for name in ["direct", *configs]}
            gateways = {name: load.Mxgate(procs, workdir, sinks[name], f"mx-{name}", extra=extra)
                        for name, (_, extra) in configs.items()}
            print(f"mxgate milter benchmark  {time.strftime('%Y-%m-%d %H:%M')}  "
                  f"{os.cpu_count()} CPUs  load average {os.getloadavg()[0]:.2f}")
            print(f"{MESSAGES} messages of {SIZE} octets per run, one per connection, "
                  f"{SESSIONS} sessions, {ROUNDS} round(s)\n")
            print(f"{'round':>5} {'config':>12} {'msgs/s':>8} {'/direct':>8} "
                  f"{'mx CPU ms/msg':>14} {'filter CPU ms/msg':>18} {'step ms':>8} "
                  f"{'reused':>7}")
            for r in range(1, ROUNDS + 1):
                row = {"round": r}
                row["direct"] = load.measure("direct", sinks["direct"].port, sinks["direct"],
                                             None, SESSIONS, SIZE, MESSAGES, opts, workdir)
                direct = row["direct"]["msgs_per_s"]
                print(f"{r:>5} {'direct':>12} {direct:8.0f}")
                for name, mx in gateways.items():
                    pid = configs[name][0]
                    before = tree_cpu(pid) if pid else 0.0
                    figures0 = milter_figures(mx)
                    got = load.measure(name, mx.port, sinks[name], mx, SESSIONS, SIZE,
                                       MESSAGES, opts, workdir)
                    figures = [b - a for a, b in zip(figures0, milter_figures(mx))]
                    got["cpu_filter"] = tree_cpu(pid) - before if pid else None
                    got["step_ms"] = figures[0] * 1000 / figures[1] if figures[1] else None
                    got["reused"] = figures[3] / figures[2] if figures[2] else None
                    row[name] = got
                    ms = lambda v: "-" if v is None else f"{v * 1000 / MESSAGES:.3f}"  # noqa: E731
                    print(f"{'':>5} {name:>12} {got['msgs_per_s']:8.0f} "
                          f"{got['msgs_per_s'] / direct:8.2f} {ms(got['cpu_mxgate']):>14} "
                          f"{ms(got['cpu_filter']):>18} "
                          f"{'-' if got['step_ms'] is None else format(got['step_ms'], '.3f'):>8} "
                          f"{'-' if got['reused'] is None else format(got['reused'], '.2f'):>7}")
                rows.append(row)
            medians = ", ".join(
                f"{name}/direct {statistics.median(row[name]['msgs_per_s'] / row['direct']['msgs_per_s'] for row in rows):.2f}"  # noqa: E501
                for name in configs)
            print(f"\nmedians: {medians}")
            if os.environ.get("JSON"):
                Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
        finally:
            procs.stop_all()


if __name__ == "__main__":
    main()
