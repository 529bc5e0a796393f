#!/usr/bin/env bash
# The README's first command: installs what building and running need (deploy/install-deps.sh),
# builds mxgate into build-release/, and runs, in the foreground, until Ctrl-C stops them all:
#   - NSD, an authoritative DNS server for the demo zone (deploy/demo/zones/), on 127.0.0.1:2553
#     as the invoking user: no system service, config and zones under var/try/;
#   - the try downstream (deploy/demo/sink.py) on the [[route]]'s address, 127.0.0.1:2526,
#     writing each relayed message to var/sink/;
#   - mxgate on conf/mxgate.toml, with -o overrides (printed at start) that point [dns] at NSD,
#     the refusals' link at the local portal, add a PROXY listener on 127.0.0.1:2527 and the
#     demo's DNS block list. Its log goes to the terminal and to var/try/mxgate.log.
# Then deploy/demo.sh sends the demo's cases through the PROXY listener.
#
# Loopback (reputation.trusted_networks) skips the DNS checks and the greet pause; the PROXY
# listener lets the demo present client addresses from the documentation ranges instead, which
# get every check.
#
# Environment (the tests use it; nothing needs setting by hand):
#   MXGATE_BIN             run this binary: no dependency check, no build
#   MXGATE_TRY_CONFIG      the configuration (default conf/mxgate.toml); SMTP, HTTP, portal and
#                          downstream addresses are read from it
#   MXGATE_TRY_VAR         the state folder (default var/ in the repository)
#   MXGATE_TRY_DNS_PORT    NSD's port (default 2553)
#   MXGATE_TRY_PROXY_PORT  the PROXY listener's port (default 2527)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
config=$(realpath "${MXGATE_TRY_CONFIG:-conf/mxgate.toml}")
var=$(realpath -m "${MXGATE_TRY_VAR:-$root/var}")
dns_port=${MXGATE_TRY_DNS_PORT:-2553}
proxy_port=${MXGATE_TRY_PROXY_PORT:-2527}

if [[ -n "${MXGATE_BIN:-}" ]]; then
  mxgate=$MXGATE_BIN
else
  ./deploy/install-deps.sh
  MXGATE_TARGETS=mxgate ./deploy/build.sh build-release -DCMAKE_BUILD_TYPE=Release \
    -DMXGATE_TESTS=OFF -DMXGATE_BENCHMARKS=OFF
  mxgate=$root/build-release/server/mxgate
fi

smtp="" http="" portal="" sink=""
# The addresses the configuration gives (Debian 12's Python has tomllib).
eval "$(python3 - "$config" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    c = tomllib.load(f)
route = next(r for r in c["route"] if "example.com" in r["domains"])
print(f'smtp={c.get("server", {}).get("listen", ["127.0.0.1:2525"])[0]}')
print(f'http={c.get("http", {}).get("listen", "127.0.0.1:8025")}')
print(f'portal={c.get("portal", {}).get("listen", "127.0.0.1:8080")}')
print(f'sink={route["downstream"][0]}')
EOF
)"

try=$var/try
mkdir -p "$try" "$var/sink" "$var/mxgate"
log=$try/mxgate.log
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits (at most 10 s) until process $1 listens on TCP port $2 of 127.0.0.1.
wait_port() {
  local pid=$1 port=$2 what=$3 i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "try: $what exited at start-up (port $port taken? see $4)" >&2
      tail -5 "$4" >&2 || true
      exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "try: $what does not listen on 127.0.0.1:$port after 10 s (see $4)" >&2
  exit 1
}

# NSD with the demo zone, as the invoking user (username ""), everything under var/try/.
rm -rf "$try/zones" && mkdir -p "$try/zones"
cp deploy/demo/zones/*.zone "$try/zones/"
{
  printf 'server:\n  ip-address: 127.0.0.1\n  port: %s\n  username: ""\n  chroot: ""\n' "$dns_port"
  printf '  zonesdir: "%s"\n  database: ""\n  zonelistfile: "%s/zone.list"\n' "$try/zones" "$try"
  printf '  xfrdfile: "%s/xfrd.state"\n  pidfile: "%s/nsd.pid"\n  logfile: "%s/nsd.log"\n' \
    "$try" "$try" "$try"
  printf '  server-count: 1\n  hide-version: yes\n  do-ip6: no\n'
  printf 'remote-control:\n  control-enable: no\n'
  for zone in "$try"/zones/*.zone; do
    name=$(basename "$zone" .zone)
    printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$name" "$name"
  done
} >"$try/nsd.conf"
: >"$try/nsd.log"
nsd -d -c "$try/nsd.conf" >>"$try/nsd.log" 2>&1 &
pids+=($!)
wait_port "${pids[-1]}" "$dns_port" nsd "$try/nsd.log"

# The downstream, on the route's address.
python3 deploy/demo/sink.py "$sink" "$var/sink" >"$try/sink.log" 2>&1 &
pids+=($!)
wait_port "${pids[-1]}" "${sink##*:}" "the sink" "$try/sink.log"

portal_url="http://$portal/postmaster/"
overrides=(
  # Every DNS check asks the demo's NSD (it answers for the demo zone only).
  "dns.servers=[\"127.0.0.1:$dns_port\"]"
  # Refusals link to the portal that runs here.
  "reputation.postmaster_url=$portal_url"
  # PROXY protocol from loopback (server.proxy_trusted, as shipped): the demo presents
  # untrusted client addresses from the documentation ranges.
  "server.proxy_listen=[\"127.0.0.1:$proxy_port\"]"
  # The demo's DNS block list (deploy/demo/zones/dnsbl.example.zone): a listing refuses.
  'dnsbl=[{zone = "dnsbl.example", returns = ["127.0.0.2"], action = "reject"}]'
  # The state, absolute: admin.token, the reputation store and the throttle state.
  "storage.path=$var/mxgate"
)
args=("$mxgate" serve -c "$config")
for o in "${overrides[@]}"; do args+=(-o "$o"); done

cat >"$try/try.env" <<EOF
# Written by deploy/try.sh for deploy/demo.sh: where the running try listens.
smtp=$smtp
proxy=127.0.0.1:$proxy_port
http=$http
portal=$portal
portal_url=$portal_url
dns=127.0.0.1:$dns_port
sink=$sink
sink_folder=$var/sink
log=$log
token=$var/mxgate/admin.token
EOF

summary() {
  cat <<EOF

=================================================================================== try
mxgate runs (Ctrl-C stops mxgate, NSD and the sink):
  SMTP           $smtp  (loopback is trusted: no DNS checks, no greet pause)
  SMTP + PROXY   127.0.0.1:$proxy_port  (PROXY v1/v2 header first; the demo uses it)
  metrics        http://$http/metrics
  portal         $portal_url
  admin API      http://$http/admin/  (token: $var/mxgate/admin.token)
  DNS (NSD)      127.0.0.1:$dns_port  (zones: deploy/demo/zones/, log: $try/nsd.log)
  downstream     $sink  (messages in $var/sink/)
  log            $log
Next, in another terminal:
  ./deploy/demo.sh
==================================================================================
EOF
}

echo "try: starting mxgate with the overrides:"
printf '  %s serve -c %s' "$mxgate" "$config"
for o in "${overrides[@]}"; do printf ' \\\n    -o '"'%s'" "$o"; done
echo
: >"$log"
# Prints the summary once mxgate's "started" line is in the log (it binds every listener first).
(
  for ((i = 0; i < 600; i++)); do
    if grep -q ' info started ' "$log" 2>/dev/null; then summary; exit 0; fi
    sleep 0.1
  done
) &
pids+=($!)
# Foreground: Ctrl-C reaches mxgate (it drains and exits) and tee, which ignores it (-i) so
# that mxgate's last lines still reach the log; the EXIT trap then stops NSD and the sink.
"${args[@]}" 2>&1 | tee -ia "$log"
