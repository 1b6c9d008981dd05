#include "gates_view.h"

#include <qcustomplot.h>
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
#include "heatmap_plot.h"
#include "view_support.h"

namespace basin::ui {

GatesView::GatesView(QWidget* parent) : QWidget(parent), theme_(Theme::Light) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);
  auto* bar = new QHBoxLayout;
  const auto label = [&](const QString& text) { bar->addWidget(new QLabel(text, this)); };
  label(tr("Gate:"));
  kind_ = new QComboBox(this);
  kind_->setObjectName("gate_kind");
  kind_->addItem(tr("MoLE (learned, per token)"), "mole");
  kind_->addItem(tr("Router (MoA, per sequence)"), "moa");
  kind_->addItem(tr("Arrow (no training)"), "arrow");
  bar->addWidget(kind_);
  label(tr("per"));
  granularity_ = new QComboBox(this);
  granularity_->setObjectName("gate_granularity");
  granularity_->addItem(tr("projection"), "module");
  granularity_->addItem(tr("block"), "block");
  bar->addWidget(granularity_);
  label(tr("τ"));
  temperature_ = new QDoubleSpinBox(this);
  temperature_->setObjectName("gate_temperature");
  temperature_->setRange(0.01, 100.0);
  temperature_->setDecimals(2);
  temperature_->setValue(1.0);
  temperature_->setToolTip(tr("Temperature of the gate softmax"));
  bar->addWidget(temperature_);
  label(tr("α"));
  alpha_ = new QDoubleSpinBox(this);
  alpha_->setObjectName("gate_alpha");
  alpha_->setRange(0.0, 10.0);
  alpha_->setDecimals(3);
  alpha_->setSingleStep(0.005);
  alpha_->setValue(0.01);
  alpha_->setToolTip(tr("Weight of the gating-balance loss −Σ log q_i (MoLE)"));
  bar->addWidget(alpha_);
  label(tr("steps"));
  steps_ = new QSpinBox(this);
  steps_->setObjectName("gate_steps");
  steps_->setRange(1, 1000000);
  steps_->setValue(100);
  bar->addWidget(steps_);
  label(tr("top-k"));
  top_k_ = new QSpinBox(this);
  top_k_->setObjectName("gate_top_k");
  top_k_->setRange(1, 64);
  top_k_->setValue(2);
  top_k_->setToolTip(tr("Arrow: experts per token; router: 1 = pick one adapter"));
  bar->addWidget(top_k_);
  label(tr("train on"));
  limit_ = new QSpinBox(this);
  limit_->setObjectName("gate_train_limit");
  limit_->setRange(0, 1000000);
  limit_->setSpecialValueText(tr("all"));
  limit_->setValue(200);
  limit_->setSuffix(tr(" / task"));
  bar->addWidget(limit_);
  run_ = new QPushButton(tr("Train gate"), this);
  run_->setObjectName("run_gate");
  bar->addWidget(run_);
  save_ = new QPushButton(tr("Save gate…"), this);
  save_->setObjectName("save_gate");
  save_->setEnabled(false);
  bar->addWidget(save_);
  bar->addStretch(1);
  layout->addLayout(bar);
  auto* info = new QHBoxLayout;
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  info->addWidget(message_, 1);
  info->addWidget(new QLabel(tr("Show:"), this));
  usage_ = new QComboBox(this);
  usage_->setObjectName("gate_usage");
  info->addWidget(usage_);
  layout->addLayout(info);

  auto* split = new QSplitter(Qt::Horizontal, this);
  loss_ = new QCustomPlot(split);
  loss_->setObjectName("gate_loss");
  loss_->setMinimumSize(280, 220);
  loss_->xAxis->setLabel(tr("step"));
  loss_->yAxis->setLabel(tr("training loss"));
  loss_->addGraph();
  heatmap_ = new HeatmapPlot(split);
  heatmap_->setObjectName("gate_heatmap");
  heatmap_->setMinimumSize(320, 260);
  split->addWidget(loss_);
  split->addWidget(heatmap_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  layout->addWidget(split, 1);

  connect(run_, &QPushButton::clicked, this, &GatesView::run_requested);
  connect(save_, &QPushButton::clicked, this, &GatesView::save_requested);
  connect(kind_, &QComboBox::currentIndexChanged, this, [this] { update_controls(); });
  connect(usage_, &QComboBox::currentIndexChanged, this, [this](int i) { show_usage(i); });
  for (QCustomPlot* p : {loss_, static_cast<QCustomPlot*>(heatmap_)})
    install_export_menu(
        p, this, [this](QCustomPlot* plot, bool data) { emit export_requested(plot, data); });
  update_controls();
  set_result(std::nullopt);
}

void GatesView::update_controls() {
  const QString k = kind_->currentData().toString();
  granularity_->setEnabled(k == "mole");
  alpha_->setEnabled(k == "mole");
  steps_->setEnabled(k != "arrow");
  limit_->setEnabled(k != "arrow");
  top_k_->setEnabled(k != "mole");
  run_->setText(k == "arrow" ? tr("Build gate") : tr("Train gate"));
}

GateViewOptions GatesView::options() const {
  GateViewOptions o;
  o.kind = kind_->currentData().toString().toStdString();
  o.granularity = granularity_->currentData().toString().toStdString();
  o.temperature = temperature_->value();
  o.balance_alpha = alpha_->value();
  o.steps = steps_->value();
  o.top_k = top_k_->value();
  o.train_limit = limit_->value();
  return o;
}

void GatesView::set_options(const GateViewOptions& o) {
  kind_->setCurrentIndex(std::max(0, kind_->findData(QString::fromStdString(o.kind))));
  granularity_->setCurrentIndex(
      std::max(0, granularity_->findData(QString::fromStdString(o.granularity))));
  temperature_->setValue(o.temperature);
  alpha_->setValue(o.balance_alpha);
  steps_->setValue(o.steps);
  top_k_->setValue(o.top_k);
  limit_->setValue(o.train_limit);
}

void GatesView::begin_training(const QString& kind) {
  loss_->graph(0)->data()->clear();
  loss_->xAxis->setRange(0, std::max(1, steps_->value()));
  loss_->yAxis->setRange(0, 1);
  set_empty_hint(loss_, QString());
  loss_->replot();
  set_message(tr("Training the %1 gate…").arg(kind));
}

void GatesView::add_loss(int step, double loss) {
  if (!std::isfinite(loss)) return;
  loss_->graph(0)->addData(step + 1, loss);
  bool found = false;
  const QCPRange r = loss_->graph(0)->getValueRange(found);
  if (found) loss_->yAxis->setRange(std::min(0.0, r.lower), r.upper * 1.05 + 1e-9);
  loss_->xAxis->setRange(0, std::max<double>(steps_->value(), step + 1));
  loss_->replot(QCustomPlot::rpQueuedReplot);
}

void GatesView::set_result(std::optional<GateStats> stats) {
  result_ = std::move(stats);
  const QSignalBlocker block(usage_);
  usage_->clear();
  if (!result_) {
    heatmap_->set_title(QString());
    heatmap_->set_grid(PairwiseMatrix{"gate weight", {}, Eigen::MatrixXd(0, 0)}, {}, 0.0, 1.0);
    set_empty_hint(heatmap_, tr("Train a gate (above) to see which adapter each task uses."));
    if (loss_->graph(0)->dataCount() == 0)
      set_empty_hint(loss_, tr("The gate's training loss is drawn here while it trains."));
    set_message(
        tr("Train a gate over the included adapters: which adapter does each task "
           "really use? MoLE learns a gate per projection, the router learns task "
           "labels, Arrow routes by each adapter's top singular direction."));
    return;
  }
  set_empty_hint(heatmap_, QString());
  if (!result_->losses.empty()) set_empty_hint(loss_, QString());
  if (loss_->graph(0)->dataCount() == 0 && !result_->losses.empty()) {
    for (size_t i = 0; i < result_->losses.size(); ++i)
      loss_->graph(0)->addData(double(i + 1), result_->losses[i]);
    loss_->rescaleAxes();
    loss_->replot();
  }
  for (const auto& l : result_->usage_labels)
    usage_->addItem(QString::fromStdString(l == "all" ? "all sites" : l));
  show_usage(0);
  QString text = tr("%1 gate over %2 experts: %3 trainable parameters, %4 s")
                     .arg(QString::fromStdString(result_->kind))
                     .arg(result_->experts.size())
                     .arg(result_->trainable_parameters)
                     .arg(result_->train_seconds, 0, 'f', 1);
  QStringList acc;
  for (size_t t = 0; t < result_->routing_accuracy.size() && t < result_->tasks.size(); ++t)
    if (std::isfinite(result_->routing_accuracy[t]))
      acc << QString("%1 %2")
                 .arg(QString::fromStdString(result_->tasks[t]))
                 .arg(result_->routing_accuracy[t], 0, 'f', 2);
  if (!acc.isEmpty()) text += tr("\nrouting accuracy: ") + acc.join(", ");
  set_message(text);
}

void GatesView::show_usage(int index) {
  if (!result_ || index < 0 || index >= static_cast<int>(result_->usage.size())) return;
  PairwiseMatrix m;
  m.metric = result_->kind == "moa" ? "share of prompts" : "mean gate weight";
  m.labels = result_->tasks;
  m.values = result_->usage[static_cast<size_t>(index)];
  heatmap_->set_title(
      result_->kind == "moa"
          ? tr("Router confusion: task (rows) → adapter (columns)")
          : tr("Which adapter each task uses — %1")
                .arg(QString::fromStdString(result_->usage_labels[static_cast<size_t>(index)])));
  heatmap_->set_grid(m, result_->experts, 0.0, 1.0);
  apply_plot_theme(heatmap_, theme_);
  heatmap_->replot();
}

void GatesView::set_gate_ready(bool ready) {
  gate_ready_ = ready;
  save_->setEnabled(ready);
}

void GatesView::set_message(const QString& text) {
  message_->setText(text);
}

void GatesView::apply_theme(Theme t) {
  theme_ = t;
  for (QCustomPlot* p : {loss_, static_cast<QCustomPlot*>(heatmap_)}) {
    apply_plot_theme(p, t);
    p->replot();
  }
}

bool GatesView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const {
  if (plot != loss_ && plot != heatmap_) return false;
  *stem = plot == loss_ ? QStringLiteral("gate-loss") : QStringLiteral("gate-usage");
  if (result_)
    *out = QByteArray::fromStdString(json ? result_->to_json().dump(2) + "\n" : result_->to_csv());
  return true;
}

}  // namespace basin::ui
