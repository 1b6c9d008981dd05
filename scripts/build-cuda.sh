#!/usr/bin/env bash
# Builds core, basin-cli and the core tests against the LibTorch inside a Python PyTorch
# installation (torch.utils.cmake_prefix_path), e.g. a CUDA PyTorch on a machine with an NVIDIA
# GPU, then runs the core tests there: the Cuda.* tests compare the GPU against the CPU
# (docs/PERFORMANCE.md, "On a GPU"). No Qt, no MPI, no benchmarks: only what such a machine
# usually lacks is left out. The CPU build (scripts/setup.sh) does not use this script.
#   scripts/build-cuda.sh              configure + build into build/cuda, run the core tests
#   scripts/build-cuda.sh --no-tests   build only
# Environment: PYTHON (default python3), BASIN_JOBS (default: every core), BUILD_DIR.
# Needs: cmake ≥ 3.22, ninja or make, a C++17 compiler, and the headers and libraries of Eigen 3,
# nlohmann-json, GoogleTest and LAPACK (Debian: libeigen3-dev nlohmann-json3-dev libgtest-dev
# liblapack-dev); a CUDA PyTorch's CMake files also look for the CUDA toolkit (nvcc).
set -euo pipefail
cd "$(dirname "$0")/.."

run_tests=1
[ "${1:-}" = "--no-tests" ] && run_tests=0
py=${PYTHON:-python3}
build=${BUILD_DIR:-build/cuda}
jobs=${BASIN_JOBS:-$(nproc)}

if ! prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
  echo "build-cuda: '$py' cannot import torch (set PYTHON to a Python with PyTorch)" >&2
  exit 1
fi
"$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda,
      "devices", torch.cuda.device_count(), "cxx11 ABI", torch.compiled_with_cxx11_abi())'
abi=$("$py" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
if [ "$abi" != 1 ]; then
  echo "build-cuda: this PyTorch uses the pre-C++11 string ABI; Basin links system libraries" \
       "built with the C++11 ABI, so the two cannot be mixed (use PyTorch ≥ 2.7)" >&2
  exit 1
fi

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DBASIN_BUILD_GUI=OFF -DBASIN_BUILD_BENCH=OFF -DBASIN_MPI=OFF -DBASIN_USE_CCACHE=OFF
cmake --build "$build" -j "$jobs" --target basin-cli basin_core_tests

[ $run_tests -eq 1 ] || exit 0
# The GPU against the CPU first (skipped, and so passing, where LibTorch sees no CUDA device),
# then every core test (on the CPU: they check the arithmetic this LibTorch gives).
"$build/tests/basin_core_tests" --gtest_filter='Cuda.*:Runtime.*' --gtest_brief=1
"$build/tests/basin_core_tests" --gtest_brief=1
