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
  # The GUI opens on the same default set; generate it first if it is not there yet.
  set_dir="$out/sample-adapters"
  for a in sample-a sample-b sample-c sample-d; do
    if [ ! -f "$set_dir/$a/adapter_model.safetensors" ]; then
      build/release/app/cli/basin-cli sample -o "$set_dir" >/dev/null
      break
    fi
  done
  exec build/release/app/gui/basin "$set_dir"/sample-a "$set_dir"/sample-b "$set_dir"/sample-c "$set_dir"/sample-d
fi
exec build/release/app/cli/basin-cli demo --out "$out"
