#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, one after the other, each for a given time, and keeps
# what they learn (issue 22).
#
#   tests/fuzz/run.sh [-t SECONDS] [-j LANES] [--no-build] [--no-merge] [TARGET...]
#   tests/fuzz/run.sh --summary    the table of tests/fuzz/README.md from runs.tsv (Markdown)
#
#   -t SECONDS   how long each target runs (libFuzzer -max_total_time; default 60)
#   -j LANES     run the targets in this many lanes at once, each lane one target after the
#                other (the targets dealt out in turn; default 1). -j 2 gives a 2-core machine
#                to the fuzzers.
#   --no-build   use the fuzz tree as it is (default: configure it with clang if needed, then
#                build the targets to run)
#   --no-merge   leave tests/fuzz/corpus alone
#   TARGET       names as in tests/fuzz/CMakeLists.txt (smtp_session, conf_toml, ...); default all
#
# Environment: MXGATE_FUZZ_BUILD (the fuzz tree, default build-fuzz), MXGATE_FUZZ_JOBS (build
# jobs, default 2), MXGATE_FUZZ_RSS_MB (libFuzzer -rss_limit_mb, default 2048),
# MXGATE_FUZZ_TIMEOUT (seconds one input may take, default 25).
#
# Each target runs as one process (no -jobs: the machine is shared) on a scratch copy of its seed
# corpus tests/fuzz/corpus/<target>, with its dictionary: tests/fuzz/<target>.dict, else the one
# of its family (smtp_* -> smtp.dict, spf_*, dkim_*, http_*, ...; the part before the first "_").
# Afterwards the inputs that reached new edges are merged into tests/fuzz/corpus/<target>
# (libFuzzer -merge=1 -use_counters=0: an input that only hits a known edge more often is left
# out, so the committed corpus stays small: tens of files a run, not hundreds).
# A crash, leak, timeout or out-of-memory input is saved as tests/fuzz/corpus/<target>/crash-<sha1>
# (from then on `ctest -L fuzz-regress` replays it and fails until it is fixed) with a line in
# tests/fuzz/crashes.log saying what it was; that target's corpus is then not merged.
# Every run appends one line per target to tests/fuzz/runs.tsv (date, commit, target, seconds,
# CPU seconds, executions, cov, ft, corpus files, result), so that CPU time adds up across
# sessions; tests/fuzz/README.md shows how to sum it.
# Scratch files (corpus copies, the targets' temporary stores) live in one directory under
# /dev/shm (or TMPDIR) that is removed on exit. Exit status: 0, or 1 when any target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/fuzz

# Per target, over every run in runs.tsv: runs, CPU hours, executions, the highest cov and ft
# a run reached; and the files in its corpus now.
summary_table() {
  awk -F'\t' 'NR > 1 {
      if (!($3 in runs)) order[++n] = $3
      runs[$3]++; cpu[$3] += $5; execs[$3] += $6
      if ($7 > cov[$3]) cov[$3] = $7
      if ($8 > ft[$3]) ft[$3] = $8
      total += $5
    }
    END {
      print "| target | runs | CPU hours | executions | cov (max) | ft (max) | corpus files |"
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
      for (i = 1; i <= n; i++) {
        t = order[i]
        files = 0
        cmd = "find " dir "/" t " -type f | wc -l"
        cmd | getline files
        close(cmd)
        printf "| `%s` | %d | %.2f | %d | %d | %d | %d |\n", t, runs[t], cpu[t] / 3600, execs[t],
               cov[t], ft[t], files
      }
      printf "| all | | %.2f | | | | |\n", total / 3600
    }' dir="$here/corpus" "$1"
}

seconds=60
lanes=1
build=1
merge=1
targets=()
while (($#)); do
  case "$1" in
    -t) seconds=$2; shift 2 ;;
    -j) lanes=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-merge) merge=0; shift ;;
    --summary) summary_table "$here/runs.tsv"; exit 0 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run.sh: -t takes whole seconds" >&2; exit 2; }
[[ "$lanes" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -j takes a number of lanes" >&2; exit 2; }

all=($(sed -n 's/^mxgate_fuzz_target(\([a-z0-9_]*\) .*/\1/p' "$here/CMakeLists.txt"))
if ((${#targets[@]} == 0)); then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "run.sh: no target $t (see $here/CMakeLists.txt)" >&2; exit 2; }
done

tree=${MXGATE_FUZZ_BUILD:-build-fuzz}
rss_mb=${MXGATE_FUZZ_RSS_MB:-2048}
input_timeout=${MXGATE_FUZZ_TIMEOUT:-25}
if ((build)); then
  if [[ ! -f "$tree/build.ninja" ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$tree" -G Ninja -DMXGATE_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMXGATE_BENCHMARKS=OFF
  fi
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  cmake --build "$tree" -j "${MXGATE_FUZZ_JOBS:-2}" --target "${targets[@]/%/_fuzz}"
fi

# Lanes: this script again per lane, on the tree just built; each keeps its own scratch
# directory, and appends its own lines to runs.tsv and crashes.log.
if ((lanes > 1)); then
  pids=()
  for ((lane = 0; lane < lanes; ++lane)); do
    dealt=()
    for ((i = lane; i < ${#targets[@]}; i += lanes)); do dealt+=("${targets[i]}"); done
    ((${#dealt[@]})) || continue
    args=(-t "$seconds" --no-build)
    ((merge)) || args+=(--no-merge)
    "$0" "${args[@]}" "${dealt[@]}" &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  exit "$failed"
fi

# Readable reports: function names and lines (llvm-14's symbolizer), UBSan with a stack.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[[ -x "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

scratch_root=/dev/shm
[[ -d "$scratch_root" && -w "$scratch_root" ]] || scratch_root=${TMPDIR:-/tmp}
work=$(mktemp -d "$scratch_root/mxgate-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z "$(git status --porcelain -- . ':!tests/fuzz/corpus' ':!tests/fuzz/runs.tsv' \
  ':!tests/fuzz/crashes.log' 2>/dev/null)" ]] || commit="$commit+"
runs=$here/runs.tsv
[[ -f "$runs" ]] || printf 'date\tcommit\ttarget\tseconds\tcpu_seconds\texecs\tcov\tft\tcorpus\tresult\n' >"$runs"

dict_for() {
  local t=$1
  if [[ -f "$here/$t.dict" ]]; then echo "$here/$t.dict"; return; fi
  if [[ -f "$here/${t%%_*}.dict" ]]; then echo "$here/${t%%_*}.dict"; fi
}

failed=0
summary=()
for t in "${targets[@]}"; do
  bin=$tree/tests/fuzz/${t}_fuzz
  [[ -x "$bin" ]] || { echo "run.sh: $bin is not built" >&2; exit 1; }
  dir=$work/$t
  mkdir -p "$dir/corpus" "$dir/artifacts" "$here/corpus/$t"
  cp -r "$here/corpus/$t/." "$dir/corpus/"
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$input_timeout"
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  dict=$(dict_for "$t")
  [[ -n "$dict" ]] && args+=(-dict="$dict")
  echo "== $t: ${seconds}s${dict:+, $dict}"
  start=$(date +%s)
  status=0
  TIMEFORMAT='%3U %3S'
  { time TMPDIR=$work/tmp "$bin" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1; } 2>"$dir/cpu" ||
    status=$?
  wall=$(($(date +%s) - start))
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$dir/cpu")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  # -a: a target's own output may put non-text octets in the log.
  cov=$(grep -a -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -a -o 'ft: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2 || true)
  result=ok
  # libFuzzer also writes slow-unit-* for an input that took over 10 s: on this shared machine,
  # with the fuzzer niced, that is the load, not the input (each one is timed again below).
  for slow in $(find "$dir/artifacts" -type f -name 'slow-unit-*'); do
    echo "   slow input (not a failure): $(TMPDIR=$work/tmp "$bin" "$slow" 2>&1 | grep -a -m1 -o 'in [0-9]* ms')"
    rm -f "$slow"
  done
  artifact=$(find "$dir/artifacts" -type f -print -quit)
  if ((status != 0)) || [[ -n "$artifact" ]]; then
    result=crash
    failed=1
    if [[ -n "$artifact" ]]; then
      sum=$(sha1sum "$artifact" | cut -c1-40)
      cp "$artifact" "$here/corpus/$t/crash-$sum"
      what=$(grep -a -m1 -E 'fuzz check failed|terminate called|==ERROR|ERROR: libFuzzer' "$dir/log" ||
        echo "exit $status")
      printf '%s\t%s\t%s\tcorpus/%s/crash-%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$t" "$t" \
        "$sum" "$what" >>"$here/crashes.log"
      echo "   CRASH saved as $here/corpus/$t/crash-$sum ($what)"
    fi
    tail -40 "$dir/log" | sed 's/^/   | /'
  elif ((merge)); then
    TMPDIR=$work/tmp "$bin" -merge=1 -use_counters=0 -rss_limit_mb="$rss_mb" \
      -timeout="$input_timeout" "$here/corpus/$t" "$dir/corpus" >"$dir/merge.log" 2>&1 ||
      echo "   merge failed; see nothing merged for $t" >&2
  fi
  files=$(find "$here/corpus/$t" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$t" "$wall" \
    "$cpu" "${execs:-0}" "${cov:-0}" "${ft:-0}" "$files" "$result" >>"$runs"
  summary+=("$(printf '%-16s %6ss %8s cpu-s %11s execs  cov %6s  ft %7s  corpus %4s  %s' "$t" \
    "$wall" "$cpu" "${execs:-0}" "${cov:-0}" "${ft:-0}" "$files" "$result")")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
