#include "cka_view.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "eval_setup_form.h"
#include "heatmap_plot.h"
#include "view_support.h"

namespace basin::ui {

CkaView::CkaView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Inputs N:"), this));
  inputs_ = new QSpinBox(this);
  inputs_->setObjectName("cka_inputs");
  inputs_->setRange(4, 100000);  // the debiased estimator needs N ≥ 4
  inputs_->setValue(512);
  bar->addWidget(inputs_);
  bar->addWidget(new QLabel(tr("seed:"), this));
  seed_ = new QSpinBox(this);
  seed_->setObjectName("cka_seed");
  seed_->setRange(0, 1000000);
  bar->addWidget(seed_);
  bar->addWidget(new QLabel(tr("layer:"), this));
  layer_ = new QSpinBox(this);
  layer_->setObjectName("cka_layer");
  layer_->setRange(-1, 1000);
  layer_->setValue(-1);
  layer_->setSpecialValueText(tr("last"));
  layer_->setToolTip(tr("Hidden state after this many decoder layers (0 = embeddings)"));
  bar->addWidget(layer_);
  debiased_ = new QCheckBox(tr("debiased"), this);
  debiased_->setObjectName("cka_debiased");
  debiased_->setToolTip(tr("Unbiased HSIC estimator (Song et al. 2012)"));
  bar->addWidget(debiased_);
  run_ = new QPushButton(tr("Run CKA"), this);
  run_->setObjectName("run_cka");
  bar->addWidget(run_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);  // a long result line wraps instead of widening the window
  bar->addWidget(message_, 1);
  layout->addLayout(bar);

  auto* split = new QSplitter(Qt::Horizontal, this);
  heatmap_ = new HeatmapPlot(split);
  heatmap_->setObjectName("cka_heatmap");
  heatmap_->setMinimumSize(320, 260);
  table_ = new QTableWidget(split);
  table_->setObjectName("cka_table");
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  split->addWidget(heatmap_);
  split->addWidget(table_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  connect(run_, &QPushButton::clicked, this, &CkaView::run_requested);
  install_export_menu(heatmap_, this,
                      [this](QCustomPlot* p, bool data) { emit export_requested(p, data); });
  set_result(std::nullopt);
  set_message(tr("CKA of the base model and every included adapter."));
}

CkaOptions CkaView::options() const {
  CkaOptions o;
  o.inputs = static_cast<size_t>(inputs_->value());
  o.seed = static_cast<uint64_t>(seed_->value());
  o.layer = layer_->value();
  o.debiased = debiased_->isChecked();
  return o;
}

void CkaView::set_options(const CkaOptions& o) {
  inputs_->setValue(static_cast<int>(o.inputs));
  seed_->setValue(static_cast<int>(o.seed));
  layer_->setValue(o.layer);
  debiased_->setChecked(o.debiased);
}

void CkaView::set_result(std::optional<PairwiseMatrix> result) {
  result_ = std::move(result);
  if (!result_) {
    heatmap_->set_title(QString());
    heatmap_->set_matrix(PairwiseMatrix{"cka", {}, Eigen::MatrixXd(0, 0)});
    table_->clear();
    table_->setRowCount(0);
    table_->setColumnCount(0);
    set_empty_hint(heatmap_, tr("Run CKA (above) to compare the representations of the base "
                                "model and every included adapter."));
    return;
  }
  set_empty_hint(heatmap_, QString());
  heatmap_->set_title(result_->metric == "cka_debiased" ? tr("Debiased linear CKA")
                                                        : tr("Linear CKA"));
  heatmap_->set_matrix(*result_, 0.0, 1.0);
  fill_matrix_table(table_, *result_);
  set_message(tr("%1 models").arg(result_->labels.size()));
}

void CkaView::set_message(const QString& text) {
  message_->setText(text);
}

void CkaView::apply_theme(Theme t) {
  apply_plot_theme(heatmap_, t);
  heatmap_->replot();
}

bool CkaView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const {
  if (plot != heatmap_) return false;
  *stem = QStringLiteral("cka");
  if (result_)
    *out = QByteArray::fromStdString(json ? result_->to_json().dump(2) + "\n" : result_->to_csv());
  return true;
}

}  // namespace basin::ui
