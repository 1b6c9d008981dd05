// The job runner's hand-offs between the GUI thread and its worker, without the window
// (ThreadSanitizer: scripts/sanitize.sh; label sanitize). Every result, error, progress report
// and streamed partial result a job makes on the worker crosses to the GUI thread here, many
// times over, while jobs are replaced, withdrawn, cancelled and destroyed mid-run; each test
// also checks what arrived, so a hand-off that loses or reorders data fails without TSan too.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QSignalSpy>
#include <QTest>

#include <any>
#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "job_runner.h"
#include "jobs/parallel.h"
#include "jobs/progress.h"
#include "util/errors.h"

using basin::jobs::Progress;
using basin::ui::JobRunner;

namespace {

bool wait_idle(JobRunner& r, int ms = 30000) {
  return QTest::qWaitFor([&] { return !r.busy(); }, ms);
}

QStringList args0(const QSignalSpy& spy) {
  QStringList out;
  for (const auto& args : spy)
    out << args.at(0).toString();
  return out;
}

// A job whose result is heap data built on the worker: `n` values k*seed, reported as it goes
// and streamed in chunks of 16 through post(); `seen` (GUI thread) collects the chunks.
JobRunner::Job counting_job(const QString& kind, int seed, int n, std::vector<int>* seen,
                            std::vector<int>* result) {
  JobRunner::Job job;
  job.kind = kind;
  job.inputs = std::to_string(seed);
  job.title = kind;
  job.work = [seed, n, seen](Progress& p) {
    auto values = std::make_shared<std::vector<int>>();
    std::vector<int> chunk;
    for (int k = 0; k < n; ++k) {
      p.check_cancelled();
      values->push_back(k * seed);
      chunk.push_back(k * seed);
      if (chunk.size() == 16) {
        JobRunner::post(
            p, [seen, c = std::move(chunk)] { seen->insert(seen->end(), c.begin(), c.end()); });
        chunk.clear();
      }
      p.report(double(k + 1) / n, "counting " + std::to_string(k));
    }
    return std::any(values);
  };
  job.done = [result](const std::any& v) {
    *result = *std::any_cast<std::shared_ptr<std::vector<int>>>(v);
  };
  return job;
}

std::vector<int> multiples(int seed, int n) {
  std::vector<int> v(n);
  for (int k = 0; k < n; ++k)
    v[k] = k * seed;
  return v;
}

// Sleeps in 1 ms steps until `release` is set or the job is cancelled.
JobRunner::Job held_job(const QString& kind, const std::atomic<bool>& release,
                        std::string inputs = {}) {
  JobRunner::Job job;
  job.kind = kind;
  job.inputs = std::move(inputs);
  job.title = kind;
  job.work = [&release](Progress& p) {
    while (!release) {
      p.check_cancelled();
      p.report(0.5, "held");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::any(1);
  };
  return job;
}

}  // namespace

TEST(JobRunnerThreads, ResultsProgressAndPartialResultsCrossToTheGuiThreadInOrder) {
  JobRunner runner;
  QSignalSpy progress(&runner, &JobRunner::progress);
  constexpr int kJobs = 12, kValues = 4000;
  std::vector<std::vector<int>> seen(kJobs), result(kJobs);
  for (int j = 0; j < kJobs; ++j)
    runner.enqueue(counting_job(QString("kind %1").arg(j), j + 1, kValues, &seen[j], &result[j]));
  ASSERT_TRUE(wait_idle(runner));
  for (int j = 0; j < kJobs; ++j) {
    const std::vector<int> expected = multiples(j + 1, kValues);
    EXPECT_EQ(result[j], expected) << "job " << j;
    EXPECT_EQ(seen[j], expected) << "job " << j;  // 4000 = 250 chunks of 16, none left over
  }
  ASSERT_GT(progress.count(), 0);  // throttled: a job's last report may be dropped as it ends
  for (const auto& args : progress) {
    EXPECT_GE(args.at(0).toDouble(), 0.0);
    EXPECT_LE(args.at(0).toDouble(), 1.0);
  }
}

TEST(JobRunnerThreads, ReplacedWithdrawnAndFailedJobsWhileTheWorkerRuns) {
  JobRunner runner;
  QSignalSpy started(&runner, &JobRunner::started);
  QSignalSpy cancelled(&runner, &JobRunner::cancelled);
  QSignalSpy failed(&runner, &JobRunner::failed);
  std::atomic<bool> release{false};
  // Replace the running job of kind "a" ten times: each is cancelled at its next check.
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(runner.enqueue(held_job("a", release, std::to_string(i))),
              JobRunner::Enqueued::kIgnored);
    QTest::qWaitFor([&] { return started.count() == i + 1; }, 5000);
  }
  std::vector<int> seen, result;
  runner.enqueue(counting_job("b", 3, 1000, &seen, &result));
  runner.withdraw("b");  // dropped unstarted
  JobRunner::Job bad;
  bad.kind = "bad";
  bad.title = "bad";
  bad.work = [](Progress& p) -> std::any {
    p.report(0.3, "about to fail");
    throw basin::InputError("value '" + std::string(100, 'x') + "' is bad");
  };
  runner.enqueue(std::move(bad));
  release = true;
  ASSERT_TRUE(wait_idle(runner));
  EXPECT_EQ(started.count(), 11);   // a0..a9, then bad
  EXPECT_EQ(cancelled.count(), 9);  // a0..a8; a9 finished
  EXPECT_TRUE(result.empty());
  ASSERT_EQ(args0(failed), QStringList{"bad"});
  EXPECT_EQ(failed[0].at(1).toString(), "value '" + QString(100, 'x') + "' is bad");
}

TEST(JobRunnerThreads, CancelAndDestroyWhileAJobRunsAndPosts) {
  std::vector<int> seen, result;
  for (int round = 0; round < 5; ++round) {
    auto runner = std::make_unique<JobRunner>();
    runner->enqueue(counting_job("c", 7, 1 << 30, &seen, &result));  // never ends on its own
    const size_t before = seen.size();
    ASSERT_TRUE(QTest::qWaitFor([&] { return seen.size() >= before + 64; }, 5000));
    if (round % 2 == 0) {
      QSignalSpy cancelled(runner.get(), &JobRunner::cancelled);
      runner->cancel();
      ASSERT_TRUE(wait_idle(*runner));
      EXPECT_EQ(cancelled.count(), 1);
    }
    runner.reset();  // cancels a running job and waits for it; posts after that are dropped
    QCoreApplication::processEvents();
  }
  EXPECT_TRUE(result.empty());
  EXPECT_GE(seen.size(), 5u * 64u);
  for (size_t k = 0; k < seen.size(); ++k)
    ASSERT_EQ(seen[k] % 7, 0);
}

// The job's Progress without Qt: reports from several workers at once and a cancel from another
// thread (the GUI's Esc). The runner's tests above cannot check this object's own fields, since
// its hand-off to the worker goes through Qt (tsan.supp); here every access is TSan-visible.
TEST(ProgressThreads, ReportsFromWorkersAndACancelFromAnotherThread) {
  std::atomic<int> reports{0};
  basin::jobs::CallbackProgress progress([&](double fraction, const std::string&) {
    EXPECT_GE(fraction, 0.0);
    EXPECT_LE(fraction, 1.0);
    ++reports;
    return true;
  });
  std::atomic<int> done{0};
  std::thread canceller([&] {
    while (done < 200)
      std::this_thread::yield();
    progress.request_cancel();
  });
  EXPECT_THROW(basin::jobs::parallel_tasks(1 << 20, 3,
                                           [&](size_t i, const std::atomic<bool>&) {
                                             progress.check_cancelled();
                                             progress.report(double(i % 1000) / 1000, "step");
                                             ++done;
                                           }),
               basin::jobs::Cancelled);
  canceller.join();
  EXPECT_TRUE(progress.cancelled());
  EXPECT_GT(reports.load(), 0);
  EXPECT_LT(done.load(), 1 << 20);  // stopped early
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  QCoreApplication app(argc, argv);
  return RUN_ALL_TESTS();
}
