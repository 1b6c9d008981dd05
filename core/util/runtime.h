// Process-wide LibTorch settings made once at start-up by every entry point.
#pragma once

#include <string>
#include <vector>

namespace basin {

struct RuntimeOptions {
  int threads = 0;                 // intra-op threads for LibTorch; 0 = every hardware core
  std::string device = "auto";     // "auto", "cpu", "cuda" or "cuda:N" (parse_device)
  std::string precision = "fp32";  // evaluation precision: "fp32" or "bf16" (set_eval_precision)
};

// A compute device asked for by name.
struct DeviceChoice {
  enum Kind { kAuto, kCpu, kCuda } kind = kAuto;
  int index = -1;  // cuda:N; -1 = the current CUDA device
};
// Parses "auto", "cpu", "cuda" or "cuda:N" (N a decimal below 1024); throws InputError quoting
// a bounded excerpt of `text` otherwise.
DeviceChoice parse_device(const std::string& text);

// Sets the compute threads (set_compute_threads; LibTorch starts with half the cores: 1 on a
// 2-core machine) and the device. Basin computes on the CPU: "auto" chooses it, and "cuda"
// is refused with a message saying why (no usable CUDA device in this LibTorch; or, where
// there is one, that Basin's evaluation does not place its tensors on it yet), never
// accepted and then silently run on the CPU.
void init_runtime(const RuntimeOptions& options = {});

// Chooses the compute device alone (the GUI's Settings menu), checked as init_runtime checks
// it: throws InputError for a name parse_device refuses or a device Basin cannot compute on,
// and then leaves the previous choice in place. Models loaded after the call use it.
void set_compute_device(const std::string& device);

// The arithmetic of evaluation (forward passes without gradients: losses, scores, features,
// generation). "fp32": float32 throughout. "bf16": mixed precision as LibTorch's autocast
// defines it (the matrix products in bfloat16 with float32 accumulation, the residual stream,
// norms and softmax in float32); training is float32 either way. docs/MODELS.md gives its
// effect on the numbers. Throws InputError for any other name.
enum class EvalPrecision { kFp32, kBf16 };
void set_eval_precision(const std::string& precision);
EvalPrecision eval_precision();
std::string eval_precision_name();

// The devices a user may pick, as parse_device spells them: "cpu", then "cuda:0" … for each
// CUDA device this LibTorch sees (none in a CPU-only LibTorch such as Debian's).
std::vector<std::string> visible_devices();

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
