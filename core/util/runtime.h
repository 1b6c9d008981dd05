// Process-wide LibTorch settings made once at start-up by every entry point.
#pragma once

#include <string>
#include <vector>

namespace basin {

// Replaces the process by `exe` (argv unchanged) with OMP_WAIT_POLICY=passive when the
// environment names no policy; returns when it names one (the user's choice, or the relaunch
// already happened) or when exec fails, and the process goes on with what it has. GNU OpenMP
// reads the policy once, before main(), so a program sets it by relaunching itself
// (exe = "/proc/self/exe"). Why: an idle OpenMP worker spins after each parallel region by
// default, taking the core the next step needs (docs/PERFORMANCE.md, "OpenMP wait policy").
void relaunch_with_passive_openmp(const char* exe, char** argv);

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
// 2-core machine) and the device (set_compute_device).
void init_runtime(const RuntimeOptions& options = {});

// The device a choice names on a machine with `cuda_devices` CUDA devices, for the process
// that is `local_rank` among those on its host (-1: not launched as one of several):
//  - "cpu" → "cpu"; "auto" → "cpu" without CUDA, else like "cuda";
//  - "cuda" → "cuda:<local_rank mod cuda_devices>", so ranks take the visible GPUs in turn;
//  - "cuda:N" → itself when N < cuda_devices.
// Throws InputError, naming the choice, for CUDA without a CUDA device (Debian's LibTorch is
// CPU-only) or an index past the last device: never accepted and then run on the CPU.
std::string resolve_device(const std::string& device, int cuda_devices, int local_rank);
// This process's rank among those on its host, from the launcher's environment
// (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID); -1 when none is set.
int local_rank();

// Chooses the compute device (resolve_device with this machine's CUDA devices and
// local_rank()): throws InputError as resolve_device does, leaving the previous choice in
// place. Models, LoRA banks and merges made after the call use it (the GUI's Settings menu
// calls it between jobs).
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

// "cpu" or "cuda:N", as set_compute_device resolved the choice.
std::string compute_device_name();
// Whether that device is a CUDA device.
bool computes_on_cuda();
bool cuda_available();
int cuda_device_count();  // 0 where LibTorch has no usable CUDA device
int torch_threads();
std::string torch_version();

}  // namespace basin
