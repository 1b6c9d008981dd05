// An N×N matrix (cosine similarity, CKA, convexity gap) or any rows × columns grid (gate usage:
// tasks × experts) as a QCustomPlot heatmap: QCPColorMap + colour scale, labels on both axes,
// the value in each cell, a hover tooltip. The colour scale follows the metric's sign: a range
// that starts at 0 or above (CKA, loss barrier, convexity gap, gate weight) gets a sequential
// scale, a range that straddles 0 (cosine similarity) a diverging one with white at its middle.
#pragma once

#include <qcustomplot.h>

#include "analysis/pairwise_matrix.h"

namespace basin::ui {

class HeatmapPlot : public QCustomPlot {
  Q_OBJECT

 public:
  explicit HeatmapPlot(QWidget* parent = nullptr);

  // Shows `m`; values outside [lo, hi] saturate the gradient. NaN cells are left blank.
  // lo ≥ 0: sequential scale; lo < 0: diverging.
  void set_matrix(const PairwiseMatrix& m, double lo = -1.0, double hi = 1.0);
  // A rows × columns grid: m.labels name the rows, `columns` the columns.
  void set_grid(const PairwiseMatrix& m, const std::vector<std::string>& columns, double lo,
                double hi);
  const PairwiseMatrix& matrix() const { return matrix_; }
  void set_title(const QString& title);
  // The value the colour map holds for row i, column j (what the user sees).
  double cell_value(int row, int col) const;
  // True when the last grid used the sequential scale.
  bool sequential() const { return sequential_; }
  // The text drawn in cell (row, col), "" when there is none.
  QString cell_text(int row, int col) const;
  QCPColorMap* color_map() const { return map_; }

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  PairwiseMatrix matrix_;
  std::vector<std::string> columns_;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QList<QCPItemText*> cell_labels_;
  bool sequential_ = false;
};

}  // namespace basin::ui
