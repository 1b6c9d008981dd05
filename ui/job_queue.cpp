#include "job_queue.h"

#include <QTimer>

#include "job_runner.h"

namespace basin::ui {

JobQueue::JobQueue(JobRunner* runner, QObject* parent) : QObject(parent), runner_(runner) {
  connect(runner_, &JobRunner::busyChanged, this, [this](bool busy) {
    if (!busy) schedule();
  });
  // Esc / Cancel (or an error) stops what was queued behind the job as well.
  auto stop = [this] {
    if (!active()) return;
    steps_.clear();
    waiting_ = false;
    emit stopped();
  };
  connect(runner_, &JobRunner::cancelled, this, stop);
  connect(runner_, &JobRunner::failed, this, stop);
}

void JobQueue::start(std::vector<Step> steps, std::function<bool()> hold) {
  steps_.assign(steps.begin(), steps.end());
  hold_ = std::move(hold);
  total_ = static_cast<int>(steps_.size());
  waiting_ = false;
  schedule();
}

void JobQueue::clear() {
  steps_.clear();
  waiting_ = false;
}

void JobQueue::schedule() {
  if (scheduled_ || !active()) return;
  scheduled_ = true;
  // After the runner's own signals (succeeded comes after busyChanged) and after any
  // similarity job the window posted for the same turn of the event loop.
  QTimer::singleShot(0, this, [this] {
    scheduled_ = false;
    advance();
  });
}

void JobQueue::advance() {
  if (runner_->busy()) return;  // its busyChanged(false) comes back here
  if (hold_ && hold_()) {
    QTimer::singleShot(20, this, &JobQueue::schedule);
    return;
  }
  if (waiting_) {  // the step's job ended and nothing stopped the queue: it succeeded
    waiting_ = false;
    if (steps_.empty()) {
      emit finished();
      return;
    }
  }
  if (steps_.empty()) return;
  Step step = std::move(steps_.front());
  steps_.pop_front();
  const int index = total_ - static_cast<int>(steps_.size());
  step.run();
  if (!runner_->busy()) {  // it could not start (and said why): stop here
    steps_.clear();
    emit stopped();
    return;
  }
  waiting_ = true;
  emit step_started(index, total_, step.name);
}

}  // namespace basin::ui
