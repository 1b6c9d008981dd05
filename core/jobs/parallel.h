// Independent tasks run side by side on worker threads. Studies and the demo kit are made of
// many small GEMMs (models 128 wide): their cores pay more as separate tasks than inside each
// product (docs/PERFORMANCE.md), so every worker runs on one compute thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace basin::jobs {

// While one of these lives, compute (intra-op and BLAS) runs on one thread; the count from
// before the first is restored when the last ends, so overlapping scopes on different threads
// (a study and the Interpolate view's decoding) never restore each other's setting. For work
// made of many small products, whose thread wake-ups cost more than they save.
class OneComputeThread {
 public:
  OneComputeThread();
  ~OneComputeThread();
  OneComputeThread(const OneComputeThread&) = delete;
  OneComputeThread& operator=(const OneComputeThread&) = delete;
};

// Runs task(i, stop) for every i in [0, n) on min(workers, n) threads, the caller's thread
// being one of them, and returns the number of threads that ran.
//  - workers <= 1 (or n <= 1): the tasks run in order on the caller's thread, whose compute
//    threads are left as they are.
//  - More: every worker (the caller's thread too) runs on one compute thread
//    (set_compute_threads), and the caller's count is restored before returning.
// The first exception a task throws (jobs::Cancelled included) sets `stop`, which long tasks
// may poll to end early; no further task starts, and the exception is rethrown once every
// worker has stopped.
int parallel_tasks(size_t n, int workers,
                   const std::function<void(size_t i, const std::atomic<bool>& stop)>& task);

}  // namespace basin::jobs
