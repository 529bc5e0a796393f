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
# Share cache entries between clones in different folders (CI builds a fresh clone).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake --build "$dir" ${MXGATE_TARGETS:+--target $MXGATE_TARGETS}
