// Small pieces the landscape views share: the plot context menu (Export figure / Export data),
// a results table filler, and number formatting for cells.
#pragma once

#include <QString>

#include <functional>

#include "analysis/pairwise_matrix.h"

class QCustomPlot;
class QTableWidget;
class QWidget;

namespace basin::ui {

// Adds the right-click menu "Export figure…" / "Export data…" to `plot`; `on_export(plot,
// data)` runs when one is chosen.
void install_export_menu(QCustomPlot* plot, QWidget* owner,
                         const std::function<void(QCustomPlot*, bool)>& on_export);

// Fills `table` with the matrix (labels as headers, "—" for NaN).
void fill_matrix_table(QTableWidget* table, const PairwiseMatrix& m, int decimals = 4);

// A value for a table cell or a label: `decimals` significant digits, "—" for NaN.
QString format_value(double v, int digits = 4);

}  // namespace basin::ui
