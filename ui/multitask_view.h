// Multitask view (router-free merging study): map each included adapter to its task, pick the
// merge methods, run every method and the baselines on every task → grouped bars of the score
// relative to each task's own adapter, and the multitask score as the number of tasks grows.
#pragma once

#include <QStringList>
#include <QWidget>

#include <optional>

#include "landscape/multitask.h"
#include "plot_style.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace basin::ui {

class EvalSetupForm;

class MultitaskView : public QWidget {
  Q_OBJECT

 public:
  explicit MultitaskView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  // The included adapters and the tasks of the setup; the mapping keeps earlier choices and
  // defaults to the task named like the adapter.
  void set_candidates(const QStringList& adapters, const QStringList& tasks);
  // Task chosen for each adapter ("" = not used), in candidate order.
  QStringList mapping() const;
  void set_mapping(int adapter, const QString& task);
  // Options for `n` mapped tasks (task counts 2…n when the toggle is on).
  MultitaskOptions options(int n) const;
  void set_limit(int examples);  // examples per task (0 = all)
  // Ticks exactly these methods (names as in MultitaskOptions::methods and the gates).
  void set_methods(const QStringList& methods);
  // Whether the study repeats for task counts 2…n (off: all tasks only).
  void set_task_counts(bool on);

  void set_result(std::optional<MultitaskResult> result);
  const std::optional<MultitaskResult>& result() const { return result_; }

  void set_message(const QString& text);
  void apply_theme(Theme t);

  QCustomPlot* bars_plot() const { return bars_; }
  QCustomPlot* count_plot() const { return counts_; }
  QPushButton* run_button() const { return run_; }
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void run_requested();
  void export_requested(QCustomPlot* plot, bool data);

 private:
  EvalSetupForm* setup_ = nullptr;
  QTableWidget* map_ = nullptr;
  std::vector<QCheckBox*> methods_;
  QCheckBox* counts_on_ = nullptr;
  QComboBox* split_ = nullptr;
  QSpinBox* limit_ = nullptr;
  QPushButton* run_ = nullptr;
  QLabel* message_ = nullptr;
  QCustomPlot* bars_ = nullptr;
  QCustomPlot* counts_ = nullptr;
  QStringList tasks_;
  std::optional<MultitaskResult> result_;
  Theme theme_ = Theme::Light;
};

}  // namespace basin::ui
