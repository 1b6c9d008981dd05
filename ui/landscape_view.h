// Connectivity view: the pairwise convexity gap / loss barrier / error barrier of the included
// adapters (and optionally the base model) along straight paths in ΔW space, as a heatmap that
// fills in as pairs complete; clicking a cell shows that pair's loss curve with chord and hull.
#pragma once

#include <QWidget>

#include <optional>

#include "landscape/sweep.h"
#include "plot_style.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace basin::ui {

class EvalSetupForm;
class HeatmapPlot;

class LandscapeView : public QWidget {
  Q_OBJECT

 public:
  explicit LandscapeView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  SweepRange range() const;
  void set_range(const SweepRange& r);
  bool include_base() const;
  // "convexity_gap", "barrier" or "error_barrier".
  std::string metric() const;
  void set_metric(const std::string& which);

  // A finished (or restored) result; nullopt clears the view.
  void set_result(std::optional<ConnectivityResult> result);
  // A partial result while the sweep runs (pairs not done yet are blank).
  void show_partial(const ConnectivityResult& partial);
  const std::optional<ConnectivityResult>& result() const { return result_; }
  // Shows the curve of pair (i, j) below the heatmap; false when it is not computed.
  bool select_pair(int i, int j);
  const Curve* selected_curve() const;

  void set_message(const QString& text);
  // A line under the controls about how the shown result was made when that differs from the
  // setup above (the demo study's sweeps on one task); empty hides it.
  void set_note(const QString& text);
  QString note() const;
  void apply_theme(Theme t);

  HeatmapPlot* heatmap() const { return heatmap_; }
  QCustomPlot* curve_plot() const { return curve_; }
  QPushButton* run_button() const { return run_; }
  // Bytes for "Export data" of `plot` (CSV or JSON); false when `plot` is not this view's.
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void run_requested();
  void export_requested(QCustomPlot* plot, bool data);
  // A partial result was drawn; `pairs` of the pairs are done so far.
  void partial_shown(int pairs);

 private:
  void refresh();

  EvalSetupForm* setup_ = nullptr;
  QDoubleSpinBox* alpha_min_ = nullptr;
  QDoubleSpinBox* alpha_max_ = nullptr;
  QSpinBox* intervals_ = nullptr;
  QCheckBox* base_ = nullptr;
  QComboBox* metric_ = nullptr;
  QPushButton* run_ = nullptr;
  QLabel* message_ = nullptr;
  QLabel* note_ = nullptr;
  HeatmapPlot* heatmap_ = nullptr;
  QCustomPlot* curve_ = nullptr;
  std::optional<ConnectivityResult> result_;
  int sel_i_ = -1, sel_j_ = -1;
  Theme theme_ = Theme::Light;
};

}  // namespace basin::ui
