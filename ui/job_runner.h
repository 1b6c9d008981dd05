// Runs one core job at a time on Qt's thread pool (QtConcurrent) and reports back on the GUI
// thread: progress(fraction, stage), then exactly one of succeeded / failed / cancelled.
// Exceptions from core (basin::Error, c10::Error, std::exception) become failed(message).
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <any>
#include <functional>
#include <memory>
#include <mutex>

namespace basin::jobs {
class Progress;
}

namespace basin::ui {

// Held by every job while it runs, and by the Interpolate view's live generation (which runs
// beside the job runner): the cached model is used by one of them at a time, since a job may
// swap its LoRA bank (the multitask study) while an answer is being decoded.
std::mutex& model_lock();

class JobRunner : public QObject {
  Q_OBJECT

 public:
  using Work = std::function<std::any(jobs::Progress&)>;     // runs on a worker thread
  using Done = std::function<void(const std::any& result)>;  // runs on the GUI thread

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  bool busy() const { return busy_; }
  QString title() const { return title_; }
  // Starts `work`; `done` receives its result if it succeeds. Returns false when busy.
  bool start(const QString& title, Work work, Done done);
  // Asks the running job to stop at its next check (core polls between modules / points).
  void cancel();
  // Blocks until the running job ends (for shutdown and tests).
  void wait();

 signals:
  void started(const QString& title);
  void progress(double fraction, const QString& stage);
  void succeeded(const QString& title);
  void failed(const QString& title, const QString& message);
  void cancelled(const QString& title);
  void busyChanged(bool busy);

 private:
  struct Outcome {
    std::any value;
    QString error;
    bool cancelled = false;
  };
  class Bridge;
  void on_finished();

  QFutureWatcher<Outcome> watcher_;
  std::shared_ptr<Bridge> bridge_;
  Done done_;
  QString title_;
  bool busy_ = false;
};

}  // namespace basin::ui
