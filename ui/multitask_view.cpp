#include "multitask_view.h"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "eval_setup_form.h"
#include "figures.h"
#include "view_support.h"

namespace basin::ui {

MultitaskView::MultitaskView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);

  auto* top = new QHBoxLayout;
  map_ = new QTableWidget(0, 2, this);
  map_->setObjectName("multitask_mapping");
  map_->setHorizontalHeaderLabels({tr("Adapter"), tr("Task")});
  map_->horizontalHeader()->setStretchLastSection(true);
  map_->verticalHeader()->setVisible(false);
  map_->setMaximumHeight(150);
  map_->setMinimumWidth(280);
  top->addWidget(map_, 2);

  auto* opts = new QGroupBox(tr("Methods"), this);
  auto* grid = new QGridLayout(opts);
  const MultitaskOptions defaults;
  int k = 0;
  for (const auto& m : defaults.methods) {
    auto* box = new QCheckBox(QString::fromStdString(m), opts);
    box->setObjectName("method_" + QString::fromStdString(m));
    box->setChecked(true);
    grid->addWidget(box, k / 4, k % 4);
    methods_.push_back(box);
    ++k;
  }
  // Learned and routed references (gates over the task adapters; trained per task count).
  for (const char* m : {"mole", "moa", "arrow"}) {
    auto* box = new QCheckBox(QString::fromLatin1(m), opts);
    box->setObjectName("method_" + QString::fromLatin1(m));
    box->setChecked(false);
    box->setToolTip(std::string(m) == "mole" ? tr("MoLE: a learned gate per projection (trains)")
                    : std::string(m) == "moa"
                        ? tr("Mixture-of-LoRAs router on task labels (trains)")
                        : tr("Arrow routing (no training)"));
    grid->addWidget(box, k / 4, k % 4);
    methods_.push_back(box);
    ++k;
  }
  const int row = (k + 3) / 4;
  counts_on_ = new QCheckBox(tr("task counts 2…n"), opts);
  counts_on_->setObjectName("multitask_counts");
  counts_on_->setChecked(true);
  counts_on_->setToolTip(tr("Repeat the study for the first 2, 3, …, n tasks"));
  grid->addWidget(counts_on_, row, 0, 1, 2);
  auto* split_row = new QHBoxLayout;
  split_row->addWidget(new QLabel(tr("score on"), opts));
  split_ = new QComboBox(opts);
  split_->setObjectName("multitask_split");
  split_->addItems({"test", "validation", "train"});
  split_row->addWidget(split_);
  split_row->addWidget(new QLabel(tr("limit"), opts));
  limit_ = new QSpinBox(opts);
  limit_->setObjectName("multitask_limit");
  limit_->setRange(0, 1000000);
  limit_->setSpecialValueText(tr("all"));
  limit_->setValue(32);
  split_row->addWidget(limit_);
  grid->addLayout(split_row, row, 2, 1, 2);
  top->addWidget(opts, 3);
  auto* run_col = new QVBoxLayout;
  run_ = new QPushButton(tr("Run study"), this);
  run_->setObjectName("run_multitask");
  run_col->addWidget(run_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  run_col->addWidget(message_);
  run_col->addStretch(1);
  top->addLayout(run_col, 2);
  layout->addLayout(top);

  auto* split = new QSplitter(Qt::Horizontal, this);
  bars_ = new QCustomPlot(split);
  bars_->setObjectName("multitask_bars");
  bars_->setMinimumSize(360, 240);
  counts_ = new QCustomPlot(split);
  counts_->setObjectName("multitask_counts_plot");
  counts_->setMinimumSize(280, 240);
  split->addWidget(bars_);
  split->addWidget(counts_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  connect(run_, &QPushButton::clicked, this, &MultitaskView::run_requested);
  for (QCustomPlot* plot : {bars_, counts_})
    install_export_menu(plot, this,
                        [this](QCustomPlot* p, bool data) { emit export_requested(p, data); });
  set_result(std::nullopt);
  set_message(tr("Each adapter is scored against the oracle: its own task's adapter."));
}

void MultitaskView::set_candidates(const QStringList& adapters, const QStringList& tasks) {
  // Keep what the user chose for adapters that are still there.
  std::map<QString, QString> previous;
  for (int r = 0; r < map_->rowCount(); ++r)
    if (auto* box = qobject_cast<QComboBox*>(map_->cellWidget(r, 1)))
      previous[map_->item(r, 0)->text()] = box->currentData().toString();
  const bool tasks_changed = tasks != tasks_;
  tasks_ = tasks;
  map_->setRowCount(static_cast<int>(adapters.size()));
  for (int r = 0; r < adapters.size(); ++r) {
    auto* item = new QTableWidgetItem(adapters[r]);
    item->setFlags(Qt::ItemIsEnabled);
    map_->setItem(r, 0, item);
    auto* box = new QComboBox(map_);
    box->addItem(tr("(not used)"), QString());
    for (const auto& t : tasks)
      box->addItem(t, t);
    auto it = previous.find(adapters[r]);
    const QString want = it != previous.end() && !tasks_changed
                             ? it->second
                             : (tasks.contains(adapters[r]) ? adapters[r] : QString());
    box->setCurrentIndex(std::max(0, box->findData(want)));
    map_->setCellWidget(r, 1, box);
  }
  map_->resizeColumnToContents(0);
}

QStringList MultitaskView::mapping() const {
  QStringList out;
  for (int r = 0; r < map_->rowCount(); ++r) {
    auto* box = qobject_cast<QComboBox*>(map_->cellWidget(r, 1));
    out << (box ? box->currentData().toString() : QString());
  }
  return out;
}

void MultitaskView::set_mapping(int adapter, const QString& task) {
  if (auto* box = qobject_cast<QComboBox*>(map_->cellWidget(adapter, 1)))
    box->setCurrentIndex(std::max(0, box->findData(task)));
}

MultitaskOptions MultitaskView::options(int n) const {
  MultitaskOptions o;
  o.methods.clear();
  for (auto* box : methods_)
    if (box->isChecked()) o.methods.push_back(box->text().toStdString());
  if (counts_on_->isChecked())
    for (int c = 2; c <= n; ++c)
      o.task_counts.push_back(c);
  o.split = split_->currentText().toStdString();
  o.limit = static_cast<size_t>(limit_->value());
  return o;
}

void MultitaskView::set_limit(int examples) {
  limit_->setValue(examples);
}

void MultitaskView::set_methods(const QStringList& methods) {
  for (auto* box : methods_)
    box->setChecked(methods.contains(box->text()));
}

void MultitaskView::set_task_counts(bool on) {
  counts_on_->setChecked(on);
}

void MultitaskView::set_result(std::optional<MultitaskResult> result) {
  result_ = std::move(result);
  if (result_ && !result_->tables.empty()) {
    draw_multitask_bars(bars_, *result_);
    draw_score_by_count(counts_, *result_);
    // The bars are relative to the oracle; where it scores 0 on every task there are none.
    bool any_oracle = false;
    for (const auto& r : result_->full().rows)
      if (r.method == "oracle")
        for (double v : r.scores)
          any_oracle = any_oracle || (std::isfinite(v) && v > 0);
    set_empty_hint(bars_, any_oracle ? QString()
                                     : tr("Each task's own adapter (the oracle) scored 0, so "
                                          "there is no score relative to it to plot; Export "
                                          "data has the raw metrics."));
    // One task count has no "by count" curve to draw.
    set_empty_hint(counts_, result_->tables.size() > 1
                                ? QString()
                                : tr("Tick “task counts 2…n” and run the study again to see "
                                     "the score against the number of tasks."));
    QString text = tr("%1 tasks, %2 methods and baselines")
                       .arg(result_->tasks.size())
                       .arg(result_->full().rows.size());
    // The router-free study's headline: each method as a share of MoA's multitask score.
    const int n = result_->full().task_count;
    for (const auto& r : result_->full().rows) {
      const double share = result_->share_of_moa(r.method, n);
      if (r.method != "moa" && std::isfinite(share))
        text += tr("\n%1 reaches %2 of MoA")
                    .arg(QString::fromStdString(r.method))
                    .arg(share, 0, 'f', 2);
    }
    set_message(text);
  } else {
    draw_multitask_bars(bars_, MultitaskResult{});
    draw_score_by_count(counts_, MultitaskResult{});
    set_empty_hint(bars_, tr("Map two or more adapters to their tasks (left), then Run study "
                             "to score every merge method against each task's own adapter."));
    set_empty_hint(counts_, tr("The multitask score by number of tasks appears here after a "
                               "study with “task counts 2…n”."));
  }
  apply_theme(theme_);
}

void MultitaskView::set_message(const QString& text) {
  message_->setText(text);
}

void MultitaskView::apply_theme(Theme t) {
  theme_ = t;
  for (QCustomPlot* plot : {bars_, counts_}) {
    apply_plot_theme(plot, t);
    plot->replot();
  }
}

bool MultitaskView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out,
                                 QString* stem) const {
  if (plot != bars_ && plot != counts_) return false;
  *stem = plot == bars_ ? QStringLiteral("multitask") : QStringLiteral("multitask-by-count");
  if (result_)
    *out = QByteArray::fromStdString(json ? result_->to_json().dump(2) + "\n" : result_->to_csv());
  return true;
}

}  // namespace basin::ui
