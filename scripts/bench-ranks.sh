#!/usr/bin/env bash
# Issue 14, point 5: connectivity wall time with 1 and 2 MPI ranks on this machine (the ratio),
# each rank's peak memory, and the measured cost per scored point, from which docs/PERFORMANCE.md
# projects a larger study. mpirun cannot run inside a Google Benchmark process (MPI_Init once
# per process, a launcher per run), so this is a script around /usr/bin/time -v, one per rank.
#   scripts/bench-ranks.sh [KIT] [RANKS...]   defaults: basin-kit-tiny, ranks 1 2
# BASIN_CLI overrides the CLI (default build/release/app/cli/basin-cli); SPLIT (default train)
# and LIMIT (default 0: all) choose the examples scored per point;
# the kit is built (demo-kit --size tiny) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
cli="$(realpath "${BASIN_CLI:-build/release/app/cli/basin-cli}")"
kit="${1:-basin-kit-tiny}"
shift || true
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(1 2)
limit="${LIMIT:-0}"
split="${SPLIT:-train}"
[ -f "$kit/model/config.json" ] || "$cli" -q demo-kit --size tiny -o "$kit"
# Every adapter of the kit's sentiment task family and the base model; 11 points per path.
models=()
for a in "$kit"/adapters/sentiment*; do models+=("$a"); done
models+=(base)
n=${#models[@]}
pairs=$((n * (n - 1) / 2))
# Each model alone once, then the 9 interior points of every pair (docs/PERFORMANCE.md).
points=$((n + pairs * 9))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
echo "kit $kit: $n models, $pairs pairs, $points points, split $split, limit $limit; load: $(cut -d" " -f1-3 /proc/loadavg)"
printf '%6s %10s %12s %14s %s\n' ranks wall_s speedup s_per_point "peak RSS per rank (MB)"
base_wall=""
for k in "${ranks[@]}"; do
  rm -f "$work"/time.*
  # shellcheck disable=SC2016  # expanded by the per-rank shell, not here
  run=(sh -c '/usr/bin/time -v -o "$0/time.${OMPI_COMM_WORLD_RANK:-0}" "$@"' "$work" "$cli" -q
       connectivity --model "$kit/model" --tasks "$kit/tasks/sentiment.json" --split "$split"
       --limit "$limit" --intervals 10 --json -o "$work/conn.$k.json" "${models[@]}")
  start=$(date +%s.%N)
  if [ "$k" -eq 1 ]; then "${run[@]}"; else mpirun --oversubscribe -n "$k" "${run[@]}"; fi
  wall=$(echo "$(date +%s.%N) - $start" | bc -l)
  [ -n "$base_wall" ] || base_wall=$wall
  rss=""
  for f in "$work"/time.*; do
    rss+=" $(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$f")"
  done
  printf '%6d %10.1f %12.2f %14.4f %s\n' "$k" "$wall" "$(echo "$base_wall / $wall" | bc -l)" \
    "$(echo "$wall * $k / $points" | bc -l)" "$rss"
done
