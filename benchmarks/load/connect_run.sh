#!/usr/bin/env bash
# Connect benchmark: connections/s and connect-to-banner latency of mxgate with an empty
# reputation store and with 10 million IPs stored, next to smtp-sink, in one run. The work is in
# connect.py (Python 3 stdlib), populate_store and connect_client (built with the project);
# see connect.py's docstring and benchmarks/README.md.
#   benchmarks/load/connect_run.sh                          full run (~3 minutes, ~1 GB in /tmp)
#   QUICK=1 benchmarks/load/connect_run.sh                  smoke run: 1 million IPs, 1 round
#   CONCURRENCY="1 20 100" ROUNDS=5 JSON=connect.json benchmarks/load/connect_run.sh
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "$0")")/connect.py" "$@"
