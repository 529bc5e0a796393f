#!/usr/bin/env bash
# The demo: with ./deploy/try.sh running (in another terminal), sends mail as a good sender, a
# sender without reverse DNS, a DNSBL-listed sender and a flood, through mxgate's PROXY
# listener, and prints what each got and where to look (log lines, portal pages, metrics).
# Cases can be named: ./deploy/demo.sh good flood. See deploy/demo/demo.py.
set -euo pipefail
exec python3 "$(dirname "$0")/demo/demo.py" "$@"
