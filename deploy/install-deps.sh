#!/usr/bin/env bash
# Installs every build, run and test dependency of mxgate from Debian 12 packages.
# Idempotent: when everything is present it only checks and returns within a second or two.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see ../shared/ARCHITECTURE.md "Decisions")
  libboost1.81-all-dev libssl-dev libc-ares-dev librocksdb-dev prometheus-cpp-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libpsl-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  postfix swaks libnet-ssleay-perl libio-socket-ssl-perl prometheus openssl python3 procps iproute2 curl
  python3-dkim  # an independent DKIM signer for the DKIM tests (tests/auth, tests/integration)
  python3-dnspython  # queries the test DNS server directly (tests/integration/test_dns_server.py)
  nsd  # a real authoritative DNS server for the DNS integration tests (tests/integration/dns_server.py)
  chromium  # headless, renders the postmaster portal in tests/integration/test_portal.py
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# postfix asks for a mail configuration; we only need its smtp-sink/smtp-source tools.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The postfix and nsd packages may start their daemons (nsd on port 53); mxgate's tests start
# their own on free ports and never use the system ones.
for daemon in postfix nsd; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$daemon" 2>/dev/null; then
    systemctl stop "$daemon" || true
    systemctl disable "$daemon" 2>/dev/null || true
  fi
done
echo "install-deps: done"
