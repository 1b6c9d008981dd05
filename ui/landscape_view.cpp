#include "landscape_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <cmath>
#include <nlohmann/json.hpp>

#include "eval_setup_form.h"
#include "figures.h"
#include "heatmap_plot.h"
#include "plot_style.h"
#include "view_support.h"

namespace basin::ui {
namespace {

QString metric_title(const std::string& which) {
  if (which == "barrier") return QObject::tr("Loss barrier (Entezari et al.)");
  if (which == "error_barrier") return QObject::tr("Error barrier (Frankle et al.)");
  return QObject::tr("Convexity gap (Juneja et al.)");
}

}  // namespace

LandscapeView::LandscapeView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("α from"), this));
  alpha_min_ = new QDoubleSpinBox(this);
  alpha_min_->setObjectName("alpha_min");
  alpha_max_ = new QDoubleSpinBox(this);
  alpha_max_->setObjectName("alpha_max");
  for (auto* s : {alpha_min_, alpha_max_}) {
    s->setRange(-0.5, 1.5);  // extrapolation up to half a segment on either side
    s->setSingleStep(0.1);
    s->setDecimals(2);
  }
  alpha_min_->setValue(0.0);
  alpha_max_->setValue(1.0);
  bar->addWidget(alpha_min_);
  bar->addWidget(new QLabel(tr("to"), this));
  bar->addWidget(alpha_max_);
  bar->addWidget(new QLabel(tr("intervals"), this));
  intervals_ = new QSpinBox(this);
  intervals_->setObjectName("alpha_intervals");
  intervals_->setRange(1, 1000);
  intervals_->setValue(10);
  bar->addWidget(intervals_);
  base_ = new QCheckBox(tr("include base model"), this);
  base_->setObjectName("include_base");
  base_->setToolTip(tr("Adds the base model (the zero adapter) as an endpoint"));
  bar->addWidget(base_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Show:"), this));
  metric_ = new QComboBox(this);
  metric_->setObjectName("connectivity_metric");
  metric_->addItem(tr("convexity gap"), "convexity_gap");
  metric_->addItem(tr("loss barrier"), "barrier");
  metric_->addItem(tr("error barrier"), "error_barrier");
  bar->addWidget(metric_);
  run_ = new QPushButton(tr("Run sweeps"), this);
  run_->setObjectName("run_connectivity");
  bar->addWidget(run_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);  // a long result line wraps instead of widening the window
  bar->addWidget(message_, 1);
  layout->addLayout(bar);
  note_ = new QLabel(this);
  note_->setObjectName("connectivity_note");
  note_->setWordWrap(true);
  note_->setVisible(false);
  layout->addWidget(note_);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->setObjectName("connectivity_splitter");
  heatmap_ = new HeatmapPlot(split);
  heatmap_->setObjectName("connectivity_heatmap");
  heatmap_->setMinimumSize(320, 260);
  curve_ = new QCustomPlot(split);
  curve_->setObjectName("connectivity_curve");
  curve_->setMinimumSize(320, 260);
  split->addWidget(heatmap_);
  split->addWidget(curve_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  split->setSizes({1000, 1000});  // half each, whatever the size hints
  layout->addWidget(split, 1);

  connect(run_, &QPushButton::clicked, this, &LandscapeView::run_requested);
  connect(metric_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(heatmap_, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
    if (e->button() != Qt::LeftButton || !heatmap_->axisRect()->rect().contains(e->pos())) return;
    const int col = static_cast<int>(std::lround(heatmap_->xAxis->pixelToCoord(e->pos().x())));
    const int row = static_cast<int>(std::lround(heatmap_->yAxis->pixelToCoord(e->pos().y())));
    if (row != col) select_pair(row, col);
  });
  for (QCustomPlot* plot : {static_cast<QCustomPlot*>(heatmap_), curve_})
    install_export_menu(plot, this,
                        [this](QCustomPlot* p, bool data) { emit export_requested(p, data); });
  set_result(std::nullopt);
  set_message(tr("Include two or more adapters, then run the sweeps."));
}

SweepRange LandscapeView::range() const {
  SweepRange r;
  r.alpha_min = alpha_min_->value();
  r.alpha_max = alpha_max_->value();
  r.intervals = intervals_->value();
  return r;
}

void LandscapeView::set_range(const SweepRange& r) {
  alpha_min_->setValue(r.alpha_min);
  alpha_max_->setValue(r.alpha_max);
  intervals_->setValue(r.intervals);
}

bool LandscapeView::include_base() const {
  return base_->isChecked();
}

std::string LandscapeView::metric() const {
  return metric_->currentData().toString().toStdString();
}

void LandscapeView::set_metric(const std::string& which) {
  const int i = metric_->findData(QString::fromStdString(which));
  if (i >= 0) metric_->setCurrentIndex(i);
}

void LandscapeView::set_message(const QString& text) {
  message_->setText(text);
}

void LandscapeView::set_note(const QString& text) {
  note_->setText(text);
  note_->setVisible(!text.isEmpty());
}

QString LandscapeView::note() const {
  return note_->text();
}

void LandscapeView::set_result(std::optional<ConnectivityResult> result) {
  result_ = std::move(result);
  if (result_) {
    const size_t n = result_->labels.size();
    set_message(tr("%1 models, %2 pairs × %3 points")
                    .arg(n)
                    .arg(ConnectivityResult::pair_count(n))
                    .arg(result_->alphas.size()));
    if (!result_->alphas.empty() && result_->alphas.size() > 1) {
      SweepRange r;
      r.alpha_min = result_->alphas.front();
      r.alpha_max = result_->alphas.back();
      r.intervals = static_cast<int>(result_->alphas.size()) - 1;
      const QSignalBlocker b1(alpha_min_), b2(alpha_max_), b3(intervals_);
      set_range(r);
    }
  }
  refresh();
  if (!result_ || !select_pair(sel_i_, sel_j_)) {
    if (!result_ || !select_pair(0, 1)) {
      sel_i_ = sel_j_ = -1;
      draw_curve(curve_, Curve{});
      set_empty_hint(curve_, tr("The loss curve of a pair appears here: run the sweeps, then "
                                "click a cell of the heatmap."));
      curve_->replot();
    }
  }
}

void LandscapeView::show_partial(const ConnectivityResult& partial) {
  result_ = partial;
  const size_t total = ConnectivityResult::pair_count(partial.labels.size());
  set_message(tr("%1 of %2 pairs done").arg(partial.curves.size()).arg(total));
  refresh();
  if (sel_i_ < 0 || !select_pair(sel_i_, sel_j_)) select_pair(0, 1);
  emit partial_shown(static_cast<int>(partial.curves.size()));
}

void LandscapeView::refresh() {
  if (!result_ || result_->labels.size() < 2) {
    heatmap_->set_title(QString());
    heatmap_->set_matrix(PairwiseMatrix{metric(), {}, Eigen::MatrixXd(0, 0)});
    set_empty_hint(heatmap_, tr("Run the sweeps (Run sweeps above) to fill this heatmap with "
                                "the connectivity of every pair of included adapters."));
    return;
  }
  set_empty_hint(heatmap_, QString());
  const PairwiseMatrix m = result_->matrix(metric());
  double top = 0;
  for (Eigen::Index i = 0; i < m.values.size(); ++i)
    if (std::isfinite(m.values.data()[i])) top = std::max(top, std::abs(m.values.data()[i]));
  if (top <= 0) top = 1e-3;
  heatmap_->set_title(metric_title(metric()));
  // Every metric here is ≥ 0: barriers are maxima of (loss − chord) over a path that includes
  // its ends, the convexity gap the largest rise above the lower convex hull (Juneja et al.
  // 2022). So a sequential scale from 0, as the report's figure (issue 11, point 6).
  heatmap_->set_matrix(m, 0.0, top);
}

bool LandscapeView::select_pair(int i, int j) {
  if (!result_ || i < 0 || j < 0 || i == j) return false;
  const auto n = static_cast<int>(result_->labels.size());
  if (i >= n || j >= n) return false;
  const Curve* c = result_->curve(static_cast<size_t>(i), static_cast<size_t>(j));
  if (!c) return false;
  sel_i_ = i;
  sel_j_ = j;
  set_empty_hint(curve_, QString());
  draw_curve(curve_, *c);
  apply_plot_theme(curve_, theme_);
  curve_->replot();
  return true;
}

const Curve* LandscapeView::selected_curve() const {
  if (!result_ || sel_i_ < 0) return nullptr;
  return result_->curve(static_cast<size_t>(sel_i_), static_cast<size_t>(sel_j_));
}

void LandscapeView::apply_theme(Theme t) {
  theme_ = t;
  apply_plot_theme(heatmap_, t);
  apply_plot_theme(curve_, t);
  heatmap_->replot();
  curve_->replot();
}

bool LandscapeView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out,
                                 QString* stem) const {
  if (plot == heatmap_) {
    *stem = QStringLiteral("connectivity");
    if (!result_) return true;
    *out = QByteArray::fromStdString(json ? result_->to_json().dump(2) + "\n"
                                          : result_->matrix(metric()).to_csv());
    return true;
  }
  if (plot == curve_) {
    *stem = QStringLiteral("connectivity-curve");
    if (const Curve* c = selected_curve())
      *out = QByteArray::fromStdString(json ? c->to_json().dump(2) + "\n" : c->to_csv());
    return true;
  }
  return false;
}

}  // namespace basin::ui
