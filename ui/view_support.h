// Small pieces the views share: the plot context menu (Export figure / Export data), a results
// table filler, number formatting for cells, and the hint a plot shows while it has no data.
#pragma once

#include <QString>

#include <functional>

#include "analysis/pairwise_matrix.h"

class QCustomPlot;
class QLabel;
class QTableWidget;
class QWidget;

namespace basin::ui {

// Adds the right-click menu "Export figure…" / "Export data…" to `plot`; `on_export(plot,
// data)` runs when one is chosen.
void install_export_menu(QCustomPlot* plot, QWidget* owner,
                         const std::function<void(QCustomPlot*, bool)>& on_export);

// Fills `table` with the matrix (labels as headers, "—" for NaN).
void fill_matrix_table(QTableWidget* table, const PairwiseMatrix& m, int decimals = 4);

// A value for a table cell or a label: `digits` significant digits, "—" for NaN. A value that
// rounds to zero prints "0", never "-0".
QString format_value(double v, int digits = 4);
// `decimals` digits after the point, "—" for NaN; -0.0004 prints "0.000", not "-0.000" (a sign
// on a zero reads as a real negative value in a heatmap cell).
QString format_fixed(double v, int decimals);

// Covers `plot` with a centred hint ("Run connectivity to fill this heatmap") instead of empty
// axes; an empty `text` removes the cover. The hint follows the plot's size.
void set_empty_hint(QWidget* plot, const QString& text);
// The hint `plot` shows now ("" when it shows its data).
QString empty_hint(const QWidget* plot);

// Shows `text` in `label` cut with "…" to `max_width` pixels: a status-bar text must not widen
// the window (each widening re-lays out and redraws every plot).
void set_elided_text(QLabel* label, const QString& text, int max_width);

}  // namespace basin::ui
