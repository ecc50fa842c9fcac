#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds (Release) and runs the whole test suite: every
# CTest test of the release build (core, quadrature, theory, baselines, cli, examples, package), then
# the core and quadrature tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
jobs="${ITEROP_JOBS:-$(nproc)}"

"$here/build.sh" release
cd "$root"
echo "== release: all tests"
ctest --preset release -j "$jobs"

if [ "${ITEROP_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== asan-ubsan: core and quadrature tests"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan -j "$jobs" --target iterop_core_tests iterop_quadrature_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan-ubsan -j "$jobs" -L "^(core|quadrature)$"
fi
echo "== all tests passed"
