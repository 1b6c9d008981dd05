// Progress and cancellation for every long operation in core (one type, as in QgsFeedback
// and llama.cpp's progress_callback). Core polls cancelled() between units of work (a tensor,
// a module, a sweep point) and throws Cancelled; the UI/CLI map reports to a progress bar.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

namespace basin::jobs {

// Thrown by Progress::check_cancelled(); never an error shown to the user.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

class Progress {
 public:
  virtual ~Progress() = default;

  // Reports that `fraction` (0..1) of the whole job is done, in stage `stage`. Throttled: the
  // sink sees a report only when the stage changes, the fraction moved by >= 1 %, or it is 1.
  void report(double fraction, const std::string& stage);
  // Same stage as the last report.
  void report(double fraction);

  // Asks the job to stop at its next check; safe from any thread.
  void request_cancel() { cancel_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancel_.load(std::memory_order_relaxed); }
  // Throws Cancelled when a cancel was requested.
  void check_cancelled() const {
    if (cancelled()) throw Cancelled();
  }

  double last_fraction() const;
  std::string last_stage() const;

 protected:
  // Called with throttled reports, on the worker's thread.
  virtual void on_report(double fraction, const std::string& stage) {}

 private:
  std::atomic<bool> cancel_{false};
  mutable std::mutex mutex_;
  double last_fraction_ = -1.0;
  std::string last_stage_;
};

// Progress that only carries the cancel flag.
class NullProgress : public Progress {};

// Progress that forwards reports to a callback; a callback returning false requests cancel.
class CallbackProgress : public Progress {
 public:
  using Callback = std::function<bool(double fraction, const std::string& stage)>;
  explicit CallbackProgress(Callback cb) : cb_(std::move(cb)) {}

 protected:
  void on_report(double fraction, const std::string& stage) override {
    if (cb_ && !cb_(fraction, stage)) request_cancel();
  }

 private:
  Callback cb_;
};

// Maps [0,1] of a sub-task onto [begin,end] of a parent Progress; shares its cancel flag.
class SubProgress {
 public:
  SubProgress(Progress& parent, double begin, double end)
      : parent_(parent), begin_(begin), end_(end) {}
  void report(double fraction, const std::string& stage) {
    parent_.report(begin_ + (end_ - begin_) * fraction, stage);
  }
  void check_cancelled() const { parent_.check_cancelled(); }
  Progress& parent() { return parent_; }

 private:
  Progress& parent_;
  double begin_, end_;
};

}  // namespace basin::jobs
