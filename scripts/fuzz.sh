#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ (preset fuzz: clang, ASan + UBSan; ITEROP_FUZZ_TORCH=1 adds the
# model-file loaders with the preset fuzz-torch) and runs each for SECONDS (default 20) from its seed corpus
# and dictionary: no crash, no leak, no input slower than 1 s (-timeout=1), at most 2 GiB (-rss_limit_mb).
#   scripts/fuzz.sh [SECONDS]          every harness for SECONDS each
#   ITEROP_FUZZ_RUNS=1000000 scripts/fuzz.sh   every harness for that many executions instead (the long run)
#   ITEROP_FUZZ_ONLY=planetoid_fuzz scripts/fuzz.sh 60   one harness
# The corpus grown by a run stays in build/<preset>/fuzz-work/<harness>/corpus (the seeds in fuzz/corpus are not
# touched); a crashing input is saved in build/<preset>/fuzz-work/<harness>/ and the script exits 1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
seconds="${1:-20}"
jobs="${ITEROP_JOBS:-$(nproc)}"
preset=fuzz
if [ "${ITEROP_FUZZ_TORCH:-0}" = "1" ]; then preset=fuzz-torch; fi
cd "$root"
command -v clang++ >/dev/null || { echo "scripts/fuzz.sh: clang++ is missing (scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2; exit 2; }
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs" --target iterop_fuzzers
build="$root/build/$preset"
status=0
for harness in "$build"/fuzz/*_fuzz; do
  name="$(basename "$harness")"
  if [ -n "${ITEROP_FUZZ_ONLY:-}" ] && [ "$name" != "$ITEROP_FUZZ_ONLY" ]; then continue; fi
  work="$build/fuzz-work/$name"
  mkdir -p "$work/corpus"
  args=(-timeout=1 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/")
  if [ -n "${ITEROP_FUZZ_RUNS:-}" ]; then args+=(-runs="$ITEROP_FUZZ_RUNS"); else args+=(-max_total_time="$seconds"); fi
  if [ -f "fuzz/dict/$name.dict" ]; then args+=(-dict="fuzz/dict/$name.dict"); fi
  seeds=()
  if [ -d "fuzz/corpus/$name" ] && [ -n "$(ls -A "fuzz/corpus/$name")" ]; then seeds=("fuzz/corpus/$name"); fi
  echo "== $name"
  start=$(date +%s)
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$harness" "${args[@]}" "$work/corpus" "${seeds[@]}" >"$work/log.txt" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  # The figures of the run: executions, rate, coverage (edges), features, corpus size, time.
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$' || true)
  cov=$(grep -oE '#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED).* cov: [0-9]+' "$work/log.txt" | tail -1 | grep -oE 'cov: [0-9]+' || true)
  echo "$name: $result, ${runs:-?} executions in $(( $(date +%s) - start )) s, ${cov:-cov: ?} edges, corpus $(ls "$work/corpus" | wc -l) inputs (log: $work/log.txt)"
  if [ "$result" != ok ]; then grep -E 'ERROR|SUMMARY|undocumented|Test unit written' "$work/log.txt" | head -5; fi
done
exit $status
