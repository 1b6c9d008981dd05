// A queue of jobs run one after another on the window's JobRunner (the demo study: similarity,
// then connectivity, CKA and the multitask study), so the views fill by themselves. Each step
// starts one job; the next starts when the runner is idle again. A cancelled or failed job, or a
// step that could not start (it showed its own dialog), stops the queue: Esc means stop.
#pragma once

#include <QObject>
#include <QString>

#include <deque>
#include <functional>

namespace basin::ui {

class JobRunner;

class JobQueue : public QObject {
  Q_OBJECT

 public:
  struct Step {
    QString name;               // shown in the status bar, e.g. "connectivity"
    std::function<void()> run;  // starts one job on the runner (or shows why it cannot)
  };

  explicit JobQueue(JobRunner* runner, QObject* parent = nullptr);

  // Replaces the queue with `steps`, run after the running job (if any) and while `hold` is
  // false (e.g. a similarity job that is scheduled but not started yet).
  void start(std::vector<Step> steps, std::function<bool()> hold = {});
  // Drops the steps not started yet (the running job is not touched).
  void clear();
  bool active() const { return !steps_.empty() || waiting_; }
  int remaining() const { return static_cast<int>(steps_.size()); }

 signals:
  // A step's job started: `index` of `total` (1-based).
  void step_started(int index, int total, const QString& name);
  // Every step's job finished.
  void finished();
  // The queue stopped early (cancel, failure, or a step that did not start).
  void stopped();

 private:
  void advance();
  void schedule();

  JobRunner* runner_;
  std::deque<Step> steps_;
  std::function<bool()> hold_;
  int total_ = 0;
  bool waiting_ = false;    // a step's job is running
  bool scheduled_ = false;  // an advance() is posted
};

}  // namespace basin::ui
