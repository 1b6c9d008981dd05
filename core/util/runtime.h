// Process-wide LibTorch settings made once at start-up by every entry point.
#pragma once

#include <string>

namespace basin {

struct RuntimeOptions {
  int threads = 0;              // intra-op threads for LibTorch; 0 = every hardware core
  std::string device = "auto";  // "auto" (CUDA when available, else CPU), "cpu" or "cuda"
};

// Sets the compute threads (set_compute_threads; LibTorch starts with half the cores: 1 on a
// 2-core machine) and the device.
void init_runtime(const RuntimeOptions& options = {});

// Compute threads of the calling process: LibTorch's intra-op threads and, when the BLAS
// behind LibTorch is OpenBLAS (Debian's libblas.so.3 alternative), OpenBLAS's own thread pool,
// which LibTorch's setting does not reach. Without the second, "1 thread" still ran every
// GEMM on all cores. compute_threads() is the count set last (from any thread), else
// LibTorch's.
void set_compute_threads(int threads);
int compute_threads();

// "cpu" or "cuda", as chosen by init_runtime's device option and what the build supports.
std::string compute_device_name();
bool cuda_available();
int torch_threads();
std::string torch_version();

}  // namespace basin
