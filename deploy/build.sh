#!/usr/bin/env bash
# Configures and builds one build tree. Usage: deploy/build.sh DIR [cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja "$@"
fi
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
cmake --build "$dir" ${MXGATE_TARGETS:+--target $MXGATE_TARGETS}
