#!/usr/bin/env bash
# Sets Basin up (deps + build) and runs the built-in default study.
# With a display: opens the Basin window on the default adapter set.
# Without one (a server, CI): runs the same study headless and writes its results to
# ${BASIN_OUT:-basin-out}/ (summary.md, summary.json, similarity.csv, merged adapters).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out="${BASIN_OUT:-basin-out}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${BASIN_HEADLESS:-0}" != 1 ]; then
  # The GUI opens on the same default set; generate it headless first if needed.
  build/release/app/cli/basin-cli sample -o "$out/sample-adapters" >/dev/null
  exec build/release/app/gui/basin "$out"/sample-adapters/sample-*
fi
exec build/release/app/cli/basin-cli demo --out "$out"
