#include "heatmap_plot.h"

#include <QToolTip>
#include <cmath>

#include "view_support.h"

namespace basin::ui {
namespace {

// Diverging blue–white–red for signed metrics: 0 (orthogonal ΔW, no gap) is white.
QCPColorGradient diverging_gradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(0x2c, 0x5a, 0xa0));
  g.setColorStopAt(0.5, QColor(0xf7, 0xf7, 0xf7));
  g.setColorStopAt(1.0, QColor(0xb2, 0x18, 0x2b));
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

// Sequential for metrics that cannot be negative: white-ish at 0 to deep blue at the top
// (ColorBrewer "Blues" anchors), so the eye reads "more" as "darker" with no false midpoint.
QCPColorGradient sequential_gradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(0xf7, 0xfb, 0xff));
  g.setColorStopAt(0.25, QColor(0xc6, 0xdb, 0xef));
  g.setColorStopAt(0.5, QColor(0x6b, 0xae, 0xd6));
  g.setColorStopAt(0.75, QColor(0x21, 0x71, 0xb5));
  g.setColorStopAt(1.0, QColor(0x08, 0x30, 0x6b));
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

}  // namespace

HeatmapPlot::HeatmapPlot(QWidget* parent) : QCustomPlot(parent) {
  plotLayout()->insertRow(0);
  title_ = new QCPTextElement(this, QString(), QFont(font().family(), 10, QFont::Bold));
  plotLayout()->addElement(0, 0, title_);
  map_ = new QCPColorMap(xAxis, yAxis);
  scale_ = new QCPColorScale(this);
  plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  map_->setColorScale(scale_);
  map_->setGradient(diverging_gradient());
  map_->setInterpolate(false);
  auto* group = new QCPMarginGroup(this);
  axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  yAxis->setRangeReversed(true);  // row 0 on top, as a matrix is read
  xAxis->grid()->setVisible(false);
  yAxis->grid()->setVisible(false);
  xAxis->setTickLabelRotation(30);
  setMouseTracking(true);
}

void HeatmapPlot::set_title(const QString& title) {
  title_->setText(title);
}

void HeatmapPlot::set_matrix(const PairwiseMatrix& m, double lo, double hi) {
  set_grid(m, m.labels, lo, hi);
}

void HeatmapPlot::set_grid(const PairwiseMatrix& m, const std::vector<std::string>& columns,
                           double lo, double hi) {
  matrix_ = m;
  columns_ = columns;
  sequential_ = lo >= 0;
  map_->setGradient(sequential_ ? sequential_gradient() : diverging_gradient());
  for (auto* t : cell_labels_)
    removeItem(t);
  cell_labels_.clear();
  const int rows = static_cast<int>(m.labels.size()), cols = static_cast<int>(columns.size());
  map_->data()->setSize(std::max(1, cols), std::max(1, rows));
  map_->data()->setRange(QCPRange(0, std::max(0, cols - 1)), QCPRange(0, std::max(0, rows - 1)));
  QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText), yt(new QCPAxisTickerText);
  for (int j = 0; j < cols; ++j)
    xt->addTick(j, QString::fromStdString(columns[static_cast<size_t>(j)]));
  for (int i = 0; i < rows; ++i)
    yt->addTick(i, QString::fromStdString(m.labels[static_cast<size_t>(i)]));
  xAxis->setTicker(xt);
  yAxis->setTicker(yt);
  xAxis->setSubTicks(false);
  yAxis->setSubTicks(false);
  const int n = std::max(rows, cols);
  QFont cell_font = font();
  cell_font.setPointSizeF(n > 10 ? 7 : 9);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const double v = m.values(i, j);
      // QCPColorMapData is indexed (key, value) = (column, row).
      map_->data()->setCell(j, i, std::isfinite(v) ? v : std::nan(""));
      auto* t = new QCPItemText(this);
      t->setProperty("basin_cell", true);
      t->position->setCoords(j, i);
      t->setText(format_fixed(v, n > 10 ? 2 : 3));
      t->setFont(cell_font);
      // White text on the dark end(s) of the scale: both ends of a diverging one, the top of a
      // sequential one.
      const double mid = (lo + hi) / 2, half = (hi - lo) / 2;
      const bool strong =
          std::isfinite(v) && (sequential_ ? v - lo > 1.1 * half : std::abs(v - mid) > 0.6 * half);
      t->setColor(strong ? Qt::white : Qt::black);
      t->setClipToAxisRect(true);
      cell_labels_.push_back(t);
    }
  map_->setDataRange(QCPRange(lo, hi));
  xAxis->setRange(-0.5, cols - 0.5);
  yAxis->setRange(-0.5, rows - 0.5);
  scale_->axis()->setLabel(QString::fromStdString(m.metric));
  replot();
}

double HeatmapPlot::cell_value(int row, int col) const {
  return map_->data()->cell(col, row);
}

QString HeatmapPlot::cell_text(int row, int col) const {
  const int cols = static_cast<int>(columns_.size());
  const int k = row * cols + col;
  if (row < 0 || col < 0 || col >= cols || k >= cell_labels_.size()) return {};
  return cell_labels_[k]->text();
}

void HeatmapPlot::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  const int rows = static_cast<int>(matrix_.labels.size()),
            cols = static_cast<int>(columns_.size());
  const int col = static_cast<int>(std::lround(xAxis->pixelToCoord(event->pos().x())));
  const int row = static_cast<int>(std::lround(yAxis->pixelToCoord(event->pos().y())));
  if (rows == 0 || cols == 0 || row < 0 || col < 0 || row >= rows || col >= cols ||
      !axisRect()->rect().contains(event->pos())) {
    QToolTip::hideText();
    return;
  }
  const double v = matrix_.values(row, col);
  QToolTip::showText(event->globalPosition().toPoint(),
                     QString("%1 × %2\n%3: %4")
                         .arg(QString::fromStdString(matrix_.labels[static_cast<size_t>(row)]),
                              QString::fromStdString(columns_[static_cast<size_t>(col)]),
                              QString::fromStdString(matrix_.metric),
                              std::isfinite(v) ? format_value(v, 6) : tr("undefined")),
                     this);
}

}  // namespace basin::ui
