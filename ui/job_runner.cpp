#include "job_runner.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <utility>

#include <c10/util/Exception.h>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "jobs/progress.h"
#include "util/errors.h"

namespace basin::ui {

// Forwards throttled core progress and streamed partial results to the GUI thread (queued),
// never touching widgets itself. The runner outlives every job: the window waits for the
// running job before it is destroyed.
class JobRunner::Bridge : public jobs::Progress {
 public:
  Bridge(JobRunner* owner, uint64_t id) : owner_(owner), id_(id) {}

  void post(std::function<void()> fn) {
    QPointer<JobRunner> owner = owner_;
    const uint64_t id = id_;
    QMetaObject::invokeMethod(
        owner_,
        [owner, id, fn = std::move(fn)] {
          if (owner && owner->current(id)) fn();
        },
        Qt::QueuedConnection);
  }

 protected:
  void on_report(double fraction, const std::string& stage) override {
    QPointer<JobRunner> owner = owner_;
    post([owner, fraction, s = QString::fromStdString(stage)] { owner->report(fraction, s); });
  }

 private:
  JobRunner* owner_;
  uint64_t id_;
};

void run_in_background() {
#ifdef __linux__
  constexpr int kBackgroundNice = 10;
  // Linux applies a PRIO_PROCESS nice to the one thread named (here: this one); the threads it
  // starts (LibTorch's, parallel_tasks') inherit it.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kBackgroundNice);
#endif
}

std::mutex& model_lock() {
  static std::mutex m;
  return m;
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  // Not Qt's global pool: Qt 6.4's raster engine splits large fills over that pool and waits
  // for them, so a job holding one of its (here two) threads made every repaint wait behind it.
  pool_.setMaxThreadCount(1);
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &JobRunner::on_finished);
  progress_timer_.setSingleShot(true);
  progress_timer_.setInterval(kProgressMs);
  connect(&progress_timer_, &QTimer::timeout, this, [this] {
    if (!progress_pending_) return;
    progress_pending_ = false;
    report(fraction_, stage_);
  });
}

// At most one progress signal per kProgressMs: a QProgressBar repaints the window's dirty
// regions synchronously on each new value, and core reports every 1 %.
void JobRunner::report(double fraction, const QString& stage) {
  fraction_ = fraction;
  stage_ = stage;
  if (progress_timer_.isActive()) {
    progress_pending_ = true;
    return;
  }
  progress_timer_.start();
  emit progress(fraction, stage);
  emit queueChanged();
}

JobRunner::~JobRunner() {
  queue_.clear();  // no callbacks: the window is going away
  if (running_) running_->bridge->request_cancel();
  wait();
}

JobRunner::Enqueued JobRunner::enqueue(Job job) {
  auto waiting =
      std::find_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.kind == job.kind; });
  const bool replacing = waiting != queue_.end();
  if (running_ && running_->job.kind == job.kind && !running_->replaced) {
    if (running_->job.inputs == job.inputs && !running_->bridge->cancelled()) {
      // The newest request is what already runs: a different one waiting is stale now.
      if (replacing) {
        Job stale = std::move(*waiting);
        queue_.erase(waiting);
        if (stale.ended) stale.ended();
        changed();
      }
      emit ignored(job.title);
      return Enqueued::kIgnored;
    }
    running_->replaced = true;
    running_->bridge->request_cancel();
  }
  if (replacing) {
    Job old = std::exchange(*waiting, std::move(job));
    if (old.ended) old.ended();
  } else {
    queue_.push_back(std::move(job));
  }
  const bool idle = !running_ && !delivering_;
  start_next();
  changed();
  if (replacing) return Enqueued::kReplaced;
  return idle ? Enqueued::kStarted : Enqueued::kQueued;
}

void JobRunner::start_next() {
  if (running_ || delivering_ || queue_.empty()) return;
  running_ = std::make_unique<Running>();
  running_->job = std::move(queue_.front());
  queue_.pop_front();
  running_->id = ++next_id_;
  running_->bridge = std::make_shared<Bridge>(this, running_->id);
  fraction_ = 0;
  progress_timer_.stop();
  progress_pending_ = false;
  auto bridge = running_->bridge;
  watcher_.setFuture(QtConcurrent::run(&pool_, [bridge, work = running_->job.work]() -> Outcome {
    Outcome o;
    run_in_background();
    std::lock_guard<std::mutex> lock(model_lock());
    try {
      o.value = work(*bridge);
    } catch (const jobs::Cancelled&) {
      o.cancelled = true;
    } catch (const c10::Error& e) {
      o.error = QString::fromUtf8(e.what_without_backtrace());
    } catch (const std::exception& e) {
      o.error = QString::fromUtf8(e.what());
    } catch (...) {
      o.error = QStringLiteral("unknown error");
    }
    return o;
  }));
  const QString title = running_->job.title;
  if (running_->job.begin) running_->job.begin();
  emit started(title);
}

void JobRunner::on_finished() {
  if (!running_) return;
  const Outcome o = watcher_.result();
  const std::unique_ptr<Running> r = std::move(running_);
  progress_timer_.stop();
  progress_pending_ = false;
  const QString& title = r->job.title;
  delivering_ = true;
  if (r->replaced || o.cancelled) {
    emit cancelled(title);
  } else if (!o.error.isEmpty()) {
    emit failed(title, o.error);
  } else {
    if (r->job.done) r->job.done(o.value);
    emit succeeded(title);
  }
  if (r->job.ended) r->job.ended();
  delivering_ = false;
  start_next();
  changed();
}

bool JobRunner::current(uint64_t id) const {
  return running_ && running_->id == id && !running_->replaced;
}

void JobRunner::post(jobs::Progress& p, std::function<void()> show) {
  if (auto* bridge = dynamic_cast<Bridge*>(&p)) bridge->post(std::move(show));
}

void JobRunner::cancel() {
  drop_queue();
  if (running_) running_->bridge->request_cancel();
  changed();
}

void JobRunner::withdraw(const QString& kind) {
  auto waiting =
      std::find_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.kind == kind; });
  if (waiting != queue_.end()) {
    Job dropped = std::move(*waiting);
    queue_.erase(waiting);
    if (dropped.ended) dropped.ended();
  }
  if (running_ && running_->job.kind == kind) {
    running_->replaced = true;  // its result no longer fits what the window shows
    running_->bridge->request_cancel();
  }
  changed();
}

void JobRunner::drop_queue() {
  std::deque<Job> dropped;
  dropped.swap(queue_);
  for (Job& j : dropped)
    if (j.ended) j.ended();
}

void JobRunner::wait() {
  watcher_.waitForFinished();
}

void JobRunner::changed() {
  if (delivering_) return;  // on_finished calls again once the result is handed over
  if (busy() != busy_shown_) {
    busy_shown_ = busy();
    emit busyChanged(busy_shown_);
  }
  emit queueChanged();
}

QStringList JobRunner::queued_titles() const {
  QStringList out;
  for (const Job& j : queue_)
    out << j.title;
  return out;
}

QString JobRunner::summary() const {
  QStringList parts;
  if (running_) {
    const int percent = static_cast<int>(fraction_ * 100);  // rounded down, as the bar shows it
    parts << tr("Running: %1 %2%").arg(running_->job.title).arg(percent);
  }
  if (!queue_.empty()) parts << tr("Queued: %1").arg(queued_titles().join(", "));
  return parts.join(QStringLiteral(" · "));
}

}  // namespace basin::ui
