#include "util/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {
// Set from the GUI thread (Settings) while jobs read it on worker threads.
std::mutex g_device_mutex;
std::string g_device = "cpu";
std::atomic<EvalPrecision> g_precision{EvalPrecision::kFp32};
// The count set_compute_threads set last (0: never set). LibTorch's own count is per thread
// under OpenMP, so a job's thread would read the default, not what start-up set.
std::atomic<int> g_threads{0};

// OpenBLAS's thread setter, when the process's BLAS is OpenBLAS (looked up at run time: on a
// machine whose libblas.so.3 is the reference BLAS there is none, and nothing to set).
void set_openblas_threads(int threads) {
  using Setter = void (*)(int);
  if (auto* f = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    f(threads);
}
}  // namespace

void relaunch_with_passive_openmp(const char* exe, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv(exe, argv);  // returns only on failure
}

void set_compute_threads(int threads) {
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  at::set_num_threads(threads);
  set_openblas_threads(threads);
  g_threads.store(threads);
}

int compute_threads() {
  const int t = g_threads.load();
  return t > 0 ? t : at::get_num_threads();
}

void init_runtime(const RuntimeOptions& options) {
  set_compute_threads(options.threads);
  // Merges allocate and free many module-sized buffers (tens of MB); by default glibc maps and
  // unmaps each one, and the kernel zeroes the pages every time. Keep them in the heap instead.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  set_compute_device(options.device);
  set_eval_precision(options.precision);
}

void set_eval_precision(const std::string& precision) {
  if (precision == "fp32")
    g_precision.store(EvalPrecision::kFp32);
  else if (precision == "bf16")
    g_precision.store(EvalPrecision::kBf16);
  else
    throw InputError("unknown precision '" + excerpt(precision, 20) + "' (expected fp32 or bf16)");
}
EvalPrecision eval_precision() {
  return g_precision.load();
}
std::string eval_precision_name() {
  return eval_precision() == EvalPrecision::kBf16 ? "bf16" : "fp32";
}

std::string resolve_device(const std::string& device, int cuda_devices, int local_rank) {
  const DeviceChoice d = parse_device(device);
  if (d.kind == DeviceChoice::kCpu || (d.kind == DeviceChoice::kAuto && cuda_devices <= 0))
    return "cpu";
  const std::string name = excerpt(device, 20);
  if (cuda_devices <= 0)
    throw InputError("device '" + name +
                     "' requested, but this LibTorch build has no usable CUDA device "
                     "(Debian's LibTorch is CPU-only; build against a CUDA LibTorch with "
                     "-DTorch_DIR, see docs/PERFORMANCE.md)");
  if (d.index >= cuda_devices)
    throw InputError("device '" + name + "' requested, but this machine has " +
                     std::to_string(cuda_devices) + " CUDA device" +
                     (cuda_devices == 1 ? "" : "s"));
  // "auto" and "cuda": ranks on one host take the visible GPUs in turn.
  const int index = d.index >= 0 ? d.index : std::max(local_rank, 0) % cuda_devices;
  return "cuda:" + std::to_string(index);
}

int local_rank() {
  // Open MPI's mpirun and MPICH's hydra name the rank among those on this host; Slurm's srun
  // the task among those of this node.
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const char* v = std::getenv(var);
    if (!v || !*v) continue;
    char* end = nullptr;
    const long r = std::strtol(v, &end, 10);
    if (*end == '\0' && r >= 0 && r < 1 << 20) return int(r);
  }
  return -1;
}

void set_compute_device(const std::string& device) {
  const std::string resolved = resolve_device(device, cuda_device_count(), local_rank());
  std::lock_guard<std::mutex> lock(g_device_mutex);
  g_device = resolved;
}

std::vector<std::string> visible_devices() {
  std::vector<std::string> out{"cpu"};
  for (int i = 0; i < cuda_device_count(); ++i)
    out.push_back("cuda:" + std::to_string(i));
  return out;
}

DeviceChoice parse_device(const std::string& text) {
  if (text == "auto") return {DeviceChoice::kAuto, -1};
  if (text == "cpu") return {DeviceChoice::kCpu, -1};
  if (text == "cuda") return {DeviceChoice::kCuda, -1};
  const std::string prefix = "cuda:";
  if (text.size() > prefix.size() && text.size() <= prefix.size() + 4 &&
      text.compare(0, prefix.size(), prefix) == 0) {
    int index = 0;
    bool digits = true;
    for (size_t i = prefix.size(); i < text.size(); ++i) {
      digits = digits && text[i] >= '0' && text[i] <= '9';
      index = index * 10 + (text[i] - '0');
    }
    if (digits && index < 1024) return {DeviceChoice::kCuda, index};
  }
  throw InputError("unknown device '" + excerpt(text, 20) +
                   "' (expected auto, cpu, cuda or cuda:N with N = 0 … 1023)");
}

std::string compute_device_name() {
  std::lock_guard<std::mutex> lock(g_device_mutex);
  return g_device;
}
bool computes_on_cuda() {
  return compute_device_name() != "cpu";
}
bool cuda_available() {
  return torch::cuda::is_available();
}
int cuda_device_count() {
  return cuda_available() ? int(torch::cuda::device_count()) : 0;
}
int torch_threads() {
  return at::get_num_threads();
}

std::string torch_version() {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace basin
