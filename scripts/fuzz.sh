#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build/fuzz and runs each for a bounded
# time on its seeds (tests/fuzz/corpus) and past crashes (tests/fuzz/regressions). Fails on any
# crash, sanitizer report (ASan, UBSan), leak, uncaught exception, timeout or out-of-memory.
#   scripts/fuzz.sh                  CI: every target, BASIN_FUZZ_SECONDS each, two at a time
#   scripts/fuzz.sh tokenizer study  only these targets
#   scripts/fuzz.sh --no-build ...   run what build/fuzz holds
# Environment: BASIN_FUZZ_SECONDS (per target, default 20), BASIN_FUZZ_PARALLEL (targets side by
# side, default 2), BASIN_JOBS (build jobs, default 2), BASIN_FUZZ_CXX (default clang++-14).
# A long campaign on one target: CONTRIBUTING.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/fuzz
seconds="${BASIN_FUZZ_SECONDS:-20}"
parallel="${BASIN_FUZZ_PARALLEL:-2}"
all_targets=(safetensors adapter_config model_config tokenizer task study kit_manifest)

do_build=1
if [ "${1:-}" = "--no-build" ]; then do_build=0; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

start=$(date +%s)
if [ $do_build -eq 1 ]; then
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DBASIN_FUZZ=ON -DCMAKE_CXX_COMPILER="${BASIN_FUZZ_CXX:-clang++-14}" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBASIN_BUILD_GUI=OFF -DBASIN_BUILD_TESTS=OFF \
      -DBASIN_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$build" --target basin_fuzzers -j "${BASIN_JOBS:-2}"
fi
built=$(date +%s)

# One target: a scratch corpus (new inputs go to the first folder), the seeds, the regressions.
run_target() {
  local t=$1 bin="$build/tests/fuzz/fuzz_$1"
  mkdir -p "$build/work/$t" "$build/findings/$t"
  local dirs=("$build/work/$t" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  UBSAN_OPTIONS=print_stacktrace=1 "$bin" "${dirs[@]}" -dict=tests/fuzz/json.dict \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t/" >"$build/findings/$t.log" 2>&1
}
export -f run_target
export build seconds
if [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}"
fi

failed=()
printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run_target {} || touch "$build/findings/{}.failed"' || true
for t in "${targets[@]}"; do
  log="$build/findings/$t.log"
  runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  speed=$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if [ -e "$build/findings/$t.failed" ]; then
    rm -f "$build/findings/$t.failed"
    failed+=("$t")
    echo "fuzz $t: FAILED after $runs runs; log $log" >&2
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written|broken promise|InputError message|terminate' "$log" | head -20 >&2 || true
  else
    echo "fuzz $t: ok, $runs runs in ${seconds} s ($speed/s), $cov"
  fi
done
echo "fuzz: build $((built - start)) s, fuzzing $(($(date +%s) - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}: reproduce with build/fuzz/tests/fuzz/fuzz_<target> <input>;" \
       "fix the reader, then add the input to tests/fuzz/regressions/<target>/" >&2
  exit 1
fi
