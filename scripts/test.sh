#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds (Release) and runs the whole test suite: every
# CTest test of the release build (core, quadrature, theory, baselines, cli, examples, package), then
# every test of the components without LibTorch again under AddressSanitizer + UndefinedBehaviorSanitizer
# (ITEROP_SKIP_SANITIZERS=1 skips it), then a 20-second smoke run of each libFuzzer harness of fuzz/
# (ITEROP_SKIP_FUZZ=1 skips it; ITEROP_FUZZ_SECONDS sets the time).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
jobs="${ITEROP_JOBS:-$(nproc)}"

"$here/build.sh" release
cd "$root"
echo "== release: all tests"
ctest --preset release -j "$jobs"

if [ "${ITEROP_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== asan-ubsan: every test without LibTorch (core, quadrature, theory, baselines, distributions, experiments, cli, reliability; the docs examples run in the release phase)"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan-ubsan -j "$jobs" -LE "^(package|docs)$"
fi
if [ "${ITEROP_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== fuzz: a smoke run of each harness"
  "$here/fuzz.sh" "${ITEROP_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
