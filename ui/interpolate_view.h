// Interpolate view (teaching): two endpoints — an included adapter, a merge (the Merge view's
// result, or a merge method run on the included set) or the base model — and a slider for α
// over −0.5 … 1.5 on the straight path θ(α) = α θ_a + (1−α) θ_b (α = 1 is endpoint A, the
// convention of core/landscape/sweep.h). The loss curve over a grid of α is computed once per
// pair (a job); the slider moves a marker along it, and the model's greedy answers to a few
// prompts per task follow the slider live (debounced, off the GUI thread, stale ones dropped).
#pragma once

#include <QStringList>
#include <QWidget>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "landscape/sweep.h"
#include "plot_style.h"

class QComboBox;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QTableWidget;
class QTimer;

namespace basin::ui {

class EvalSetupForm;

// One row of the answers table.
struct InterpolateAnswer {
  std::string task, prompt, reference, answer;
};

class InterpolateView : public QWidget {
  Q_OBJECT

 public:
  explicit InterpolateView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  // Endpoint keys: "base", "adapter:<name>", "merge:view" (the Merge view's result) and
  // "merge:<method>" (that method on the included set with the Merge view's parameters).
  void set_choices(const QStringList& adapters, bool has_merge_result);
  QString endpoint_a() const;
  QString endpoint_b() const;
  // Picks both endpoints by key; false when one is not offered.
  bool set_endpoints(const QString& a, const QString& b);
  // The α grid of the curve: −0.5 … 1.5 in `intervals` steps.
  SweepRange range() const;
  void set_intervals(int intervals);
  double alpha() const;
  void set_alpha(double alpha);  // moves the slider (the answers follow after the debounce)

  // The curve of the current pair (nullopt: none yet, the hint asks for it).
  void set_curve(std::optional<Curve> curve);
  const std::optional<Curve>& curve() const { return curve_; }
  // The curve's loss at α, linear between grid points (NaN without a curve or outside it).
  double loss_at(double alpha) const;
  void set_answers(double alpha, const std::vector<InterpolateAnswer>& answers);
  double answers_alpha() const { return answers_alpha_; }
  int answer_count() const;
  QString answer_text(int row) const;

  void set_message(const QString& text);
  void apply_theme(Theme t);

  QCustomPlot* curve_plot() const { return plot_; }
  QSlider* slider() const { return slider_; }
  QPushButton* run_button() const { return run_; }
  QComboBox* endpoint_box(int which) const { return which == 0 ? a_ : b_; }
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void run_requested();
  // The user picked another endpoint (the curve shown no longer applies).
  void pair_changed();
  // The slider settled at α (debounced).
  void alpha_changed(double alpha);
  void answers_shown(double alpha);
  void export_requested(QCustomPlot* plot, bool data);

 private:
  void update_marker();

  EvalSetupForm* setup_ = nullptr;
  QComboBox* a_ = nullptr;
  QComboBox* b_ = nullptr;
  QSpinBox* intervals_ = nullptr;
  QPushButton* run_ = nullptr;
  QSlider* slider_ = nullptr;
  QLabel* alpha_label_ = nullptr;
  QLabel* message_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPItemStraightLine* marker_ = nullptr;
  QCPItemText* marker_text_ = nullptr;
  QTableWidget* table_ = nullptr;
  QTimer* debounce_ = nullptr;
  std::optional<Curve> curve_;
  double answers_alpha_ = std::nan("");
  Theme theme_ = Theme::Light;
};

}  // namespace basin::ui
