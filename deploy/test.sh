#!/usr/bin/env bash
# The README's second command: installs the build and test dependencies, builds, and runs every
# test.
#  1. build/       warnings as errors; all unit and integration tests (ctest)
#  2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer; the unit tests
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh --tests
jobs=$(nproc)

./deploy/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMXGATE_WERROR=ON
ctest --test-dir build --output-on-failure -j "$jobs"

MXGATE_TARGETS="unit_tests" \
  ./deploy/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DMXGATE_WERROR=ON \
  -DMXGATE_SANITIZE=ON -DMXGATE_BENCHMARKS=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs"
