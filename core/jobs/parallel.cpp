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

std::mutex& scope_mutex() {
  static std::mutex m;
  return m;
}
int g_active_scopes = 0;  // OneComputeThread objects alive (guarded by scope_mutex)
int g_saved_threads = 0;  // the count before the first of them

}  // namespace

OneComputeThread::OneComputeThread() {
  std::lock_guard<std::mutex> lock(scope_mutex());
  if (g_active_scopes++ == 0) g_saved_threads = compute_threads();
  set_compute_threads(1);
}

OneComputeThread::~OneComputeThread() {
  std::lock_guard<std::mutex> lock(scope_mutex());
  if (--g_active_scopes == 0) set_compute_threads(g_saved_threads);
}

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
