// Plot themes (light, dark, publication) and figure export (PNG at a chosen DPI, SVG, PDF).
// Exports always use the publication style — white background, dark text, readable fonts —
// whatever the window's theme, and are written atomically (temporary file, then rename).
#pragma once

#include <QColor>
#include <QString>

class QCustomPlot;
class QApplication;

namespace basin::ui {

enum class Theme { Light, Dark, Publication };

struct ThemeColors {
  QColor background, foreground, grid, accent;
};
ThemeColors theme_colors(Theme t);

// Styles axes, grids, legends and color scales of `plot` (does not replot).
void apply_plot_theme(QCustomPlot* plot, Theme theme);
// Moves the legend out of the axis rect into a strip below it (once; later calls only re-wrap),
// `columns` entries per row (0: up to four), so that it never covers data.
void place_legend_below(QCustomPlot* plot, int columns = 0);
// Fusion style + palette for the whole application.
void apply_app_theme(QApplication& app, Theme theme);

enum class FigureFormat { Png, Svg, Pdf };
FigureFormat figure_format_for(const QString& path);  // by extension; PNG by default

// Renders `plot` at `width`×`height` logical pixels in the publication style and writes it.
// Returns an empty string on success, else the error message naming the file.
QString export_figure(QCustomPlot* plot, const QString& path, int width, int height, int dpi,
                      Theme restore_theme);

// Writes text atomically (QSaveFile); returns an error message or "".
QString write_text_file(const QString& path, const QByteArray& bytes);

}  // namespace basin::ui
