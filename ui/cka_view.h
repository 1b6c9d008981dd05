// CKA view: linear CKA (Kornblith et al. 2019) between the final-layer (or any layer's) pooled
// token states of the base model and every included adapter, on N seeded task inputs, as a
// heatmap and a table.
#pragma once

#include <QWidget>

#include <optional>

#include "analysis/pairwise_matrix.h"
#include "plot_style.h"

class QCheckBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace basin::ui {

class EvalSetupForm;
class HeatmapPlot;

struct CkaOptions {
  size_t inputs = 512;    // N prompts drawn from the tasks' split
  uint64_t seed = 0;      // which prompts
  int layer = -1;         // hidden state after this many layers; −1 = last (after the norm)
  bool debiased = false;  // unbiased HSIC estimator
};

class CkaView : public QWidget {
  Q_OBJECT

 public:
  explicit CkaView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  CkaOptions options() const;
  void set_options(const CkaOptions& o);
  void set_result(std::optional<PairwiseMatrix> result);
  const std::optional<PairwiseMatrix>& result() const { return result_; }

  void set_message(const QString& text);
  void apply_theme(Theme t);

  HeatmapPlot* heatmap() const { return heatmap_; }
  QTableWidget* table() const { return table_; }
  QPushButton* run_button() const { return run_; }
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void run_requested();
  void export_requested(QCustomPlot* plot, bool data);

 private:
  EvalSetupForm* setup_ = nullptr;
  QSpinBox* inputs_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QSpinBox* layer_ = nullptr;
  QCheckBox* debiased_ = nullptr;
  QPushButton* run_ = nullptr;
  QLabel* message_ = nullptr;
  HeatmapPlot* heatmap_ = nullptr;
  QTableWidget* table_ = nullptr;
  std::optional<PairwiseMatrix> result_;
};

}  // namespace basin::ui
