#include "job_runner.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>

#include <c10/util/Exception.h>

#include "jobs/progress.h"
#include "util/errors.h"

namespace basin::ui {

// Forwards throttled core progress to the GUI thread (queued), never touching widgets itself.
class JobRunner::Bridge : public jobs::Progress {
 public:
  explicit Bridge(JobRunner* owner) : owner_(owner) {}

 protected:
  void on_report(double fraction, const std::string& stage) override {
    QPointer<JobRunner> owner = owner_;
    const QString s = QString::fromStdString(stage);
    QMetaObject::invokeMethod(
        owner_,
        [owner, fraction, s] {
          if (owner) emit owner->progress(fraction, s);
        },
        Qt::QueuedConnection);
  }

 private:
  JobRunner* owner_;
};

std::mutex& model_lock() {
  static std::mutex m;
  return m;
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &JobRunner::on_finished);
}

JobRunner::~JobRunner() {
  cancel();
  wait();
}

bool JobRunner::start(const QString& title, Work work, Done done) {
  if (busy_) return false;
  busy_ = true;
  title_ = title;
  done_ = std::move(done);
  bridge_ = std::make_shared<Bridge>(this);
  auto bridge = bridge_;
  emit started(title);
  emit busyChanged(true);
  watcher_.setFuture(QtConcurrent::run([bridge, work = std::move(work)]() -> Outcome {
    Outcome o;
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
  return true;
}

void JobRunner::cancel() {
  if (bridge_) bridge_->request_cancel();
}

void JobRunner::wait() {
  watcher_.waitForFinished();
}

void JobRunner::on_finished() {
  const Outcome o = watcher_.result();
  const QString title = title_;
  Done done = std::move(done_);
  done_ = nullptr;
  bridge_.reset();
  busy_ = false;
  emit busyChanged(false);
  if (o.cancelled) {
    emit cancelled(title);
  } else if (!o.error.isEmpty()) {
    emit failed(title, o.error);
  } else {
    if (done) done(o.value);
    emit succeeded(title);
  }
}

}  // namespace basin::ui
