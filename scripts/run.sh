#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds (Release) and runs `iterop run`: the built-in default
# suite. Extra arguments go to `iterop run` (e.g. --list, --out DIR, an experiment name or file).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
"$here/build.sh" release
exec "$root/build/release/src/cli/iterop" run "$@"
