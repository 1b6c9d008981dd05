#!/usr/bin/env bash
# Unit tests under sanitizers (CONTRIBUTING.md, "Sanitizers"), built in build/fuzz beside the
# fuzz targets, whose instrumented reader objects they reuse (tests/sanitize):
#   basin_asan_tests  readers, jobs, util, tokenizer, task, kit manifest, model/PEFT config and
#                     fuzz-corpus tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   basin_tsan_tests  the job runner (ui/job_runner.cpp) and core/jobs under ThreadSanitizer
# Fails on any report (the first one stops the run) and on any failed test.
#   scripts/sanitize.sh              CI: build both, run both
#   scripts/sanitize.sh asan|tsan    one of them
#   scripts/sanitize.sh --no-build   run what build/fuzz holds
# Environment: BASIN_JOBS (build jobs, default 2), BASIN_FUZZ_CXX (default clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/fuzz
do_build=1
if [ "${1:-}" = "--no-build" ]; then do_build=0; shift; fi
which=("$@")
[ ${#which[@]} -eq 0 ] && which=(asan tsan)
targets=()
for w in "${which[@]}"; do
  case "$w" in
    asan|tsan) targets+=("basin_${w}_tests") ;;
    *) echo "sanitize: unknown '$w' (asan or tsan)" >&2; exit 2 ;;
  esac
done

start=$(date +%s)
if [ $do_build -eq 1 ]; then
  if [ ! -f "$build/build.ninja" ]; then  # the same configuration as scripts/fuzz.sh
    cmake -S . -B "$build" -G Ninja -DBASIN_FUZZ=ON -DCMAKE_CXX_COMPILER="${BASIN_FUZZ_CXX:-clang++-14}" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBASIN_BUILD_GUI=OFF -DBASIN_BUILD_TESTS=OFF \
      -DBASIN_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$build" --target "${targets[@]}" -j "${BASIN_JOBS:-2}"
fi
built=$(date +%s)

symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] || symbolizer=
failed=()
for w in "${which[@]}"; do
  log="$build/sanitize-$w.log"
  t0=$(date +%s)
  if [ "$w" = asan ]; then
    # detect_leaks: LeakSanitizer too; UBSan and ASan both stop at the first report.
    ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" ASAN_SYMBOLIZER_PATH="$symbolizer" \
      "$build/tests/fuzz/sanitize/basin_asan_tests" --gtest_brief=1 >"$log" 2>&1 && rc=0 || rc=$?
  else
    # tsan.supp: only the job runner's hand-offs through Qt, which is not instrumented.
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/sanitize/tsan.supp${symbolizer:+:external_symbolizer_path=$symbolizer}" \
    QT_QPA_PLATFORM=offscreen \
      "$build/tests/fuzz/sanitize/tsan/basin_tsan_tests" --gtest_brief=1 >"$log" 2>&1 && rc=0 || rc=$?
  fi
  tests=$(grep -m1 -o '[0-9]* tests\? from [0-9]* test suites\? ran' "$log" || echo "? tests")
  if [ "$rc" -ne 0 ]; then
    failed+=("$w")
    echo "sanitize $w: FAILED (exit $rc) after $(($(date +%s) - t0)) s; log $log" >&2
    grep -E 'ERROR: |WARNING: ThreadSanitizer|runtime error|SUMMARY|FAILED|Failure' "$log" | head -20 >&2 || true
  else
    echo "sanitize $w: ok, $tests in $(($(date +%s) - t0)) s"
  fi
done
echo "sanitize: build $((built - start)) s, tests $(($(date +%s) - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitize: reports in ${failed[*]}; rerun one with scripts/sanitize.sh --no-build ${failed[*]}" >&2
  exit 1
fi
