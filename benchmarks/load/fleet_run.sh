#!/usr/bin/env bash
# Fleet benchmark (issue 19): see fleet_run.py.
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "$0")")/fleet_run.py" "$@"
