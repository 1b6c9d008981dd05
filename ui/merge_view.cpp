#include "merge_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace basin::ui {

MergeView::MergeView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  auto* form_box = new QGroupBox(tr("Recipe"), this);
  auto* form = new QFormLayout(form_box);
  method_ = new QComboBox(form_box);
  method_->setObjectName("merge_method");
  for (const auto& m : method_names())
    method_->addItem(QString::fromStdString(m));
  method_->setCurrentText("svd");
  form->addRow(tr("Method"), method_);
  weights_ = new QLabel(form_box);
  weights_->setWordWrap(true);
  form->addRow(tr("Weights"), weights_);
  rank_ = new QSpinBox(form_box);
  rank_->setObjectName("merge_rank");
  rank_->setRange(0, 65536);
  rank_->setSpecialValueText(tr("default"));
  rank_->setToolTip(tr("Target rank; default: max r_i for svd, Σ r_i for the others"));
  form->addRow(tr("Rank"), rank_);
  density_ = new QDoubleSpinBox(form_box);
  density_->setObjectName("merge_density");
  density_->setRange(0.001, 1.0);
  density_->setDecimals(3);
  density_->setSingleStep(0.05);
  density_->setValue(0.2);
  density_->setToolTip(tr("Fraction of entries kept by ties / dare / magnitude_prune"));
  form->addRow(tr("Density"), density_);
  sign_ = new QComboBox(form_box);
  sign_->addItems({"total", "frequency"});
  form->addRow(tr("Majority sign"), sign_);
  seed_ = new QSpinBox(form_box);
  seed_->setRange(0, 1 << 30);
  form->addRow(tr("DARE seed"), seed_);
  auto* clamp_row = new QHBoxLayout;
  clamp_on_ = new QCheckBox(form_box);
  clamp_ = new QDoubleSpinBox(form_box);
  clamp_->setRange(0.5, 1.0);
  clamp_->setDecimals(3);
  clamp_->setValue(0.99);
  clamp_row->addWidget(clamp_on_);
  clamp_row->addWidget(clamp_, 1);
  form->addRow(tr("Clamp quantile"), clamp_row);
  peft_compat_ = new QCheckBox(tr("Reproduce PEFT add_weighted_adapter"), form_box);
  peft_compat_->setObjectName("merge_peft_compat");
  form->addRow(tr("PEFT-compat"), peft_compat_);
  run_ = new QPushButton(tr("Run merge"), form_box);
  run_->setObjectName("merge_run");
  run_->setDefault(true);
  form->addRow(run_);
  form_box->setMaximumWidth(380);
  layout->addWidget(form_box);

  auto* result_box = new QGroupBox(tr("Result"), this);
  auto* rl = new QVBoxLayout(result_box);
  summary_ = new QLabel(tr("No merge yet."), result_box);
  summary_->setObjectName("merge_summary");
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  rl->addWidget(summary_);
  table_ = new QTableWidget(0, 4, result_box);
  table_->setObjectName("merge_table");
  table_->setHorizontalHeaderLabels({tr("Module"), tr("Shape"), tr("Rank"), tr("‖ΔW‖_F")});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setWordWrap(false);
  table_->verticalHeader()->setDefaultSectionSize(22);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  rl->addWidget(table_, 1);
  auto* buttons = new QHBoxLayout;
  save_ = new QPushButton(tr("Save as PEFT folder…"), result_box);
  save_->setObjectName("merge_save");
  add_ = new QPushButton(tr("Add to set"), result_box);
  add_->setObjectName("merge_add");
  buttons->addWidget(save_);
  buttons->addWidget(add_);
  buttons->addStretch(1);
  rl->addLayout(buttons);
  layout->addWidget(result_box, 1);

  connect(run_, &QPushButton::clicked, this, &MergeView::run_requested);
  connect(save_, &QPushButton::clicked, this, &MergeView::save_requested);
  connect(add_, &QPushButton::clicked, this, &MergeView::add_to_set_requested);
  connect(method_, &QComboBox::currentIndexChanged, this, [this] { update_enabled(); });
  connect(clamp_on_, &QCheckBox::toggled, this, [this] { update_enabled(); });
  update_enabled();
}

MergeRecipe MergeView::recipe() const {
  MergeRecipe r;
  r.method = parse_method(method_->currentText().toStdString());
  r.rank = rank_->value();
  r.density = uses_density(r.method) ? density_->value() : 1.0;
  r.majority_sign = parse_majority_sign(sign_->currentText().toStdString());
  r.seed = static_cast<uint64_t>(seed_->value());
  if (clamp_on_->isChecked() &&
      (r.method == MergeMethod::Svd || r.method == MergeMethod::TaskArithmetic ||
       is_peft_svd_variant(r.method)))
    r.clamp = clamp_->value();
  r.peft_compat = peft_compat_->isChecked();
  return r;
}

void MergeView::set_recipe(const MergeRecipe& r) {
  method_->setCurrentText(method_name(r.method));
  rank_->setValue(static_cast<int>(r.rank));
  if (uses_density(r.method)) density_->setValue(r.density);
  sign_->setCurrentText(majority_sign_name(r.majority_sign));
  seed_->setValue(static_cast<int>(r.seed));
  clamp_on_->setChecked(r.clamp.has_value());
  if (r.clamp) clamp_->setValue(*r.clamp);
  peft_compat_->setChecked(r.peft_compat);
}

void MergeView::set_weights_text(const QString& text) {
  weights_->setText(text);
}

void MergeView::update_enabled() {
  const auto m = parse_method(method_->currentText().toStdString());
  const auto base = base_method(m);  // ties_svd elects signs as ties does, and so on
  density_->setEnabled(uses_density(m));
  sign_->setEnabled(base == MergeMethod::Ties || base == MergeMethod::DareTies);
  seed_->setEnabled(base == MergeMethod::DareLinear || base == MergeMethod::DareTies);
  const bool clampable =
      m == MergeMethod::Svd || m == MergeMethod::TaskArithmetic || is_peft_svd_variant(m);
  clamp_on_->setEnabled(clampable);
  clamp_->setEnabled(clampable && clamp_on_->isChecked());
  rank_->setEnabled(m != MergeMethod::Cat && m != MergeMethod::Linear);
  save_->setEnabled(result_ != nullptr);
  add_->setEnabled(result_ != nullptr);
}

void MergeView::clear_result() {
  result_.reset();
  summary_->setText(tr("No merge yet."));
  table_->setRowCount(0);
  update_enabled();
}

void MergeView::show_result(std::shared_ptr<const Adapter> merged, const MergeRecord& rec) {
  result_ = std::move(merged);
  const auto norms = result_->delta_norms();
  summary_->setText(
      tr("<b>%1</b> of %2 adapters%3 — %4 modules, rank %5, ‖ΔW‖<sub>F</sub> = %6, %7 s%8")
          .arg(QString::fromStdString(method_name(rec.recipe.method)))
          .arg(rec.inputs.size())
          .arg(rec.recipe.peft_compat ? tr(" (PEFT-compat)") : QString())
          .arg(rec.modules)
          .arg(rec.rank_min == rec.rank_max ? QString::number(rec.rank_min)
                                            : QString("%1–%2").arg(rec.rank_min).arg(rec.rank_max))
          .arg(rec.delta_norm, 0, 'g', 5)
          .arg(rec.seconds, 0, 'f', 2)
          .arg(rec.saved_to.empty()
                   ? QString()
                   : tr("<br>saved to %1").arg(QString::fromStdString(rec.saved_to))));
  // --peft-compat notes: where PEFT's own add_weighted_adapter would differ (docs/MERGING.md §4).
  if (const auto it = result_->metadata.find("basin.merge.peft_notes");
      it != result_->metadata.end()) {
    QString notes;
    for (const auto& n : nlohmann::json::parse(it->second))
      notes += "<br>PEFT: " + QString::fromStdString(n.get<std::string>()).toHtmlEscaped();
    summary_->setText(summary_->text() + notes);
  }
  table_->setRowCount(static_cast<int>(result_->modules.size()));
  for (size_t i = 0; i < result_->modules.size(); ++i) {
    const auto& m = result_->modules[i];
    const int row = static_cast<int>(i);
    table_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(m.name)));
    table_->setItem(
        row, 1, new QTableWidgetItem(QString("%1×%2").arg(m.out_features()).arg(m.in_features())));
    table_->setItem(row, 2, new QTableWidgetItem(QString::number(m.rank())));
    table_->setItem(row, 3, new QTableWidgetItem(QString::number(norms[i], 'g', 6)));
  }
  update_enabled();
}

}  // namespace basin::ui
