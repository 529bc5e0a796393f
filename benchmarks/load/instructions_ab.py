#!/usr/bin/env python3
"""Instructions per message of two mxgate binaries (before and after a change), counted by
valgrind's callgrind: unlike seconds, the count repeats on a busy machine, so a difference of
a few percent is visible. On 127.0.0.1 only.

Each binary runs under callgrind twice, relaying SMALL and then LARGE messages of SIZE octets
from smtp-source (SESSIONS at once, one connection per message) into an smtp-sink, with
ab_run.py's configuration (every check that needs no DNS server; QUEUE=1: queue mode). The
instructions per message are the difference of the two runs' totals divided by the difference
of their message counts, so that start-up and shutdown cancel out.

Environment: BASE_BIN (required), MXGATE_BIN, SESSIONS (20), SIZE (4096), SMALL (200),
LARGE (1000), QUEUE=1.
"""

import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ab_run import CONFIG  # noqa: E402
from load import MXGATE_BIN, Mxgate, Processes, Sink, run_source, tail  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "20"))
SIZE = int(os.environ.get("SIZE", "4096"))
SMALL = int(os.environ.get("SMALL", "200"))
LARGE = int(os.environ.get("LARGE", "1000"))
TIMEOUT = 900.0  # seconds for one run under callgrind


def instructions(binary, messages, workdir, label):
    """Total instructions (Ir) of one mxgate process that relayed `messages` messages."""
    procs = Processes()
    out = Path(workdir) / f"callgrind.{label}"
    try:
        sink = Sink(procs, workdir, f"sink-{label}")
        gateway = Mxgate(procs, workdir, sink, name=f"mxgate-{label}", extra=CONFIG,
                         binary=binary, startup_timeout=120,
                         wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
        status, _, _ = run_source(gateway.port, SESSIONS, messages, SIZE, False, TIMEOUT,
                                  Path(workdir) / f"source-{label}.err")
        deadline = time.monotonic() + TIMEOUT
        while sink.messages() < messages and time.monotonic() < deadline:
            time.sleep(0.1)
        if status != 0 or sink.messages() != messages:
            raise RuntimeError(f"{label}: {sink.messages()}/{messages} delivered:\n"
                               + tail(gateway.log))
        gateway.proc.send_signal(signal.SIGTERM)
        gateway.proc.wait(timeout=TIMEOUT)
    finally:
        procs.stop_all()
    total = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    if not total:
        raise RuntimeError(f"{label}: no totals in {out}")
    return int(total.group(1))


def main():
    base_bin = os.environ.get("BASE_BIN")
    if not base_bin or not Path(base_bin).exists():
        print("instructions_ab.py: set BASE_BIN to the mxgate binary to compare against",
              file=sys.stderr)
        return 2
    per_message = {}
    with tempfile.TemporaryDirectory(prefix="mxgate-ir-") as workdir:
        os.chmod(workdir, 0o755)
        try:
            for side, binary in (("base", base_bin), ("new", MXGATE_BIN)):
                small = instructions(binary, SMALL, workdir, f"{side}-{SMALL}")
                large = instructions(binary, LARGE, workdir, f"{side}-{LARGE}")
                per_message[side] = (large - small) / (LARGE - SMALL)
                print(f"{side}: {binary}: {small:,} Ir for {SMALL} messages, {large:,} for "
                      f"{LARGE}: {per_message[side]:,.0f} Ir per message", flush=True)
        except RuntimeError as e:
            print(f"instructions_ab.py: {e}", file=sys.stderr)
            return 1
    mode = "queue mode" if "queue" in CONFIG else "inline"
    print(f"{mode}, {SESSIONS} sessions, {SIZE} octets: new/base instructions per message "
          f"{per_message['new'] / per_message['base']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
