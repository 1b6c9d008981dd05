// --plot in the GUI build: the GUI's figures (ui/figures.h) rendered offscreen. The
// QApplication is created on the first figure only, so commands without --plot never touch Qt;
// with no display (neither DISPLAY nor WAYLAND_DISPLAY) Qt's offscreen platform is used.
#include <QApplication>
#include <QString>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "figures.h"
#include "landscape/gate_stats.h"
#include "plot.h"
#include "report/oracle_vs_base.h"
#include "util/errors.h"

namespace basin::cli {
namespace {

// Qt's chatter about a server environment (no XDG_RUNTIME_DIR, ...) is not the user's concern;
// real warnings still reach stderr, prefixed like basin-cli's own.
void qt_messages(QtMsgType type, const QMessageLogContext&, const QString& message) {
  if (type == QtDebugMsg || type == QtInfoMsg) return;
  if (message.startsWith(QStringLiteral("QStandardPaths:"))) return;
  std::fprintf(stderr, "basin-cli: qt: %s\n", qPrintable(message));
}

void ensure_application() {
  if (QApplication::instance()) return;
  qInstallMessageHandler(qt_messages);
  const char* x11 = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!x11 || !*x11) && (!wayland || !*wayland))
    ::setenv("QT_QPA_PLATFORM", "offscreen", 0);  // an explicit choice still wins
  static int argc = 1;
  static char arg0[] = "basin-cli";
  static char* argv[] = {arg0, nullptr};
  // Never destroyed: tearing Qt down during static destruction buys nothing at exit.
  new QApplication(argc, argv);
}

QString qpath(const std::string& path) {
  return QString::fromStdString(path);
}

void check(const QString& error) {
  if (!error.isEmpty()) throw InputError(error.toStdString());
}

void render(const std::function<void(QCustomPlot*)>& draw, const std::string& path) {
  ensure_application();
  check(ui::render_figure(draw, qpath(path)));
}

}  // namespace

bool can_plot() {
  return true;
}

void check_plot_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".png" && ext != ".svg" && ext != ".pdf")
    throw InputError("--plot '" + path + "': the figure must end in .png, .svg or .pdf");
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir))
    throw InputError("--plot '" + path + "': folder '" + dir.string() + "' does not exist");
}

void plot_curve(const Curve& curve, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_curve(p, curve); }, path);
}

void plot_heatmap(const PairwiseMatrix& m, double lo, double hi, const std::string& title,
                  const std::string& path) {
  ensure_application();
  check(ui::render_heatmap(m, lo, hi, QString::fromStdString(title), qpath(path)));
}

void plot_multitask_bars(const MultitaskResult& result, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_multitask_bars(p, result); }, path);
}

void plot_score_by_count(const MultitaskResult& result, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_score_by_count(p, result); }, path);
}

void plot_model_sizes(const ModelSizes& sizes, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_model_sizes(p, sizes); }, path);
}

void plot_surface(const SurfaceResult& surface, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_surface(p, surface); }, path);
}

void plot_soup(const SoupResult& soup, const std::string& path) {
  render([&](QCustomPlot* p) { ui::draw_soup(p, soup); }, path);
}

void plot_gate_usage(const GateStats& s, size_t index, const std::string& path) {
  ensure_application();
  PairwiseMatrix m;
  m.metric = s.kind == "moa" ? "share of prompts" : "mean gate weight";
  m.labels = s.tasks;
  m.values = s.usage.at(index);
  const std::string title = s.kind == "moa" ? "Router: task (rows) -> adapter (columns)"
                                            : s.kind + " gate, " + s.usage_labels.at(index) +
                                                  ": which adapter each task uses";
  check(ui::render_grid(m, s.experts, 0.0, 1.0, QString::fromStdString(title), qpath(path)));
}

void plot_oracle_vs_base(const OracleVsBase& scores, const std::string& path) {
  ensure_application();
  PairwiseMatrix m;
  m.metric = "score";
  m.values.resize(static_cast<Eigen::Index>(scores.tasks.size()), 2);
  double hi = 0.0;
  for (size_t t = 0; t < scores.tasks.size(); ++t) {
    const auto& s = scores.tasks[t];
    m.labels.push_back(s.task + " (" + s.metric + ")");
    m.values(static_cast<Eigen::Index>(t), 0) = s.base;
    m.values(static_cast<Eigen::Index>(t), 1) = s.oracle;
    for (double v : {s.base, s.oracle})
      if (std::isfinite(v)) hi = std::max(hi, v);
  }
  const std::string title = "Each task's own adapter vs the base model (" + scores.split + ")";
  check(ui::render_grid(m, {"base", "own adapter"}, 0.0, hi > 0 ? hi : 1.0,
                        QString::fromStdString(title), qpath(path)));
}

}  // namespace basin::cli
