#!/usr/bin/env bash
# Sets Basin up (deps + build), builds the demo kit on first use (a tokenizer, a tiny Qwen2
# model and LoRA adapters trained here on real text; reused afterwards), and runs the default
# study on the kit's seven task adapters.
# With a display: opens the Basin window on the kit (basin --demo), which runs the study by
# itself: similarity at once, then connectivity over one task's seeds and ranks, CKA and the
# multitask study, one job after another with small limits (Esc stops the queue).
# Without one (a server, CI): runs the same study headless and writes its results to
# ${BASIN_OUT:-basin-out}/ (summary.md, summary.json, similarity.csv, merged adapters).
# BASIN_KIT (default basin-kit) is the kit folder; BASIN_KIT_SIZE=tiny builds the small test kit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cli=build/release/app/cli/basin-cli
kit="${BASIN_KIT:-basin-kit}"
out="${BASIN_OUT:-basin-out}"
"$cli" demo-kit --size "${BASIN_KIT_SIZE:-small}" -o "$kit"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${BASIN_HEADLESS:-0}" != 1 ]; then
  exec build/release/app/gui/basin --demo "$kit"
fi
exec "$cli" demo --kit "$kit" --out "$out"
