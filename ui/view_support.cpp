#include "view_support.h"

#include <qcustomplot.h>
#include <QHeaderView>
#include <QMenu>
#include <QTableWidget>

#include <cmath>

namespace basin::ui {

void install_export_menu(QCustomPlot* plot, QWidget* owner,
                         const std::function<void(QCustomPlot*, bool)>& on_export) {
  plot->setContextMenuPolicy(Qt::CustomContextMenu);
  QObject::connect(plot, &QWidget::customContextMenuRequested, owner,
                   [plot, on_export](const QPoint& pos) {
                     QMenu menu(plot);
                     menu.addAction(QObject::tr("Export figure (PNG/SVG/PDF)…"),
                                    [plot, on_export] { on_export(plot, false); });
                     menu.addAction(QObject::tr("Export data (CSV/JSON)…"),
                                    [plot, on_export] { on_export(plot, true); });
                     menu.exec(plot->mapToGlobal(pos));
                   });
}

QString format_value(double v, int digits) {
  return std::isfinite(v) ? QString::number(v, 'g', digits) : QStringLiteral("—");
}

void fill_matrix_table(QTableWidget* table, const PairwiseMatrix& m, int decimals) {
  const int n = static_cast<int>(m.labels.size());
  table->clear();
  table->setRowCount(n);
  table->setColumnCount(n);
  QStringList names;
  for (const auto& l : m.labels)
    names << QString::fromStdString(l);
  table->setHorizontalHeaderLabels(names);
  table->setVerticalHeaderLabels(names);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      auto* item = new QTableWidgetItem(format_value(m.values(i, j), decimals));
      item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table->setItem(i, j, item);
    }
  table->resizeColumnsToContents();
}

}  // namespace basin::ui
