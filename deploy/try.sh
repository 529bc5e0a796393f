#!/usr/bin/env bash
# The README's first command: installs dependencies, builds mxgate, and runs it on the default
# configuration (conf/mxgate.toml: SMTP on 127.0.0.1:2525, metrics on 127.0.0.1:8025) with
# Postfix's smtp-sink on 127.0.0.1:2526 standing in for the mailbox servers. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
MXGATE_TARGETS=mxgate ./deploy/build.sh build-release -DCMAKE_BUILD_TYPE=Release \
  -DMXGATE_TESTS=OFF -DMXGATE_BENCHMARKS=OFF

mkdir -p var/sink
chmod 0777 var/sink  # smtp-sink drops privileges to nobody
# smtp-sink: -c counts, -d dumps each message into var/sink/ so you can read what was relayed.
smtp-sink -u nobody -d "$PWD/var/sink/%M." 127.0.0.1:2526 256 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
echo "downstream: smtp-sink on 127.0.0.1:2526 (messages land in var/sink/)"
echo "try:        swaks --server 127.0.0.1:2525 --to user@example.com --from you@example.org"
./build-release/server/mxgate serve -c conf/mxgate.toml "$@"
