// --plot in a basin-cli built without Qt (BASIN_BUILD_GUI=OFF): every entry point says so.
#include "plot.h"

#include "util/errors.h"

namespace basin::cli {
namespace {
[[noreturn]] void no_qt() {
  throw InputError(
      "this basin-cli was built without Qt: --plot needs the GUI build; use --json and plot it "
      "elsewhere");
}
}  // namespace

bool can_plot() {
  return false;
}
void check_plot_path(const std::string&) {
  no_qt();
}
void plot_curve(const Curve&, const std::string&) {
  no_qt();
}
void plot_heatmap(const PairwiseMatrix&, double, double, const std::string&, const std::string&) {
  no_qt();
}
void plot_multitask_bars(const MultitaskResult&, const std::string&) {
  no_qt();
}
void plot_score_by_count(const MultitaskResult&, const std::string&) {
  no_qt();
}
void plot_surface(const SurfaceResult&, const std::string&) {
  no_qt();
}
void plot_soup(const SoupResult&, const std::string&) {
  no_qt();
}
void plot_gate_usage(const GateStats&, size_t, const std::string&) {
  no_qt();
}
void plot_oracle_vs_base(const OracleVsBase&, const std::string&) {
  no_qt();
}
void plot_model_sizes(const ModelSizes&, const std::string&) {
  no_qt();
}

}  // namespace basin::cli
