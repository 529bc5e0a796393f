#!/usr/bin/env bash
# Installs mxgate's dependencies from Debian 12 packages.
#
#   deploy/install-deps.sh           what building and trying mxgate need (deploy/try.sh)
#   deploy/install-deps.sh --tests   that, plus what the tests and benchmarks need (deploy/test.sh)
#   deploy/install-deps.sh --fuzz    that, plus clang and libFuzzer for the fuzz targets
#                                    (tests/fuzz/run.sh; the options combine: --tests --fuzz)
#
# Safe on a working mail host:
#  - It never stops, disables or reconfigures a service that was there before it ran.
#  - Packages that start a daemon when installed (nsd, postfix, prometheus, rspamd, redis) are
#    installed with a temporary /usr/sbin/policy-rc.d that forbids starting it (the Debian way;
#    only when no policy-rc.d exists already, removed on exit). Such a daemon's unit, installed
#    by this run, is then disabled, so that it does not start at the next boot either: mxgate's
#    scripts and tests start their own copies, as the invoking user, on loopback ports.
#  - It refuses to install anything that would make apt remove an installed package (Postfix,
#    the tests' smtp-sink, would replace an installed exim4 or another MTA): it stops and says
#    what would be removed, before changing anything.
# Idempotent: when everything is present it only checks and returns within a second or two.
set -euo pipefail

try_packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see ../shared/ARCHITECTURE.md "Decisions")
  libboost1.81-all-dev libssl-dev libc-ares-dev librocksdb-dev prometheus-cpp-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libpsl-dev libidn2-dev
  libhiredis-dev  # fleet mode's Redis client (fleet/)
  zlib1g-dev  # gzip of DMARC aggregate reports (common/gzip.cpp); RocksDB pulls it in too
  # deploy/try.sh and deploy/demo.sh: a local authoritative DNS server for the demo zone, the
  # demo's SMTP client and sink (Python's standard library), its DKIM signer; swaks and curl
  # for the README's first commands
  nsd python3 python3-dkim swaks curl
)
test_packages=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  postfix  # only for its smtp-sink and smtp-source tools
  libnet-ssleay-perl libio-socket-ssl-perl  # swaks's STARTTLS
  prometheus  # promtool checks the /metrics exposition
  openssl procps iproute2
  testssl.sh  # audits STARTTLS in tests/integration/test_tls.py
  python3-dnspython  # queries the test DNS server directly (tests/integration/test_dns_server.py)
  python3-authres  # python3-dkim's ARC signing needs it (tests/integration/arc_seal.py)
  python3-cryptography  # the realistic-traffic benchmark generates DKIM keys (benchmarks/load)
  libxml2-utils  # xmllint holds the DMARC reports to RFC 7489's schema (test_dmarc_reports.py)
  chromium  # headless, renders the postmaster portal in tests/integration/test_portal.py
  rspamd  # a real milter peer, its proxy worker in milter mode (tests/integration/milter_peers.py)
  python3-milter  # pymilter: the test milter tests/integration/milter_server.py is written in it
  redis-server redis-sentinel  # fleet mode's shared state, started by tests/integration/fleet_peers.py
  # the Debian package (cpack, deploy/package/) and tests/integration/test_package.py:
  # dpkg-shlibdeps, and file for the binaries it scans; man and systemd-analyze check the
  # installed man pages and unit; strace holds mxgate's system calls to the unit's filter
  dpkg-dev file man-db systemd strace
)
fuzz_packages=(
  # tests/fuzz with -DMXGATE_FUZZ=ON: clang 14 and its runtime (libFuzzer, ASan, UBSan); GCC
  # has no libFuzzer. The normal GCC build replays the corpora without them (fuzz-regress).
  clang-14 libclang-rt-14-dev
  llvm-14  # llvm-symbolizer: function names and lines in the sanitizers' reports
)
# Packages whose installation starts a daemon (and enables it at boot).
daemon_units=(nsd postfix prometheus rspamd redis-server redis-sentinel)

usage() {
  echo "usage: $0 [--tests] [--fuzz]" >&2
  exit 2
}

packages=("${try_packages[@]}")
for option in "$@"; do
  case "$option" in
    --tests) packages+=("${test_packages[@]}") ;;
    --fuzz) packages+=("${fuzz_packages[@]}") ;;
    *) usage ;;
  esac
done

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if ((EUID != 0)); then
  echo "install-deps: missing ${missing[*]}; run as root (or install them yourself)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq

# Nothing installed may go: check with a simulation first (apt would, for one, remove exim4 to
# install postfix, both being a mail-transport-agent).
removals=$(apt-get install -s -qq --no-install-recommends "${missing[@]}" | awk '/^Remv /{print $2}')
if [[ -n "$removals" ]]; then
  echo "install-deps: installing ${missing[*]} would remove: $(tr '\n' ' ' <<<"$removals")" >&2
  echo "install-deps: refusing; nothing was changed. Install the packages by hand if you" \
       "mean it, or run the tests on another machine." >&2
  exit 1
fi

# Keep daemons that come with the packages from starting (invoke-rc.d asks policy-rc.d).
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\n# Written by mxgate deploy/install-deps.sh for the time of one apt run.\nexit 101\n' \
    >"$policy"
  chmod 0755 "$policy"
fi

new_daemons=()
for unit in "${daemon_units[@]}"; do
  if [[ " ${missing[*]} " == *" $unit "* ]]; then new_daemons+=("$unit"); fi
done

# postfix asks for a mail configuration; we only need its smtp-sink/smtp-source tools.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The daemons this run installed would start at the next boot (nsd on port 53): mxgate starts
# its own. Only units that did not exist before this run are touched.
if ((${#new_daemons[@]})) && command -v systemctl >/dev/null; then
  for unit in "${new_daemons[@]}"; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      systemctl disable --quiet "$unit" 2>/dev/null &&
        echo "install-deps: $unit was installed now; its system service is disabled (not needed)"
    fi
  done
fi
echo "install-deps: done"
