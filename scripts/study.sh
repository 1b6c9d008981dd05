#!/usr/bin/env bash
# Reproduces docs/STUDY.md on the demo kit: every number and figure on that page comes from the
# commands below (basin-cli, GUI build for --plot). Run scripts/setup.sh first.
#   scripts/study.sh [KIT] [OUT]    defaults: basin-kit docs/study
# BASIN_CLI overrides the CLI path (default build/release/app/cli/basin-cli), e.g. a copied
# binary or a wrapper that adds --threads N.
set -euo pipefail
cd "$(dirname "$0")/.."
cli="${BASIN_CLI:-build/release/app/cli/basin-cli}"
kit="${1:-basin-kit}"
out="${2:-docs/study}"
mkdir -p "$out"
"$cli" demo-kit --size small -o "$kit"
T="$kit/tasks"
A="$kit/adapters"
tasks=(headline translate qa sentiment entailment topic antonym)
specs=()
ads=()
for t in "${tasks[@]}"; do
  specs+=("$T/$t.json")
  ads+=("$A/$t")
done
family=("$A/sentiment" "$A/sentiment-seed1" "$A/sentiment-seed2" "$A/sentiment-seed3"
        "$A/sentiment-r2" "$A/sentiment-r4" "$A/sentiment-r16")
m="$kit/model"
set -x
# 1. Cosine similarity between the seven task adapters' ΔW (router-free study).
"$cli" similarity "${ads[@]}" --csv -o "$out/cosine.csv" --plot "$out/cosine.png"
"$cli" similarity "${ads[@]}" --json -o "$out/cosine.json"
# 3. Convexity gap (and barriers) over seeds and ranks of one task, and the base model.
"$cli" connectivity --model "$m" --tasks "$T/sentiment.json" "${family[@]}" base \
  --json -o "$out/connectivity.json" --plot "$out/convexity_gap.png" --curves-dir "$out/curves"
# 4. CKA of final-layer token states (512 inputs drawn from the seven tasks).
"$cli" cka --model "$m" --tasks "${specs[@]}" "${family[@]}" --inputs 512 --split test \
  --json -o "$out/cka.json" --plot "$out/cka.png"
# 5. Greedy soup over the sentiment seeds vs the best single adapter.
"$cli" soup --model "$m" --tasks "$T/sentiment.json" "$A/sentiment" "$A/sentiment-seed1" \
  "$A/sentiment-seed2" "$A/sentiment-seed3" --json -o "$out/soup.json" --plot "$out/soup.png" \
  --save "$out/soup-adapter" --force
for x in soup-adapter sentiment sentiment-seed1 sentiment-seed2 sentiment-seed3; do
  d="$A/$x"; [ "$x" = soup-adapter ] && d="$out/soup-adapter"
  "$cli" eval --model "$m" --adapter "$d" --tasks "$T/sentiment.json" --split test --json \
    > "$out/eval-$x.json"
done
# 6. Loss surface through three seeds.
"$cli" surface --model "$m" --tasks "$T/sentiment.json" "$A/sentiment" "$A/sentiment-seed1" \
  "$A/sentiment-seed2" --grid 11 --json -o "$out/surface.json" --plot "$out/surface.png"
# 7. Multitask score per method at 3, 5 and 7 tasks, relative to each task's own adapter.
"$cli" multitask --model "$m" --tasks "${specs[@]}" --adapters "${ads[@]}" --counts 3,5,7 \
  --limit 20 --json -o "$out/multitask.json" --plot "$out/multitask.png" \
  --plot-counts "$out/multitask_counts.png"
# 8. Router-free merges against the learned and routed references (MoLE, the Mixture-of-LoRAs
#    router, Arrow) at 5 and 7 tasks, and what each gate looks like on the seven tasks.
"$cli" multitask --model "$m" --tasks "${specs[@]}" --adapters "${ads[@]}" --counts 5,7 \
  --limit 20 --methods linear,svd,ties,dare_ties,mole,moa,arrow \
  --json -o "$out/gates_multitask.json" --plot "$out/gates_multitask.png" \
  --plot-counts "$out/gates_multitask_counts.png"
for kind in mole moa arrow; do
  "$cli" gate train --kind "$kind" --model "$m" --tasks "${specs[@]}" "${ads[@]}" \
    -o "$out/gate-$kind" --force --json > "$out/gate-$kind.train.json"
  "$cli" gate inspect "$out/gate-$kind" --model "$m" --tasks "${specs[@]}" --limit 20 \
    --json -o "$out/gate-$kind.json" --plot "$out/gate-$kind.png"
done
# 9. Model size: the multitask study of step 7 on the kit's medium model (built beside the
#    small kit on first use: about 20 minutes on 2 cores).
"$cli" demo-kit --size medium -o "$kit"
ads_medium=()
for t in "${tasks[@]}"; do
  ads_medium+=("$kit/medium/adapters/$t")
done
"$cli" multitask --model "$kit/medium/model" --tasks "${specs[@]}" --adapters "${ads_medium[@]}" \
  --counts 3,5,7 --limit 20 --json -o "$out/multitask_medium.json" \
  --plot "$out/multitask_medium.png" --plot-counts "$out/multitask_medium_counts.png"
