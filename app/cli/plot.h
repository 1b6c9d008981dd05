// Figure export for basin-cli (--plot): the GUI's own QCustomPlot views (ui/figures.h),
// rendered offscreen. Plain C++ on purpose: basin-cli's commands never see Qt. A build without
// Qt (BASIN_BUILD_GUI=OFF) links plot_none.cpp, whose functions throw an InputError that says
// so; the GUI build links plot_qt.cpp.
#pragma once

#include <string>

namespace basin {
struct Curve;
struct PairwiseMatrix;
struct MultitaskResult;
struct SurfaceResult;
struct SoupResult;
struct GateStats;
struct OracleVsBase;
struct ModelSizes;
}  // namespace basin

namespace basin::cli {

// Whether this build draws figures (the GUI build); the headless build's plot_* throw.
bool can_plot();

// Checks a --plot path before any work starts: this build can plot, and the extension is .png,
// .svg or .pdf. Throws InputError naming the path otherwise.
void check_plot_path(const std::string& path);

// Each writes one figure (PNG/SVG/PDF by extension) atomically; throws InputError on failure.
void plot_curve(const Curve& curve, const std::string& path);
// Heatmap of `m` with its colour range [lo, hi].
void plot_heatmap(const PairwiseMatrix& m, double lo, double hi, const std::string& title,
                  const std::string& path);
void plot_multitask_bars(const MultitaskResult& result, const std::string& path);
void plot_score_by_count(const MultitaskResult& result, const std::string& path);
void plot_surface(const SurfaceResult& surface, const std::string& path);
void plot_soup(const SoupResult& soup, const std::string& path);
// Gate usage matrix `index` (0 = all sites; the router's confusion matrix), tasks × experts.
void plot_gate_usage(const GateStats& stats, size_t index, const std::string& path);
// Per-task scores as a grid: tasks (rows) × base model and own adapter (columns).
void plot_oracle_vs_base(const OracleVsBase& scores, const std::string& path);
// Multitask score per method on each model size, side by side.
void plot_model_sizes(const ModelSizes& sizes, const std::string& path);

}  // namespace basin::cli
