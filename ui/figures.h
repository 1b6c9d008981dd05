// Figures of the landscape analyses, drawn into any QCustomPlot: the GUI's views call them,
// and basin-cli --plot renders the very same figures offscreen (render_figure). Each draw_*
// clears the plot first and does not replot.
#pragma once

#include <QString>

#include <functional>

#include "analysis/pairwise_matrix.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "report/model_sizes.h"

class QCustomPlot;

namespace basin::ui {

// Loss against α (α = 1 is curve.a), with the chord between α = 0 and 1 and the lower convex
// hull; the convexity gap is marked where it is reached. Token error on a right axis.
void draw_curve(QCustomPlot* plot, const Curve& curve);
// Grouped bars: one group per task plus a "multitask score" group, one bar per method,
// scores relative to the oracle (oracle = 1).
void draw_multitask_bars(QCustomPlot* plot, const MultitaskResult& result);
// Multitask score of every method against the number of tasks.
void draw_score_by_count(QCustomPlot* plot, const MultitaskResult& result);
// Multitask score of each method (x) on each model size (one bar per size, legend below),
// the value printed on each bar; the oracle's level (1) dashed.
void draw_model_sizes(QCustomPlot* plot, const ModelSizes& sizes);
// Filled contours (banded colour map) of the loss over the plane, the three points marked.
void draw_surface(QCustomPlot* plot, const SurfaceResult& surface);
// Greedy soup: loss of each ingredient alone, the soup after each step, the uniform soup.
void draw_soup(QCustomPlot* plot, const SoupResult& soup);

// Creates an offscreen QCustomPlot of width×height, lets `draw` fill it and writes it (PNG at
// `dpi`, SVG, PDF by extension) in the publication style, atomically. Needs a QApplication.
// Returns "" on success, else the error message naming the file.
QString render_figure(const std::function<void(QCustomPlot*)>& draw, const QString& path,
                      int width = 800, int height = 560, int dpi = 150);
// The same for a heatmap (HeatmapPlot) of `m` with its colour range.
QString render_heatmap(const PairwiseMatrix& m, double lo, double hi, const QString& title,
                       const QString& path, int width = 800, int height = 640, int dpi = 150);
// A rows × columns grid (m.labels are the rows), e.g. gate usage of tasks × experts.
QString render_grid(const PairwiseMatrix& m, const std::vector<std::string>& columns, double lo,
                    double hi, const QString& title, const QString& path, int width = 800,
                    int height = 640, int dpi = 150);

}  // namespace basin::ui
