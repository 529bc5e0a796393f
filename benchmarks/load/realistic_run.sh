#!/usr/bin/env bash
# Realistic-traffic benchmark (issue 17): messages/s of mxgate with its content checks on and
# off against smtp-source straight into smtp-sink, with thousands of client addresses (PROXY
# v2), hundreds of sending domains (PTR, SPF, DKIM, DMARC) served by NSD, DKIM-signed messages
# of mixed sizes and a share of bad senders. The work is in realistic.py and realistic_world.py
# (Debian's python3 with python3-dkim and python3-cryptography, tests/integration/dns_server.py)
# and connect_client --dialog message (built with the project); see realistic.py's docstring and
# benchmarks/README.md ("Realistic-traffic benchmark").
#   benchmarks/load/realistic_run.sh                        full run (~3 minutes)
#   QUICK=1 benchmarks/load/realistic_run.sh                smoke run: 1000 clients, 2 rounds
#   SESSIONS="20 100" ROUNDS=7 JSON=realistic.json benchmarks/load/realistic_run.sh
set -euo pipefail
# python3-dkim is a Debian package: a python3 earlier on PATH (pyenv, a venv) may not see it.
python=python3
if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; fi
exec "$python" "$(dirname "$(readlink -f "$0")")/realistic.py" "$@"
