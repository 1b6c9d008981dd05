#!/usr/bin/env bash
# Sets Basin up (deps + build) and runs every test: unit, e2e (basin-cli), ui (offscreen Qt).
# Pass ctest arguments through, e.g. scripts/test.sh -L unit   or   scripts/test.sh -LE slow
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
ctest --test-dir build/release --output-on-failure -j 2 "$@"
