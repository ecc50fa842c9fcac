#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds (Release) and runs `iterop run` on its built-in
# default experiment. Extra arguments go to `iterop run` (e.g. --list, --out DIR, an experiment name).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
"$here/build.sh" release
exec "$root/build/release/src/cli/iterop" run "$@"
