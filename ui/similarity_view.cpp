#include "similarity_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSplitter>
#include <QVBoxLayout>
#include <cmath>

#include "heatmap_plot.h"
#include "plot_style.h"
#include "util/strings.h"
#include "view_support.h"

namespace basin::ui {

SimilarityView::SimilarityView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Scope:"), this));
  scope_ = new QComboBox(this);
  scope_->setObjectName("similarity_scope");
  scope_->setMinimumContentsLength(28);
  bar->addWidget(scope_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);  // a long result line wraps instead of widening the window
  bar->addWidget(message_, 1);
  layout->addLayout(bar);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->setObjectName("similarity_splitter");
  heatmap_ = new HeatmapPlot(split);
  heatmap_->setObjectName("similarity_heatmap");
  heatmap_->setMinimumHeight(260);
  profile_ = new QCustomPlot(split);
  profile_->setObjectName("similarity_profile");
  profile_->setMinimumHeight(160);
  profile_->xAxis->setLabel(tr("layer"));
  QSharedPointer<QCPAxisTickerFixed> layer_ticks(new QCPAxisTickerFixed);
  layer_ticks->setTickStep(1.0);  // layers are integers
  layer_ticks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  profile_->xAxis->setTicker(layer_ticks);
  profile_->yAxis->setLabel(tr("cosine similarity of ΔW"));
  profile_->legend->setVisible(true);
  split->addWidget(heatmap_);
  split->addWidget(profile_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  connect(scope_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  for (QCustomPlot* plot : {static_cast<QCustomPlot*>(heatmap_), profile_}) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(plot, &QWidget::customContextMenuRequested, this, [this, plot](const QPoint& pos) {
      QMenu menu(plot);
      menu.addAction(tr("Export figure (PNG/SVG/PDF)…"), this,
                     [this, plot] { emit export_requested(plot, false); });
      menu.addAction(tr("Export data (CSV/JSON)…"), this,
                     [this, plot] { emit export_requested(plot, true); });
      menu.exec(plot->mapToGlobal(pos));
    });
  }
  set_message(tr("Open two or more adapters to compare them."));
  refresh();
}

void SimilarityView::set_message(const QString& text) {
  message_->setText(text);
}

void SimilarityView::set_result(std::optional<SimilarityResult> result) {
  result_ = std::move(result);
  const QSignalBlocker block(scope_);
  const int previous = scope_->currentIndex();
  scope_->clear();
  if (result_) {
    scope_->addItem(tr("All modules"));
    for (int l : result_->layers())
      scope_->addItem(tr("Layer %1").arg(l), l);
    for (const auto& m : result_->modules)
      scope_->addItem(QString::fromStdString(m));
    scope_->setCurrentIndex(previous >= 0 && previous < scope_->count() ? previous : 0);
    set_message(
        tr("%1 adapters, %2 modules").arg(result_->labels.size()).arg(result_->modules.size()));
  }
  refresh();
  fill_profile();
}

void SimilarityView::set_scope(int index) {
  scope_->setCurrentIndex(index);
}

void SimilarityView::refresh() {
  if (!result_) {
    heatmap_->set_matrix(PairwiseMatrix{"cosine similarity", {}, Eigen::MatrixXd(0, 0)});
    heatmap_->set_title(QString());
    set_empty_hint(heatmap_, tr("Open adapters to compare them (File ▸ Open adapter "
                                "folder(s)…, or drop folders here)."));
    set_empty_hint(profile_, tr("The layer-by-layer similarity of every pair appears here."));
    return;
  }
  set_empty_hint(heatmap_, QString());
  set_empty_hint(profile_, QString());
  const int i = scope_->currentIndex();
  const auto layers = result_->layers();
  PairwiseMatrix m;
  QString title;
  if (i <= 0) {
    m = result_->overall();
    title = tr("Cosine similarity of ΔW — all modules");
  } else if (i <= static_cast<int>(layers.size())) {
    m = result_->layer(layers[static_cast<size_t>(i - 1)]);
    title = tr("Cosine similarity of ΔW — layer %1").arg(layers[static_cast<size_t>(i - 1)]);
  } else {
    const size_t mi = static_cast<size_t>(i - 1) - layers.size();
    m = result_->module(mi);
    title = tr("Cosine similarity of ΔW — %1").arg(QString::fromStdString(result_->modules[mi]));
  }
  m.metric = "cosine similarity";
  heatmap_->set_title(title);
  heatmap_->set_matrix(m);
}

void SimilarityView::fill_profile() {
  profile_->clearGraphs();
  if (!result_) {
    profile_->replot();
    return;
  }
  const auto layers = result_->layers();
  const size_t n = result_->labels.size();
  static const QColor palette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                                   QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
                                   QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                                   QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                                   QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
  std::vector<PairwiseMatrix> per_layer;
  for (int l : layers)
    per_layer.push_back(result_->layer(l));
  int k = 0;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      if (k >= 10) break;  // legend stays readable; the CSV export has every pair
      auto* g = profile_->addGraph();
      g->setName(QString::fromStdString(result_->labels[i] + " × " + result_->labels[j]));
      g->setPen(QPen(palette[k % 10], 1.6));
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
      for (size_t li = 0; li < layers.size(); ++li) {
        const double v =
            per_layer[li].values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
        if (!std::isfinite(v)) continue;
        g->addData(layers[li], v);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      ++k;
    }
  profile_->xAxis->setRange(layers.empty() ? 0 : layers.front() - 0.5,
                            layers.empty() ? 1 : layers.back() + 0.5);
  const double pad = std::max(0.05, 0.1 * (hi - lo));
  profile_->yAxis->setRange(lo - pad, hi + pad);
  profile_->legend->setVisible(k > 0);
  place_legend_below(profile_, 5);
  profile_->replot();
}

void SimilarityView::apply_theme(Theme t) {
  apply_plot_theme(heatmap_, t);
  apply_plot_theme(profile_, t);
  heatmap_->replot();
  profile_->replot();
}

QByteArray SimilarityView::matrix_csv() const {
  return QByteArray::fromStdString(heatmap_->matrix().to_csv());
}

QByteArray SimilarityView::profile_csv() const {
  if (!result_) return {};
  std::string out = "layer,adapter_i,adapter_j,cosine\n";
  for (int l : result_->layers()) {
    const auto m = result_->layer(l);
    for (size_t i = 0; i < m.labels.size(); ++i)
      for (size_t j = i + 1; j < m.labels.size(); ++j) {
        const double v = m.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
        out += std::to_string(l) + "," + csv_field(m.labels[i]) + "," + csv_field(m.labels[j]) +
               "," + (std::isfinite(v) ? format_double(v) : std::string()) + "\n";
      }
  }
  return QByteArray::fromStdString(out);
}

}  // namespace basin::ui
