#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) after installing what is missing.
# Usage: scripts/build.sh [preset] [extra cmake --build arguments...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
preset="${1:-release}"
shift || true
"$here/setup.sh"
cd "$root"
jobs="${ITEROP_JOBS:-$(nproc)}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs" "$@"
