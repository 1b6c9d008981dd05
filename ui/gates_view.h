// Gates view: learned and routed references over the included adapters — MoLE (a learned gate
// per projection or block), the Mixture-of-LoRAs router ("moa") and Arrow routing. Training
// runs as a cancellable job with a live loss curve; the result shows which expert each task
// really uses (average gate weight, tasks × experts, over all sites or one layer) and, for the
// router, its confusion matrix and routing accuracy.
#pragma once

#include <QWidget>

#include <optional>
#include <string>

#include "landscape/gate_stats.h"
#include "plot_style.h"

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace basin::ui {

class EvalSetupForm;
class HeatmapPlot;

struct GateViewOptions {
  std::string kind = "mole";           // mole, moa, arrow
  std::string granularity = "module";  // mole: module or block
  double temperature = 1.0;            // τ
  double balance_alpha = 0.01;         // mole: α
  int steps = 100;                     // mole / moa training steps
  int top_k = 2;                       // arrow: experts per token; moa: 1 = hard routing
  int train_limit = 200;               // training examples per task
};

class GatesView : public QWidget {
  Q_OBJECT

 public:
  explicit GatesView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  GateViewOptions options() const;
  void set_options(const GateViewOptions& o);

  // Live training curve: clear it, then add each step's loss as it arrives.
  void begin_training(const QString& kind);
  void add_loss(int step, double loss);
  void set_result(std::optional<GateStats> stats);
  const std::optional<GateStats>& result() const { return result_; }
  // Shows usage matrix `index` (0 = all sites, then one per layer).
  void show_usage(int index);
  void set_gate_ready(bool ready);  // enables "Save gate…"

  void set_message(const QString& text);
  void apply_theme(Theme t);

  HeatmapPlot* heatmap() const { return heatmap_; }
  QCustomPlot* loss_plot() const { return loss_; }
  QComboBox* usage_box() const { return usage_; }
  QPushButton* run_button() const { return run_; }
  QPushButton* save_button() const { return save_; }
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void run_requested();
  void save_requested();
  void export_requested(QCustomPlot* plot, bool data);

 private:
  void update_controls();

  EvalSetupForm* setup_ = nullptr;
  QComboBox* kind_ = nullptr;
  QComboBox* granularity_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QDoubleSpinBox* alpha_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QSpinBox* limit_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* save_ = nullptr;
  QLabel* message_ = nullptr;
  QComboBox* usage_ = nullptr;
  QCustomPlot* loss_ = nullptr;
  HeatmapPlot* heatmap_ = nullptr;
  std::optional<GateStats> result_;
  Theme theme_;
  bool gate_ready_ = false;
};

}  // namespace basin::ui
