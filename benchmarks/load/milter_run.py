#!/usr/bin/env python3
"""Milter benchmark (issue 18): messages per second of mxgate relaying with no content filter,
with one do-nothing pymilter filter, and with Debian's Rspamd in milter mode, against
smtp-source straight into smtp-sink, all in one run on 127.0.0.1; CPU per message of mxgate and
of each filter, and the filters' mean step time from mxgate's own histogram
(mxgate_milter_seconds), to say where the time goes.

    benchmarks/load/milter_run.sh                  3 rounds of 2000 messages at 20 sessions
    ROUNDS=1 MESSAGES=500 benchmarks/load/milter_run.sh

Environment: MXGATE_BIN, SESSIONS (20), MESSAGES (2000), SIZE (4096), ROUNDS (3),
RUN_TIMEOUT (300). The filters come from tests/integration/milter_peers.py (Rspamd with its
self-contained milter-mode configuration; milter_server.py with no options: it continues at
every step and accepts at the end of the message). mxgate treats 127.0.0.1 as trusted (no
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


def milter_seconds(mx):
    """(sum, count) of mxgate_milter_seconds over every filter, from /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{mx.http_port}/metrics", timeout=5)
    total = count = 0.0
    for line in text.read().decode().splitlines():
        if line.startswith("mxgate_milter_seconds_sum"):
            total += float(line.split()[-1])
        elif line.startswith("mxgate_milter_seconds_count"):
            count += float(line.split()[-1])
    return total, count


def main():
    opts = {"keepalive": False, "timeout": RUN_TIMEOUT}
    procs = load.Processes()
    workdir = Path(tempfile.mkdtemp(prefix="mxgate-milter-bench-"))
    rows = []
    with TestMilter() as pymilter, Rspamd() as rspamd:
        try:
            sinks = {name: load.Sink(procs, workdir, f"sink-{name}")
                     for name in ("direct", "none", "pymilter", "rspamd")}
            gateways = {
                "none": load.Mxgate(procs, workdir, sinks["none"], "mx-none"),
                "pymilter": load.Mxgate(procs, workdir, sinks["pymilter"], "mx-pymilter",
                                        extra=f'[[milter]]\nname = "pymilter"\n'
                                              f'address = "{pymilter.address}"\n'),
                "rspamd": load.Mxgate(procs, workdir, sinks["rspamd"], "mx-rspamd",
                                      extra=f'[[milter]]\nname = "rspamd"\n'
                                            f'address = "{rspamd.address}"\n'),
            }
            filters = {"pymilter": pymilter.proc.pid, "rspamd": rspamd.proc.pid}
            print(f"mxgate milter benchmark  {time.strftime('%Y-%m-%d %H:%M')}  "
                  f"{os.cpu_count()} CPUs  load average {os.getloadavg()[0]:.2f}")
            print(f"{MESSAGES} messages of {SIZE} octets per run, one per connection, "
                  f"{SESSIONS} sessions, {ROUNDS} round(s)\n")
            print("round | direct |   none  pymilter  rspamd | none/d  pym/d  rsp/d | "
                  "mx CPU s/1000: none  pym  rsp | filter CPU s/1000: pym  rsp | "
                  "step ms: pym  rsp")
            for r in range(1, ROUNDS + 1):
                row = {"round": r}
                row["direct"] = load.measure("direct", sinks["direct"].port, sinks["direct"],
                                             None, SESSIONS, SIZE, MESSAGES, opts, workdir)
                for name, mx in gateways.items():
                    before = tree_cpu(filters[name]) if name in filters else 0.0
                    steps0 = milter_seconds(mx)
                    row[name] = load.measure(name, mx.port, sinks[name], mx, SESSIONS, SIZE,
                                             MESSAGES, opts, workdir)
                    if name in filters:
                        row[name]["cpu_filter"] = tree_cpu(filters[name]) - before
                        steps = milter_seconds(mx)
                        n = steps[1] - steps0[1]
                        row[name]["step_ms"] = (steps[0] - steps0[0]) * 1000 / n if n else None
                rows.append(row)
                rate = {k: row[k]["msgs_per_s"] for k in ("direct", "none", "pymilter", "rspamd")}
                per = lambda k, key: row[k][key] * 1000 / MESSAGES  # noqa: E731
                print(f"{r:>5} | {rate['direct']:6.0f} | {rate['none']:7.0f} "
                      f"{rate['pymilter']:9.0f} {rate['rspamd']:7.0f} | "
                      f"{rate['none'] / rate['direct']:6.2f} "
                      f"{rate['pymilter'] / rate['direct']:6.2f} "
                      f"{rate['rspamd'] / rate['direct']:6.2f} | "
                      f"{per('none', 'cpu_mxgate'):23.3f} {per('pymilter', 'cpu_mxgate'):4.3f} "
                      f"{per('rspamd', 'cpu_mxgate'):4.3f} | "
                      f"{per('pymilter', 'cpu_filter'):22.3f} {per('rspamd', 'cpu_filter'):4.3f} | "
                      f"{row['pymilter']['step_ms']:12.3f} {row['rspamd']['step_ms']:4.3f}")
            med = lambda k: statistics.median(  # noqa: E731
                row[k]["msgs_per_s"] / row["direct"]["msgs_per_s"] for row in rows)
            print(f"\nmedians: none/direct {med('none'):.2f}, pymilter/direct "
                  f"{med('pymilter'):.2f}, rspamd/direct {med('rspamd'):.2f}")
            if os.environ.get("JSON"):
                Path(os.environ["JSON"]).write_text(json.dumps(rows, indent=2) + "\n")
        finally:
            procs.stop_all()


if __name__ == "__main__":
    main()
