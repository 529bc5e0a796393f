#!/usr/bin/env bash
# Load benchmark: smtp-source -> smtp-sink (a) and smtp-source -> mxgate -> smtp-sink (b).
# The work is in load.py (Python 3 stdlib); see its docstring and benchmarks/README.md.
#   benchmarks/load/run.sh                 full run (about two minutes with mxgate)
#   QUICK=1 benchmarks/load/run.sh         smoke run
#   MXGATE_BIN=build-rel/server/mxgate SESSIONS="20" SIZES="4096" benchmarks/load/run.sh
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "$0")")/load.py" "$@"
