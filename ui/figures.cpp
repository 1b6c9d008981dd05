#include "figures.h"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/curve_metrics.h"
#include "heatmap_plot.h"
#include "plot_style.h"

namespace basin::ui {
namespace {

// Tableau 10: distinguishable, colour-blind friendly enough for up to ten series.
QColor series_color(size_t k) {
  static const QColor palette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                                   QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
                                   QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                                   QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                                   QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
  return palette[k % 10];
}

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

// Everything a previous draw_* added: plottables, items, a colour scale, the right axis,
// custom tickers and reversed ranges.
void reset_plot(QCustomPlot* plot) {
  plot->clearPlottables();
  plot->clearItems();
  for (int i = plot->plotLayout()->elementCount() - 1; i >= 0; --i)
    if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i)))
      plot->plotLayout()->remove(scale);
  plot->plotLayout()->simplify();
  for (QCPAxis* ax : {plot->xAxis, plot->yAxis, plot->yAxis2}) {
    ax->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    ax->setRangeReversed(false);
    ax->setLabel(QString());
    ax->setSubTicks(true);
    ax->setTickLabelRotation(0);
    ax->grid()->setVisible(true);
  }
  plot->yAxis2->setVisible(false);
  plot->xAxis2->setVisible(false);
  plot->legend->clearItems();
  plot->legend->setVisible(false);
}

// The row of the plot layout that holds the axis rect (a legend strip may follow it).
int axis_rect_row(QCustomPlot* plot) {
  auto* grid = plot->plotLayout();
  for (int i = 0; i < grid->elementCount(); ++i)
    if (grid->elementAt(i) == plot->axisRect()) {
      int row = 0, col = 0;
      grid->indexToRowCol(i, row, col);
      return row;
    }
  return 0;
}

// Range of finite values with a margin; `lo`/`hi` widened by the values.
void add_finite(const std::vector<double>& v, double& lo, double& hi) {
  for (double x : v)
    if (std::isfinite(x)) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
}

QCPRange padded(double lo, double hi, double share = 0.08) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return QCPRange(0, 1);
  const double pad = hi > lo ? share * (hi - lo) : std::max(0.05, 0.05 * std::abs(hi));
  return QCPRange(lo - pad, hi + pad);
}

QCPGraph* line(QCustomPlot* plot, QCPAxis* y, const std::vector<double>& x,
               const std::vector<double>& v, const QPen& pen, const QString& name) {
  auto* g = plot->addGraph(plot->xAxis, y);
  g->setName(name);
  g->setPen(pen);
  for (size_t i = 0; i < x.size() && i < v.size(); ++i)
    if (std::isfinite(v[i])) g->addData(x[i], v[i]);
  return g;
}

}  // namespace

void draw_curve(QCustomPlot* plot, const Curve& curve) {
  reset_plot(plot);
  const auto& a = curve.alpha;
  if (a.empty()) return;
  const QColor loss_color = series_color(0), err_color = series_color(1);
  auto* loss = line(plot, plot->yAxis, a, curve.loss, QPen(loss_color, 2.0), QObject::tr("loss"));
  loss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
  const auto chord = curve.chord(), hull = curve.hull();
  QPen chord_pen(QColor(0x55, 0x55, 0x55), 1.4, Qt::DashLine);
  line(plot, plot->yAxis, a, chord, chord_pen, QObject::tr("chord (α = 0 … 1)"));
  QPen hull_pen(series_color(2), 3.0, Qt::DotLine);
  line(plot, plot->yAxis, a, hull, hull_pen, QObject::tr("lower convex hull"));
  // The loss stays visible where the hull runs along it (a convex stretch).
  if (!plot->layer("curve_top")) plot->addLayer("curve_top", plot->layer("main"));
  loss->setLayer("curve_top");

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  add_finite(curve.loss, lo, hi);
  add_finite(chord, lo, hi);
  add_finite(hull, lo, hi);
  plot->xAxis->setLabel(QObject::tr("α   (α = 1: %1,  α = 0: %2)").arg(qs(curve.a), qs(curve.b)));
  plot->yAxis->setLabel(QObject::tr("loss (NLL per target token)"));
  plot->xAxis->setRange(a.front() - 0.02 * (a.back() - a.front()),
                        a.back() + 0.02 * (a.back() - a.front()));
  plot->yAxis->setRange(padded(lo, hi, 0.12));

  // Token error (and the task metric when there is one) on the right axis.
  double elo = std::numeric_limits<double>::infinity(), ehi = -elo;
  auto* err = line(plot, plot->yAxis2, a, curve.token_error, QPen(err_color, 1.6),
                   QObject::tr("token error (right)"));
  err->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, 5));
  add_finite(curve.token_error, elo, ehi);
  if (!curve.metric.empty() && curve.metric_value.size() == a.size()) {
    QPen mp(series_color(4), 1.6, Qt::DashDotLine);
    line(plot, plot->yAxis2, a, curve.metric_value, mp,
         QObject::tr("%1 (right)").arg(qs(curve.metric)));
    add_finite(curve.metric_value, elo, ehi);
  }
  plot->yAxis2->setVisible(true);
  plot->yAxis2->setLabel(curve.metric.empty()
                             ? QObject::tr("token error")
                             : QObject::tr("token error, %1").arg(qs(curve.metric)));
  plot->yAxis2->setRange(padded(elo, ehi, 0.12));
  plot->yAxis2->grid()->setVisible(false);

  // Convexity gap (Juneja et al. 2022): the largest rise above the lower convex hull.
  const double gap = curve.convexity_gap();
  const int at = convexity_gap_index(curve.alpha, curve.loss);
  if (std::isfinite(gap) && at >= 0 && at < static_cast<int>(a.size()) && gap > 0) {
    const auto i = static_cast<size_t>(at);
    auto* bar = new QCPItemLine(plot);
    bar->start->setCoords(a[i], hull[i]);
    bar->end->setCoords(a[i], curve.loss[i]);
    bar->setPen(QPen(series_color(3), 2.0));
    bar->setHead(QCPLineEnding::esBar);
    bar->setTail(QCPLineEnding::esBar);
    auto* text = new QCPItemText(plot);
    text->position->setCoords(a[i], curve.loss[i]);
    text->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
    text->setPadding(QMargins(0, 0, 0, 6));
    text->setText(QObject::tr("gap %1").arg(gap, 0, 'g', 3));
    text->setColor(series_color(3));
    text->setProperty("basin_cell", true);  // keeps its colour under every theme
  }
  plot->legend->setVisible(true);
  place_legend_below(plot);
}

void draw_multitask_bars(QCustomPlot* plot, const MultitaskResult& result) {
  reset_plot(plot);
  if (result.tables.empty()) return;
  const auto& table = result.full();
  const auto n_tasks = static_cast<size_t>(table.task_count);
  const MultitaskRow* oracle = nullptr;
  for (const auto& r : table.rows)
    if (r.method == "oracle") oracle = &r;
  // Bars are relative to each task's own adapter (the oracle), as the router-free study plots
  // them, and only where the oracle scores > 0: a ratio to 0 means nothing, and a raw metric
  // beside ratios on one axis would mislead. The multitask group is the study's score, the mean
  // over exactly those tasks (study_multitask_score).
  auto usable = [&](size_t t) {
    return oracle && t < oracle->scores.size() && std::isfinite(oracle->scores[t]) &&
           oracle->scores[t] > 0;
  };
  auto relative = [&](size_t t, double v) {
    const bool loss = t < result.metrics.size() && result.metrics[t] == "loss";
    return loss ? oracle->scores[t] / v : v / oracle->scores[t];
  };
  size_t used = 0;
  for (size_t t = 0; t < n_tasks; ++t)
    used += usable(t) ? 1 : 0;
  auto* group = new QCPBarsGroup(plot);
  group->setSpacingType(QCPBarsGroup::stAbsolute);
  group->setSpacing(1);
  const double width = 0.8 / std::max<size_t>(1, table.rows.size());
  double hi = 1.0;
  for (size_t m = 0; m < table.rows.size(); ++m) {
    const auto& row = table.rows[m];
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(qs(row.method));
    bars->setWidth(width);
    bars->setBarsGroup(group);
    const QColor c = series_color(m);
    bars->setPen(QPen(c.darker(130)));
    bars->setBrush(c);
    for (size_t t = 0; t < n_tasks && t < row.scores.size(); ++t) {
      if (!usable(t)) continue;
      const double v = relative(t, row.scores[t]);
      if (!std::isfinite(v)) continue;
      bars->addData(static_cast<double>(t), v);
      hi = std::max(hi, v);
    }
    if (used > 0 && std::isfinite(row.multitask_score)) {
      bars->addData(static_cast<double>(n_tasks), row.multitask_score);
      hi = std::max(hi, row.multitask_score);
    }
  }
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (size_t t = 0; t < n_tasks && t < result.tasks.size(); ++t)
    ticker->addTick(static_cast<double>(t), usable(t)
                                                ? qs(result.tasks[t])
                                                : qs(result.tasks[t]) + QObject::tr(" (oracle 0)"));
  if (used > 0)
    ticker->addTick(static_cast<double>(n_tasks),
                    used == n_tasks ? QObject::tr("multitask")
                                    : QObject::tr("multitask (%1 of %2)").arg(used).arg(n_tasks));
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setSubTicks(false);
  plot->xAxis->grid()->setVisible(false);
  // Negative: a label ends at its tick, so the last one is not cut off at the right edge.
  plot->xAxis->setTickLabelRotation(n_tasks > 5 ? -25 : 0);
  plot->xAxis->setRange(-0.6, static_cast<double>(n_tasks) + (used > 0 ? 0.6 : -0.4));
  plot->yAxis->setLabel(!oracle ? QObject::tr("score / oracle score (no oracle row)")
                        : used == n_tasks
                            ? QObject::tr("score / oracle score")
                            : QObject::tr("score / oracle score (only tasks with oracle > 0)"));
  plot->yAxis->setRange(0, hi * 1.08);
  if (used > 0) {  // the oracle's level
    auto* one = new QCPItemStraightLine(plot);
    one->point1->setCoords(0, 1);
    one->point2->setCoords(1, 1);
    one->setPen(QPen(QColor(0x55, 0x55, 0x55), 1, Qt::DashLine));
  }
  plot->legend->setVisible(true);
  // Two rows of entries below the bars.
  place_legend_below(plot, std::max<int>(1, static_cast<int>(table.rows.size() + 1) / 2));
}

void draw_model_sizes(QCustomPlot* plot, const ModelSizes& sizes) {
  reset_plot(plot);
  const size_t n_methods = sizes.methods.size(), n_sizes = sizes.sizes.size();
  if (n_methods == 0 || n_sizes == 0) return;
  auto* group = new QCPBarsGroup(plot);
  group->setSpacingType(QCPBarsGroup::stAbsolute);
  group->setSpacing(2);
  const double width = 0.8 / double(n_sizes);
  double hi = 1.0;
  for (size_t k = 0; k < n_sizes; ++k) {
    const ModelSize& s = sizes.sizes[k];
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    QString name = qs(s.name);
    if (s.parameters > 0)
      name += QObject::tr(" (%1 M weights)").arg(double(s.parameters) / 1e6, 0, 'f', 2);
    bars->setName(name);
    bars->setWidth(width);
    bars->setBarsGroup(group);
    const QColor c = series_color(k);
    bars->setPen(QPen(c.darker(130)));
    bars->setBrush(c);
    for (size_t m = 0; m < n_methods && m < s.scores.size(); ++m)
      if (std::isfinite(s.scores[m])) {
        bars->addData(double(m), s.scores[m]);
        hi = std::max(hi, s.scores[m]);
      }
  }
  // Values on the bars: bar k of a group is centred (k − (n − 1)/2) bar widths off the key
  // (the group's 2-pixel gaps aside).
  for (size_t k = 0; k < n_sizes; ++k) {
    for (size_t m = 0; m < n_methods && m < sizes.sizes[k].scores.size(); ++m) {
      const double v = sizes.sizes[k].scores[m];
      if (!std::isfinite(v)) continue;
      auto* label = new QCPItemText(plot);
      label->position->setCoords(double(m) + (double(k) - 0.5 * double(n_sizes - 1)) * width, v);
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->setText(QString::number(v + 0.0, 'f', 2));
      QFont f = plot->font();
      f.setPointSizeF(f.pointSizeF() * 0.8);
      label->setFont(f);
    }
  }
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (size_t m = 0; m < n_methods; ++m)
    ticker->addTick(double(m), qs(sizes.methods[m]));
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setSubTicks(false);
  plot->xAxis->grid()->setVisible(false);
  plot->xAxis->setTickLabelRotation(n_methods > 6 ? -25 : 0);
  plot->xAxis->setRange(-0.6, double(n_methods) - 0.4);
  plot->yAxis->setLabel(
      QObject::tr("multitask score at %1 tasks (own adapters = 1)").arg(sizes.task_count));
  plot->yAxis->setRange(0, hi * 1.12);
  auto* one = new QCPItemStraightLine(plot);
  one->point1->setCoords(0, 1);
  one->point2->setCoords(1, 1);
  one->setPen(QPen(QColor(0x55, 0x55, 0x55), 1, Qt::DashLine));
  plot->legend->setVisible(true);
  place_legend_below(plot, static_cast<int>(n_sizes));
}

void draw_score_by_count(QCustomPlot* plot, const MultitaskResult& result) {
  reset_plot(plot);
  if (result.tables.empty()) return;
  std::vector<double> counts;
  for (const auto& t : result.tables)
    counts.push_back(t.task_count);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t k = 0;
  for (const auto& method : result.methods()) {
    const auto scores = result.score_by_count(method);
    auto* g = line(plot, plot->yAxis, counts, scores, QPen(series_color(k++), 2.0), qs(method));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    add_finite(scores, lo, hi);
  }
  QSharedPointer<QCPAxisTickerFixed> ticks(new QCPAxisTickerFixed);
  ticks->setTickStep(1.0);  // task counts are integers
  ticks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  plot->xAxis->setTicker(ticks);
  plot->xAxis->setSubTicks(false);
  plot->xAxis->setLabel(QObject::tr("number of tasks"));
  plot->xAxis->setRange(counts.front() - 0.4, counts.back() + 0.4);
  plot->yAxis->setLabel(QObject::tr("multitask score (oracle = 1)"));
  plot->yAxis->setRange(padded(std::min(lo, 1.0), std::max(hi, 1.0), 0.1));
  plot->legend->setVisible(true);
  place_legend_below(plot);
}

void draw_surface(QCustomPlot* plot, const SurfaceResult& surface) {
  reset_plot(plot);
  const auto nx = static_cast<int>(surface.x.size()), ny = static_cast<int>(surface.y.size());
  if (nx < 2 || ny < 2) return;
  auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
  map->setName(QObject::tr("loss"));
  map->data()->setSize(nx, ny);
  map->data()->setRange(QCPRange(surface.x.front(), surface.x.back()),
                        QCPRange(surface.y.front(), surface.y.back()));
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int iy = 0; iy < ny; ++iy)
    for (int ix = 0; ix < nx; ++ix) {
      const double v = surface.loss(iy, ix);
      map->data()->setCell(ix, iy, std::isfinite(v) ? v : std::nan(""));
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  // The colour scale first: a map adopts the scale's gradient and range when attached.
  auto* scale = new QCPColorScale(plot);
  plot->plotLayout()->addElement(axis_rect_row(plot), 1, scale);
  scale->setType(QCPAxis::atRight);
  scale->axis()->setLabel(QObject::tr("loss"));
  map->setColorScale(scale);
  // Viridis (perceptually uniform), from its published anchor colours; banded = filled
  // contours, low loss dark.
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
  g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
  g.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
  g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
  g.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
  g.setLevelCount(14);
  g.setNanHandling(QCPColorGradient::nhTransparent);
  map->setGradient(g);
  map->setInterpolate(true);
  if (std::isfinite(lo)) map->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1e-9));
  auto* margins = new QCPMarginGroup(plot);
  plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);

  auto* anchors = plot->addGraph();
  anchors->setName(QObject::tr("models"));
  anchors->setLineStyle(QCPGraph::lsNone);
  anchors->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 1.5), QBrush(Qt::white), 9));
  for (size_t k = 0; k < 3; ++k) {
    anchors->addData(surface.anchor_x[k], surface.anchor_y[k]);
    auto* label = new QCPItemText(plot);
    label->setProperty("basin_cell", true);  // keeps its own colours under every theme
    // Just above the marker (an offset in plot units: the axes span the grid).
    label->position->setCoords(surface.anchor_x[k],
                               surface.anchor_y[k] + 0.03 * (surface.y.back() - surface.y.front()));
    label->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
    label->setPadding(QMargins(3, 1, 3, 1));
    label->setText(qs(surface.labels[k]));
    label->setColor(Qt::black);
    label->setBrush(QBrush(QColor(255, 255, 255, 210)));
    label->setPen(QPen(QColor(0x55, 0x55, 0x55)));
  }
  plot->xAxis->setLabel(QObject::tr("plane coordinate 1 (‖ΔW‖ units)"));
  plot->yAxis->setLabel(QObject::tr("plane coordinate 2"));
  plot->xAxis->setRange(surface.x.front(), surface.x.back());
  plot->yAxis->setRange(surface.y.front(), surface.y.back());
  plot->xAxis->grid()->setVisible(false);
  plot->yAxis->grid()->setVisible(false);
}

void draw_soup(QCustomPlot* plot, const SoupResult& soup) {
  reset_plot(plot);
  const size_t n = soup.order.size();
  if (n == 0) return;
  // x = position in the greedy order: each ingredient alone, and the soup once it was tried.
  std::vector<double> x, single;
  for (size_t k = 0; k < n; ++k) {
    x.push_back(static_cast<double>(k));
    single.push_back(soup.single_loss[static_cast<size_t>(soup.order[k])]);
  }
  auto* alone = new QCPBars(plot->xAxis, plot->yAxis);
  alone->setName(QObject::tr("ingredient alone"));
  alone->setWidth(0.55);
  alone->setPen(QPen(QColor(0x88, 0x88, 0x88)));
  alone->setBrush(QColor(0xc8, 0xc8, 0xc8));
  for (size_t k = 0; k < n; ++k)
    if (std::isfinite(single[k])) alone->addData(x[k], single[k]);

  std::vector<double> sx{0}, sy{single[0]}, ax, ay, rx, ry;
  for (const auto& step : soup.steps) {
    size_t pos = 0;
    for (size_t k = 0; k < n; ++k)
      if (soup.labels[static_cast<size_t>(soup.order[k])] == step.candidate) pos = k;
    sx.push_back(static_cast<double>(pos));
    sy.push_back(step.loss);
    (step.accepted_k > 0 ? ax : rx).push_back(static_cast<double>(pos));
    (step.accepted_k > 0 ? ay : ry).push_back(step.loss);
  }
  auto* path = line(plot, plot->yAxis, sx, sy, QPen(series_color(0), 2.2),
                    QObject::tr("greedy soup (after each step)"));
  path->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 7));
  auto* kept = line(plot, plot->yAxis, ax, ay, QPen(Qt::NoPen), QObject::tr("ingredient kept"));
  kept->setLineStyle(QCPGraph::lsNone);
  kept->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, series_color(2), 10));
  auto* rejected =
      line(plot, plot->yAxis, rx, ry, QPen(Qt::NoPen), QObject::tr("ingredient rejected"));
  rejected->setLineStyle(QCPGraph::lsNone);
  rejected->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, series_color(3), 10));
  auto* uniform = new QCPItemStraightLine(plot);
  uniform->point1->setCoords(0, soup.uniform_loss);
  uniform->point2->setCoords(1, soup.uniform_loss);
  uniform->setPen(QPen(series_color(1), 1.6, Qt::DashLine));
  auto* uniform_key = line(plot, plot->yAxis, {}, {}, uniform->pen(),
                           QObject::tr("uniform soup %1").arg(soup.uniform_loss, 0, 'g', 4));
  (void)uniform_key;  // legend entry for the straight line

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  add_finite(single, lo, hi);
  add_finite(sy, lo, hi);
  add_finite({soup.uniform_loss}, lo, hi);
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (size_t k = 0; k < n; ++k)
    ticker->addTick(x[k], qs(soup.labels[static_cast<size_t>(soup.order[k])]));
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setSubTicks(false);
  plot->xAxis->grid()->setVisible(false);
  plot->xAxis->setTickLabelRotation(n > 4 ? 30 : 0);
  plot->xAxis->setLabel(QObject::tr("ingredients, by validation loss"));
  plot->xAxis->setRange(-0.6, static_cast<double>(n) - 0.4);
  plot->yAxis->setLabel(QObject::tr("validation loss"));
  // The bars rise from below the visible range: the differences are what matters.
  plot->yAxis->setRange(padded(lo, hi, 0.15));
  plot->legend->setVisible(true);
  place_legend_below(plot, 3);
}

QString render_figure(const std::function<void(QCustomPlot*)>& draw, const QString& path, int width,
                      int height, int dpi) {
  QCustomPlot plot;
  plot.resize(width, height);
  draw(&plot);
  return export_figure(&plot, path, width, height, dpi, Theme::Publication);
}

QString render_heatmap(const PairwiseMatrix& m, double lo, double hi, const QString& title,
                       const QString& path, int width, int height, int dpi) {
  HeatmapPlot plot;
  plot.resize(width, height);
  plot.set_title(title);
  plot.set_matrix(m, lo, hi);
  return export_figure(&plot, path, width, height, dpi, Theme::Publication);
}

QString render_grid(const PairwiseMatrix& m, const std::vector<std::string>& columns, double lo,
                    double hi, const QString& title, const QString& path, int width, int height,
                    int dpi) {
  HeatmapPlot plot;
  plot.resize(width, height);
  plot.set_title(title);
  plot.set_grid(m, columns, lo, hi);
  return export_figure(&plot, path, width, height, dpi, Theme::Publication);
}

}  // namespace basin::ui
