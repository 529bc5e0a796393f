#!/usr/bin/env bash
# DNS benchmark (issue 4): connections/s of mxgate with every DNS check on (rdns, dnsbl, helo,
# sender_domain, rhsbl; warm cache) against the same configuration with them off, in one run,
# against a real DNS server (NSD on a loopback port). The work is in dns.py (Python 3 stdlib +
# tests/integration/dns_server.py) and connect_client (built with the project); see dns.py's
# docstring and benchmarks/README.md ("DNS benchmark").
#   benchmarks/load/dns_run.sh                              full run (~2 minutes)
#   QUICK=1 benchmarks/load/dns_run.sh                      smoke run: one round
#   DIALOG=banner CONCURRENCY="1 20" ROUNDS=7 JSON=dns.json benchmarks/load/dns_run.sh
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "$0")")/dns.py" "$@"
