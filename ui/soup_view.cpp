#include "soup_view.h"

#include <qcustomplot.h>
#include <QComboBox>
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
#include <nlohmann/json.hpp>

#include "eval_setup_form.h"
#include "figures.h"
#include "util/strings.h"
#include "view_support.h"

namespace basin::ui {
namespace {

QTableWidgetItem* cell(const QString& text, bool number = true) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

SoupView::SoupView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  setup_ = new EvalSetupForm(this);
  layout->addWidget(setup_);
  auto* split = new QSplitter(Qt::Horizontal, this);

  auto* soup_box = new QGroupBox(tr("Greedy soup (validation loss)"), split);
  auto* soup_layout = new QVBoxLayout(soup_box);
  auto* soup_bar = new QHBoxLayout;
  run_soup_ = new QPushButton(tr("Run greedy soup"), soup_box);
  run_soup_->setObjectName("run_soup");
  save_ = new QPushButton(tr("Save soup as PEFT…"), soup_box);
  save_->setObjectName("save_soup");
  soup_bar->addWidget(run_soup_);
  soup_bar->addWidget(save_);
  message_ = new QLabel(soup_box);
  message_->setWordWrap(true);  // a long result line wraps instead of widening the window
  soup_bar->addWidget(message_, 1);
  soup_layout->addLayout(soup_bar);
  auto* soup_split = new QSplitter(Qt::Vertical, soup_box);
  table_ = new QTableWidget(0, 8, soup_split);
  table_->setObjectName("soup_path");
  table_->setHorizontalHeaderLabels({tr("step"), tr("candidate"), tr("k=1"), tr("k=2"), tr("k=3"),
                                     tr("k=4"), tr("kept"), tr("soup loss")});
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  soup_plot_ = new QCustomPlot(soup_split);
  soup_plot_->setObjectName("soup_plot");
  soup_plot_->setMinimumHeight(220);
  soup_split->addWidget(table_);
  soup_split->addWidget(soup_plot_);
  soup_split->setStretchFactor(0, 2);
  soup_split->setStretchFactor(1, 3);
  soup_split->setSizes({200, 400});
  soup_layout->addWidget(soup_split, 1);

  auto* surf_box = new QGroupBox(tr("Loss surface through three models"), split);
  auto* surf_layout = new QVBoxLayout(surf_box);
  auto* surf_bar = new QHBoxLayout;
  for (size_t k = 0; k < 3; ++k) {
    anchor_[k] = new QComboBox(surf_box);
    anchor_[k]->setObjectName(QStringLiteral("surface_anchor_%1").arg(k));
    anchor_[k]->setMinimumContentsLength(10);
    anchor_[k]->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    surf_bar->addWidget(anchor_[k], 1);
  }
  surf_bar->addWidget(new QLabel(tr("grid"), surf_box));
  grid_ = new QSpinBox(surf_box);
  grid_->setObjectName("surface_grid");
  grid_->setRange(3, 201);
  grid_->setValue(21);
  grid_->setToolTip(tr("grid × grid points, evaluated in batches"));
  surf_bar->addWidget(grid_);
  run_surface_ = new QPushButton(tr("Run surface"), surf_box);
  run_surface_->setObjectName("run_surface");
  surf_bar->addWidget(run_surface_);
  surf_layout->addLayout(surf_bar);
  surface_plot_ = new QCustomPlot(surf_box);
  surface_plot_->setObjectName("surface_plot");
  surface_plot_->setMinimumSize(320, 260);
  surf_layout->addWidget(surface_plot_, 1);

  split->addWidget(soup_box);
  split->addWidget(surf_box);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);

  connect(run_soup_, &QPushButton::clicked, this, &SoupView::soup_requested);
  connect(save_, &QPushButton::clicked, this, &SoupView::save_requested);
  connect(run_surface_, &QPushButton::clicked, this, &SoupView::surface_requested);
  for (QCustomPlot* plot : {soup_plot_, surface_plot_})
    install_export_menu(plot, this,
                        [this](QCustomPlot* p, bool data) { emit export_requested(p, data); });
  set_soup(std::nullopt);
  set_surface(std::nullopt);
  set_message(tr("Ordered by validation loss; θ' = (kθ + (5−k)θᵢ)/5."));
}

void SoupView::set_candidates(const QStringList& models) {
  // Keep the user's three models while they are still there and distinct; otherwise default
  // to the first three adapters (index 0 is the base model).
  std::array<int, 3> pick{};
  bool keep = true;
  for (size_t k = 0; k < 3; ++k) {
    pick[k] = models.indexOf(anchor_[k]->currentText());
    keep = keep && pick[k] >= 0;
  }
  keep = keep && pick[0] != pick[1] && pick[0] != pick[2] && pick[1] != pick[2];
  for (size_t k = 0; k < 3; ++k) {
    const QSignalBlocker block(anchor_[k]);
    anchor_[k]->clear();
    anchor_[k]->addItems(models);
    const int fallback = std::min(static_cast<int>(k) + 1, static_cast<int>(models.size()) - 1);
    anchor_[k]->setCurrentIndex(keep ? pick[k] : fallback);
  }
}

std::array<int, 3> SoupView::anchors() const {
  return {anchor_[0]->currentIndex(), anchor_[1]->currentIndex(), anchor_[2]->currentIndex()};
}

void SoupView::set_anchors(const std::array<int, 3>& a) {
  for (size_t k = 0; k < 3; ++k)
    anchor_[k]->setCurrentIndex(a[k]);
}

SurfaceOptions SoupView::surface_options() const {
  SurfaceOptions o;
  o.grid = grid_->value();
  return o;
}

void SoupView::set_grid(int grid) {
  grid_->setValue(grid);
}

void SoupView::set_soup(std::optional<SoupResult> soup) {
  soup_ = std::move(soup);
  draw_soup(soup_plot_, soup_ ? *soup_ : SoupResult{});
  set_empty_hint(soup_plot_, soup_ ? QString()
                                   : tr("Include two or more adapters, then Run greedy soup to "
                                        "see which ingredients lower the validation loss."));
  apply_plot_theme(soup_plot_, theme_);
  soup_plot_->replot();
  fill_table();
  save_->setEnabled(soup_.has_value());
  if (soup_ && soup_->best_single() >= 0) {
    const auto best = static_cast<size_t>(soup_->best_single());
    set_message(tr("soup %1 · best single %2 (%3) · uniform %4")
                    .arg(format_value(soup_->loss), format_value(soup_->single_loss[best]),
                         QString::fromStdString(soup_->labels[best]),
                         format_value(soup_->uniform_loss)));
  }
}

void SoupView::fill_table() {
  table_->setRowCount(0);
  if (!soup_ || soup_->order.empty()) return;
  auto add_row = [this](const QStringList& cells) {
    const int r = table_->rowCount();
    table_->insertRow(r);
    for (int c = 0; c < cells.size(); ++c)
      table_->setItem(r, c, cell(cells[c], c != 1 && c != 6));
  };
  const auto first = static_cast<size_t>(soup_->order.front());
  add_row({"0", QString::fromStdString(soup_->labels[first]), "", "", "", "", tr("start"),
           format_value(soup_->single_loss[first])});
  int step = 1;
  for (const auto& s : soup_->steps) {
    QStringList cells{QString::number(step++), QString::fromStdString(s.candidate)};
    for (size_t k = 0; k < 4; ++k)
      cells << (k < s.tried.size() ? format_value(s.tried[k]) : QString());
    cells << (s.accepted_k > 0 ? tr("k=%1").arg(s.accepted_k) : tr("no"));
    cells << format_value(s.loss);
    add_row(cells);
  }
  add_row({"", tr("uniform soup"), "", "", "", "", "", format_value(soup_->uniform_loss)});
  table_->resizeColumnsToContents();
}

void SoupView::set_surface(std::optional<SurfaceResult> surface) {
  surface_ = std::move(surface);
  draw_surface(surface_plot_, surface_ ? *surface_ : SurfaceResult{});
  set_empty_hint(surface_plot_, surface_ ? QString()
                                         : tr("Pick three models, then Run surface to draw the "
                                              "loss over the plane through them."));
  apply_plot_theme(surface_plot_, theme_);
  surface_plot_->replot();
  if (surface_) grid_->setValue(static_cast<int>(surface_->x.size()));
}

void SoupView::set_message(const QString& text) {
  message_->setText(text);
}

void SoupView::apply_theme(Theme t) {
  theme_ = t;
  for (QCustomPlot* plot : {soup_plot_, surface_plot_}) {
    apply_plot_theme(plot, t);
    plot->replot();
  }
}

bool SoupView::export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const {
  if (plot == soup_plot_) {
    *stem = QStringLiteral("soup");
    if (!soup_) return true;
    if (json) {
      *out = QByteArray::fromStdString(soup_->to_json().dump(2) + "\n");
    } else {
      // The path as a table: step,candidate,loss_k1..k4,accepted_k,soup_loss.
      std::string csv = "step,candidate,loss_k1,loss_k2,loss_k3,loss_k4,accepted_k,soup_loss\n";
      auto add_row = [&csv](const std::vector<std::string>& fields) {
        for (size_t f = 0; f < fields.size(); ++f) {
          if (f > 0) csv.push_back(',');
          csv.append(fields[f]);
        }
        csv.push_back('\n');
      };
      auto num = [](double v) { return std::isfinite(v) ? format_double(v) : std::string(); };
      const auto first = static_cast<size_t>(soup_->order.front());
      add_row({"0", csv_field(soup_->labels[first]), "", "", "", "", "",
               num(soup_->single_loss[first])});
      int step = 1;
      for (const auto& st : soup_->steps) {
        std::vector<std::string> row{std::to_string(step++), csv_field(st.candidate)};
        for (size_t k = 0; k < 4; ++k)
          row.push_back(k < st.tried.size() ? num(st.tried[k]) : std::string());
        row.push_back(std::to_string(st.accepted_k));
        row.push_back(num(st.loss));
        add_row(row);
      }
      *out = QByteArray::fromStdString(csv);
    }
    return true;
  }
  if (plot == surface_plot_) {
    *stem = QStringLiteral("surface");
    if (surface_)
      *out =
          QByteArray::fromStdString(json ? surface_->to_json().dump(2) + "\n" : surface_->to_csv());
    return true;
  }
  return false;
}

}  // namespace basin::ui
