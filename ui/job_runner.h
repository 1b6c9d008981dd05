// The window's job queue. Core jobs run one at a time on the runner's own worker thread: the
// core already parallelises inside a job, and the machines have few cores. Results come back to
// the GUI thread through queued signals: progress(fraction, stage) (at most every 100 ms), then
// exactly one of succeeded / failed / cancelled. Exceptions from core (basin::Error, c10::Error,
// std::exception) become failed(message).
//
// Each job has a kind (what its result fills: "connectivity", "cka", "save-gate:<dir>") and an
// inputs key (a string that changes when its inputs change). enqueue() then:
// - replaces a waiting job of the same kind, in its place in the queue;
// - cancels a running job of the same kind whose inputs differ (cooperatively, at core's next
//   check; its result is dropped) and queues the new one;
// - ignores a request whose kind runs with the same inputs (ignored() says so);
// - queues any other request behind the others (first in, first out).
// A failed job reports failed() (the window shows its error without blocking) and the queue
// goes on with the next job; a cancelled or replaced job is silent. cancel() (Esc, the status
// bar's Cancel) stops the running job and drops the queue. The GUI thread waits on a job only
// in wait() (window close).
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThreadPool>
#include <QTimer>

#include <any>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace basin::jobs {
class Progress;
}

namespace basin::ui {

// Held by every job while it runs, and by the Interpolate view's live generation (which runs
// beside the job runner): the cached model is used by one of them at a time, since a job may
// swap its LoRA bank (the multitask study) while an answer is being decoded.
std::mutex& model_lock();

// Lowers the calling worker thread's priority (nice 10; Linux) so that, on a machine whose
// cores the jobs fill, the GUI thread and Qt's painting threads get a core first.
void run_in_background();

class JobRunner : public QObject {
  Q_OBJECT

 public:
  using Work = std::function<std::any(jobs::Progress&)>;     // runs on a worker thread
  using Done = std::function<void(const std::any& result)>;  // runs on the GUI thread

  struct Job {
    QString kind;                 // what the result fills: one running and one waiting per kind
    std::string inputs;           // changes when the job's inputs change
    QString title;                // the status bar's name for it, e.g. "Connectivity sweeps"
    Work work;                    // the core call, on a worker thread
    Done done;                    // GUI thread: the result, when the job succeeds
    std::function<void()> begin;  // GUI thread, as the job starts (e.g. clear the view it fills)
    std::function<void()> ended;  // GUI thread, once it is over or dropped unstarted
  };
  enum class Enqueued { kStarted, kQueued, kReplaced, kIgnored };

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  Enqueued enqueue(Job job);
  // A job runs or waits.
  bool busy() const { return running_ != nullptr || !queue_.empty(); }
  QStringList queued_titles() const;
  // "Running: CKA 40% · Queued: Multitask study, Greedy soup"; empty when idle.
  QString summary() const;
  // Stops the running job at its next check and drops the waiting ones (Esc).
  void cancel();
  // The same for one kind only (its inputs are gone, e.g. fewer than two adapters left).
  void withdraw(const QString& kind);
  // Blocks until the running job ends (window close).
  void wait();
  // From inside a job's work: runs `show` on the GUI thread, unless the job was replaced by
  // then (partial results streamed to a view).
  static void post(jobs::Progress& p, std::function<void()> show);

 signals:
  void started(const QString& title);
  void progress(double fraction, const QString& stage);
  void succeeded(const QString& title);
  void failed(const QString& title, const QString& message);
  void cancelled(const QString& title);
  void ignored(const QString& title);  // the same job already runs
  void busyChanged(bool busy);
  void queueChanged();  // a job started, ended, queued or was dropped; or progress moved

 private:
  struct Outcome {
    std::any value;
    QString error;
    bool cancelled = false;
  };
  class Bridge;
  struct Running {
    Job job;
    uint64_t id = 0;
    std::shared_ptr<Bridge> bridge;
    bool replaced = false;  // a newer request of its kind cancelled it: its result is dropped
  };
  static constexpr int kProgressMs = 100;
  bool current(uint64_t id) const;
  void report(double fraction, const QString& stage);
  void start_next();
  void on_finished();
  void drop_queue();
  void changed();

  QThreadPool pool_;  // one thread: jobs run one at a time
  QFutureWatcher<Outcome> watcher_;
  std::unique_ptr<Running> running_;
  std::deque<Job> queue_;
  uint64_t next_id_ = 0;
  QTimer progress_timer_;
  double fraction_ = 0;  // the running job's last report
  QString stage_;
  bool progress_pending_ = false;  // a report waits for progress_timer_
  bool delivering_ = false;        // on_finished is handing a result over: no job starts meanwhile
  bool busy_shown_ = false;        // what busyChanged last said
};

}  // namespace basin::ui
