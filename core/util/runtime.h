// Process-wide LibTorch settings made once at start-up by every entry point.
#pragma once

#include <string>

namespace basin {

struct RuntimeOptions {
  int threads = 0;              // intra-op threads for LibTorch; 0 = every hardware core
  std::string device = "auto";  // "auto" (CUDA when available, else CPU), "cpu" or "cuda"
};

// Sets LibTorch's thread count (LibTorch starts with half the cores: 1 on a 2-core machine).
void init_runtime(const RuntimeOptions& options = {});

// "cpu" or "cuda", as chosen by init_runtime's device option and what the build supports.
std::string compute_device_name();
bool cuda_available();
int torch_threads();
std::string torch_version();

}  // namespace basin
