#include "jobs/parallel.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "util/runtime.h"

namespace basin::jobs {
namespace {

// One compute thread while any parallel_tasks call runs, and the count from before the first
// restored when the last ends: two calls on different threads (a study and the Interpolate
// view's decoding) must not restore each other's setting.
class OneComputeThread {
 public:
  OneComputeThread() {
    std::lock_guard<std::mutex> lock(mu());
    if (active()++ == 0) saved() = compute_threads();
    set_compute_threads(1);
  }
  ~OneComputeThread() {
    std::lock_guard<std::mutex> lock(mu());
    if (--active() == 0) set_compute_threads(saved());
  }
  OneComputeThread(const OneComputeThread&) = delete;
  OneComputeThread& operator=(const OneComputeThread&) = delete;

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static int& active() {
    static int n = 0;
    return n;
  }
  static int& saved() {
    static int n = 0;
    return n;
  }
};

}  // namespace

int parallel_tasks(size_t n, int workers,
                   const std::function<void(size_t i, const std::atomic<bool>& stop)>& task) {
  std::atomic<bool> stop{false};
  const size_t w =
      std::min<size_t>(static_cast<size_t>(std::max(1, workers)), std::max<size_t>(n, 1));
  if (w <= 1) {
    for (size_t i = 0; i < n; ++i)
      task(i, stop);
    return 1;
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto worker = [&] {
    for (size_t i; !stop.load() && (i = next.fetch_add(1)) < n;) {
      try {
        task(i, stop);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        stop.store(true);
      }
    }
  };
  const OneComputeThread one;
  std::vector<std::thread> pool;
  pool.reserve(w - 1);
  for (size_t k = 1; k < w; ++k) {
    try {
      pool.emplace_back([&] {
        set_compute_threads(1);  // OpenMP thread counts are per thread: set it in each worker
        worker();
      });
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running share the tasks
    }
  }
  worker();
  for (auto& t : pool)
    t.join();
  if (error) std::rethrow_exception(error);
  return static_cast<int>(w);
}

}  // namespace basin::jobs
