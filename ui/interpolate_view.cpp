#include "interpolate_view.h"

#include <qcustomplot.h>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "eval_setup_form.h"
#include "figures.h"
#include "view_support.h"

namespace basin::ui {
namespace {

// The slider moves in hundredths of α over the sweep's allowed range, −0.5 … 1.5.
constexpr int kSliderMin = -50, kSliderMax = 150;
// Long enough to skip the positions a drag passes through, short enough to feel live.
constexpr int kDebounceMs = 120;

// Merge methods offered as endpoints: the two a teacher contrasts first, then the plain ones.
const char* const kMergeMethods[] = {"ties", "svd", "linear", "task_arithmetic", "dare_ties"};

void fill_box(QComboBox* box, const QStringList& adapters, bool has_merge_result) {
  const QString keep = box->currentData().toString();
  const QSignalBlocker block(box);
  box->clear();
  box->addItem(QObject::tr("base model"), "base");
  for (const QString& a : adapters)
    box->addItem(a, "adapter:" + a);
  if (has_merge_result) box->addItem(QObject::tr("merge: Merge view result"), "merge:view");
  if (adapters.size() >= 2)
    for (const char* m : kMergeMethods)
      box->addItem(QObject::tr("merge: %1").arg(m), QString("merge:") + m);
  const int i = box->findData(keep);
  box->setCurrentIndex(i >= 0 ? i : -1);
}

}  // namespace

InterpolateView::InterpolateView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("A (α = 1):"), this));
  a_ = new QComboBox(this);
  a_->setObjectName("interpolate_a");
  a_->setMinimumContentsLength(14);
  bar->addWidget(a_);
  bar->addWidget(new QLabel(tr("B (α = 0):"), this));
  b_ = new QComboBox(this);
  b_->setObjectName("interpolate_b");
  b_->setMinimumContentsLength(14);
  bar->addWidget(b_);
  bar->addWidget(new QLabel(tr("grid"), this));
  intervals_ = new QSpinBox(this);
  intervals_->setObjectName("interpolate_intervals");
  intervals_->setRange(2, 200);
  intervals_->setValue(20);
  intervals_->setToolTip(tr("Intervals of the loss curve over α = −0.5 … 1.5"));
  bar->addWidget(intervals_);
  run_ = new QPushButton(tr("Compute loss curve"), this);
  run_->setObjectName("run_interpolate");
  bar->addWidget(run_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  bar->addWidget(message_, 1);
  layout->addLayout(bar);

  auto* slider_bar = new QHBoxLayout;
  slider_bar->addWidget(new QLabel(tr("α"), this));
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName("interpolate_alpha");
  slider_->setRange(kSliderMin, kSliderMax);
  slider_->setValue(50);
  slider_->setTickPosition(QSlider::TicksBelow);
  slider_->setTickInterval(25);
  slider_->setPageStep(10);
  slider_bar->addWidget(slider_, 1);
  alpha_label_ = new QLabel(this);
  alpha_label_->setMinimumWidth(220);
  slider_bar->addWidget(alpha_label_);
  layout->addLayout(slider_bar);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->setObjectName("interpolate_splitter");
  plot_ = new QCustomPlot(split);
  plot_->setObjectName("interpolate_curve");
  plot_->setMinimumSize(320, 260);
  table_ = new QTableWidget(0, 4, split);
  table_->setObjectName("interpolate_answers");
  // The answer first: it is what moves with the slider.
  table_->setHorizontalHeaderLabels({tr("task"), tr("answer"), tr("reference"), tr("prompt")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setWordWrap(false);
  split->addWidget(plot_);
  split->addWidget(table_);
  split->setSizes({1100, 900});
  layout->addWidget(split, 1);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(kDebounceMs);
  connect(slider_, &QSlider::valueChanged, this, [this] {
    update_marker();
    debounce_->start();
  });
  connect(debounce_, &QTimer::timeout, this, [this] { emit alpha_changed(alpha()); });
  for (QComboBox* box : {a_, b_})
    connect(box, &QComboBox::currentIndexChanged, this, [this] {
      set_curve(std::nullopt);
      emit pair_changed();
    });
  connect(intervals_, &QSpinBox::valueChanged, this, [this] { set_curve(std::nullopt); });
  connect(run_, &QPushButton::clicked, this, &InterpolateView::run_requested);
  install_export_menu(plot_, this,
                      [this](QCustomPlot* p, bool data) { emit export_requested(p, data); });
  set_choices({}, false);
  set_curve(std::nullopt);
  set_message(tr("Pick two endpoints, compute the loss curve, then move α."));
}

void InterpolateView::set_choices(const QStringList& adapters, bool has_merge_result) {
  const QString a = endpoint_a(), b = endpoint_b();
  fill_box(a_, adapters, has_merge_result);
  fill_box(b_, adapters, has_merge_result);
  // A fresh set: the first adapter against the base model.
  if (a_->currentIndex() < 0) a_->setCurrentIndex(a_->count() > 1 ? 1 : 0);
  if (b_->currentIndex() < 0) b_->setCurrentIndex(0);
  if (endpoint_a() != a || endpoint_b() != b) {
    set_curve(std::nullopt);
    emit pair_changed();
  }
}

QString InterpolateView::endpoint_a() const {
  return a_->currentData().toString();
}

QString InterpolateView::endpoint_b() const {
  return b_->currentData().toString();
}

bool InterpolateView::set_endpoints(const QString& a, const QString& b) {
  const int ia = a_->findData(a), ib = b_->findData(b);
  if (ia < 0 || ib < 0) return false;
  if (ia == a_->currentIndex() && ib == b_->currentIndex()) return true;
  {
    const QSignalBlocker block_a(a_), block_b(b_);  // one change of pair, not two
    a_->setCurrentIndex(ia);
    b_->setCurrentIndex(ib);
  }
  set_curve(std::nullopt);
  emit pair_changed();
  return true;
}

SweepRange InterpolateView::range() const {
  SweepRange r;
  r.alpha_min = kSliderMin / 100.0;
  r.alpha_max = kSliderMax / 100.0;
  r.intervals = intervals_->value();
  return r;
}

void InterpolateView::set_intervals(int intervals) {
  intervals_->setValue(intervals);
}

double InterpolateView::alpha() const {
  return slider_->value() / 100.0;
}

void InterpolateView::set_alpha(double alpha) {
  slider_->setValue(static_cast<int>(std::lround(alpha * 100.0)));
}

void InterpolateView::set_curve(std::optional<Curve> curve) {
  curve_ = std::move(curve);
  draw_curve(plot_, curve_ ? *curve_ : Curve{});
  // draw_curve clears the items: the marker is made again on top of the new curve.
  marker_ = nullptr;
  marker_text_ = nullptr;
  if (curve_ && !curve_->alpha.empty()) {
    marker_ = new QCPItemStraightLine(plot_);
    marker_->setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.6));
    marker_text_ = new QCPItemText(plot_);
    marker_text_->setProperty("basin_cell", true);  // its own colours under every theme
    marker_text_->setPositionAlignment(Qt::AlignTop | Qt::AlignLeft);
    marker_text_->position->setType(QCPItemPosition::ptAxisRectRatio);
    marker_text_->setColor(QColor(0xd6, 0x27, 0x28));
    marker_text_->setBrush(QBrush(QColor(255, 255, 255, 200)));
    marker_text_->setPadding(QMargins(3, 1, 3, 1));
    set_empty_hint(plot_, QString());
  } else {
    set_empty_hint(plot_, tr("Compute the loss curve (above) for the two endpoints; then the "
                             "slider moves a marker along it and the answers follow."));
  }
  apply_plot_theme(plot_, theme_);
  update_marker();
}

double InterpolateView::loss_at(double alpha) const {
  if (!curve_ || curve_->alpha.size() < 2) return std::nan("");
  const auto& x = curve_->alpha;
  const auto& y = curve_->loss;
  if (alpha < x.front() - 1e-12 || alpha > x.back() + 1e-12) return std::nan("");
  for (size_t i = 0; i + 1 < x.size(); ++i)
    if (alpha <= x[i + 1] + 1e-12) {
      const double t = (alpha - x[i]) / (x[i + 1] - x[i]);
      return (1 - t) * y[i] + t * y[i + 1];
    }
  return y.back();
}

void InterpolateView::update_marker() {
  const double a = alpha();
  alpha_label_->setText(tr("α = %1   (%2·A + %3·B)")
                            .arg(format_fixed(a, 2), format_fixed(a, 2), format_fixed(1 - a, 2)));
  if (marker_) {
    marker_->point1->setCoords(a, 0);
    marker_->point2->setCoords(a, 1);
    const double loss = loss_at(a);
    marker_text_->position->setCoords(
        std::clamp((a - plot_->xAxis->range().lower) / plot_->xAxis->range().size(), 0.0, 0.8) +
            0.01,
        0.02);
    marker_text_->setText(tr("α = %1\nloss ≈ %2").arg(format_fixed(a, 2), format_value(loss, 4)));
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void InterpolateView::set_answers(double alpha, const std::vector<InterpolateAnswer>& answers) {
  answers_alpha_ = alpha;
  table_->setRowCount(static_cast<int>(answers.size()));
  for (int r = 0; r < static_cast<int>(answers.size()); ++r) {
    const auto& a = answers[static_cast<size_t>(r)];
    const QString cells[] = {QString::fromStdString(a.task), QString::fromStdString(a.answer),
                             QString::fromStdString(a.reference), QString::fromStdString(a.prompt)};
    for (int c = 0; c < 4; ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      item->setToolTip(cells[c]);
      // A right answer stands out (exact match after trimming, as the task metrics read it).
      if (c == 1 && a.answer == a.reference) item->setForeground(QColor(0x2c, 0xa0, 0x2c));
      table_->setItem(r, c, item);
    }
  }
  // Long prompts are cut to a readable width (the tooltip holds the whole text).
  table_->resizeColumnsToContents();
  table_->setColumnWidth(1, std::min(220, table_->columnWidth(1)));
  table_->setColumnWidth(2, std::min(180, table_->columnWidth(2)));
  set_message(tr("Answers at α = %1").arg(format_fixed(alpha, 2)));
  emit answers_shown(alpha);
}

int InterpolateView::answer_count() const {
  return table_->rowCount();
}

QString InterpolateView::answer_text(int row) const {
  const auto* item = table_->item(row, 1);
  return item ? item->text() : QString();
}

void InterpolateView::set_message(const QString& text) {
  message_->setText(text);
}

void InterpolateView::apply_theme(Theme t) {
  theme_ = t;
  apply_plot_theme(plot_, t);
  plot_->replot();
}

bool InterpolateView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out,
                                   QString* stem) const {
  if (plot != plot_) return false;
  *stem = QStringLiteral("interpolate");
  if (curve_)
    *out = QByteArray::fromStdString(json ? curve_->to_json().dump(2) + "\n" : curve_->to_csv());
  return true;
}

}  // namespace basin::ui
