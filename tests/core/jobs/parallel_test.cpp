#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "jobs/parallel.h"
#include "jobs/progress.h"
#include "util/runtime.h"

using namespace basin;
using namespace basin::jobs;

TEST(ParallelTasks, EveryTaskRunsOnceOnTheWorkersWithOneComputeThreadEach) {
  set_compute_threads(2);
  std::vector<std::atomic<int>> runs(40);
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::vector<int> seen_threads;
  const int used = parallel_tasks(runs.size(), 3, [&](size_t i, const std::atomic<bool>&) {
    runs[i].fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
    seen_threads.push_back(compute_threads());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let every worker take some
  });
  EXPECT_EQ(used, 3);
  for (const auto& r : runs)
    EXPECT_EQ(r.load(), 1);
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_TRUE(threads.count(std::this_thread::get_id()));  // the caller is a worker
  for (int t : seen_threads)
    EXPECT_EQ(t, 1);
  EXPECT_EQ(compute_threads(), 2);  // restored
}

TEST(ParallelTasks, OneWorkerRunsInOrderOnTheCallerWithItsThreads) {
  set_compute_threads(2);
  std::vector<size_t> order;
  EXPECT_EQ(parallel_tasks(5, 1,
                           [&](size_t i, const std::atomic<bool>&) {
                             EXPECT_EQ(compute_threads(), 2);
                             order.push_back(i);
                           }),
            1);
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(parallel_tasks(0, 4, [](size_t, const std::atomic<bool>&) { FAIL(); }), 1);
}

TEST(ParallelTasks, TheFirstFailureStopsTheOthersAndIsRethrown) {
  set_compute_threads(2);
  std::atomic<int> started{0};
  EXPECT_THROW(parallel_tasks(1000, 2,
                              [&](size_t i, const std::atomic<bool>& stop) {
                                started.fetch_add(1);
                                if (i == 3) throw Cancelled();
                                // A long task ends early once another failed.
                                for (int k = 0; k < 200 && !stop.load(); ++k)
                                  std::this_thread::sleep_for(std::chrono::milliseconds(1));
                              }),
               Cancelled);
  EXPECT_LT(started.load(), 1000);  // no task started after the failure was seen
  EXPECT_EQ(compute_threads(), 2);  // restored on the failure path too
}

TEST(ParallelTasks, CallsOnTwoThreadsAtOnceRestoreTheCountOfBeforeBoth) {
  set_compute_threads(2);
  std::atomic<int> inside{0};
  auto call = [&] {
    parallel_tasks(4, 2, [&](size_t, const std::atomic<bool>&) {
      inside.fetch_add(1);
      // Neither call may restore 2 while the other still runs.
      while (inside.load() < 4)  // two workers of each call are inside: they overlap
        std::this_thread::yield();
      EXPECT_EQ(compute_threads(), 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
  };
  std::thread other(call);
  call();
  other.join();
  EXPECT_EQ(compute_threads(), 2);
}
