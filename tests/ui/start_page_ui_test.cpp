// Empty and error states, offscreen (label ui): the window opened with nothing shows the start
// page, and the demo kit button opens a finished kit's task adapters; every view without data
// shows its hint instead of empty axes; values never print "-0.000"; non-negative metrics get
// a sequential colour scale; legends stay outside the axis rect.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "cka_view.h"
#include "figures.h"
#include "gates_view.h"
#include "heatmap_plot.h"
#include "landscape_view.h"
#include "multitask_view.h"
#include "similarity_view.h"
#include "soup_view.h"
#include "start_page.h"
#include "test_support.h"
#include "tiny_kit.h"
#include "view_support.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;
using namespace basin::test::uikit;

TEST(UiEmptyStates, NegativeZeroNeverPrints) {
  EXPECT_EQ(ui::format_fixed(-0.0004, 3), "0.000");
  EXPECT_EQ(ui::format_fixed(-0.0, 2), "0.00");
  EXPECT_EQ(ui::format_fixed(-1e-12, 0), "0");
  EXPECT_EQ(ui::format_fixed(-0.0006, 3), "-0.001");  // a real negative value keeps its sign
  EXPECT_EQ(ui::format_fixed(0.25, 3), "0.250");
  EXPECT_EQ(ui::format_value(-0.0), "0");
  EXPECT_EQ(ui::format_value(-1e-9), "-1e-09");
  EXPECT_EQ(ui::format_value(std::nan("")), "—");
  EXPECT_EQ(ui::format_fixed(std::numeric_limits<double>::infinity(), 3), "—");

  // The heatmap's cells use it: a cosine of −4e-5 reads 0.000.
  ui::HeatmapPlot plot;
  Eigen::MatrixXd v(2, 2);
  v << 0.0, -4e-5, -4e-5, 0.0;
  plot.set_matrix(PairwiseMatrix{"cosine", {"a", "b"}, v}, -1.0, 1.0);
  EXPECT_EQ(plot.cell_text(0, 1), "0.000");
  EXPECT_FALSE(plot.sequential());  // a signed range stays diverging
  plot.set_matrix(PairwiseMatrix{"cka", {"a", "b"}, v.cwiseAbs()}, 0.0, 1.0);
  EXPECT_TRUE(plot.sequential());
  // The sequential scale grows monotonically darker (its lightness falls from 0 to 1).
  QCPColorGradient g = plot.color_map()->gradient();
  double prev = 2.0;
  for (double t = 0; t <= 1.0; t += 0.125) {
    QRgb c = g.color(t, QCPRange(0, 1));
    const double lightness = QColor(c).lightnessF();
    EXPECT_LT(lightness, prev) << "at " << t;
    prev = lightness;
  }
}

TEST(UiEmptyStates, LegendsStayOutsideTheAxisRect) {
  Curve c;
  c.a = "a";
  c.b = "b";
  for (int i = 0; i <= 10; ++i) {
    const double a = i / 10.0;
    c.alpha.push_back(a);
    c.loss.push_back(2.0 + 4 * a * (1 - a));  // a barrier in the middle, up where a legend sat
    c.token_error.push_back(0.5 + 0.4 * a * (1 - a));
  }
  QCustomPlot plot;
  plot.resize(640, 420);
  ui::draw_curve(&plot, c);
  plot.replot(QCustomPlot::rpImmediateRefresh);
  ASSERT_TRUE(plot.legend->visible());
  EXPECT_FALSE(plot.legend->outerRect().intersects(plot.axisRect()->rect()))
      << "legend " << plot.legend->outerRect().y() << " axis rect bottom "
      << plot.axisRect()->rect().bottom();
  // Drawing again (a view refreshes) keeps it there.
  ui::draw_curve(&plot, c);
  plot.replot(QCustomPlot::rpImmediateRefresh);
  EXPECT_FALSE(plot.legend->outerRect().intersects(plot.axisRect()->rect()));
}

TEST(UiEmptyStates, StartPageFirstThenViewsWithHints) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  fail_on_dialog();
  MainWindow w;
  w.show();
  ASSERT_TRUE(w.start_page_shown());
  EXPECT_TRUE(w.start_page()->isVisible());
  EXPECT_FALSE(w.adapter_panel()->isVisible());

  // Before any analysis every plot says what to do.
  EXPECT_FALSE(ui::empty_hint(w.similarity_view()->heatmap()).isEmpty());
  EXPECT_TRUE(ui::empty_hint(w.landscape_view()->heatmap()).contains("Run the sweeps"));
  EXPECT_FALSE(ui::empty_hint(w.landscape_view()->curve_plot()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.cka_view()->heatmap()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.multitask_view()->bars_plot()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.soup_view()->soup_plot()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.soup_view()->surface_plot()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.gates_view()->heatmap()).isEmpty());

  QSignalSpy sim(&w, &MainWindow::similarity_updated);
  w.open_adapters(kit.adapters);
  ASSERT_TRUE(sim.wait(30000));
  ASSERT_TRUE(wait_idle(w));
  EXPECT_FALSE(w.start_page_shown());
  EXPECT_TRUE(w.adapter_panel()->isVisible());
  // The similarity heatmap has data now; the landscape views still wait for their runs.
  EXPECT_TRUE(ui::empty_hint(w.similarity_view()->heatmap()).isEmpty());
  EXPECT_FALSE(ui::empty_hint(w.landscape_view()->heatmap()).isEmpty());

  // The next window's start page lists the folders just opened.
  MainWindow again;
  again.show();
  ASSERT_TRUE(again.start_page_shown());
  QStringList recent;
  for (int i = 0; i < again.start_page()->recent_list()->count(); ++i)
    recent << again.start_page()->recent_list()->item(i)->data(Qt::UserRole).toString();
  for (const QString& a : kit.adapters)
    EXPECT_TRUE(recent.contains(a)) << a.toStdString();
}

TEST(UiEmptyStates, DemoKitButtonOpensAFinishedKitsTaskAdapters) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  // A finished kit is one with kit.json; only its tasks' own adapters open ("other" does not).
  basin::test::write_bytes(dir.path() / "kit.json",
                           nlohmann::json{{"tasks", {"copy", "swap"}}}.dump());
  qputenv("BASIN_KIT", QByteArray::fromStdString(dir.path().string()));
  fail_on_dialog();
  MainWindow w;
  w.show();
  ASSERT_TRUE(w.start_page_shown());
  QSignalSpy opened(&w, &MainWindow::adapters_opened);
  QTest::mouseClick(w.start_page()->demo_button(), Qt::LeftButton);
  ASSERT_TRUE(opened.wait(30000));
  qunsetenv("BASIN_KIT");
  ASSERT_EQ(w.adapter_panel()->count(), 2);
  EXPECT_EQ(w.adapter_panel()->adapter(0)->name, "copy");
  EXPECT_EQ(w.adapter_panel()->adapter(1)->name, "swap");
  EXPECT_FALSE(w.start_page_shown());
}

TEST(UiEmptyStates, DemoKitBuildRunsAsAJobAndCancelLeavesNoKit) {
  test::TempDir dir;
  const fs::path kit = dir.path() / "kit";
  qputenv("BASIN_KIT", QByteArray::fromStdString(kit.string()));
  qputenv("BASIN_KIT_SIZE", "tiny");
  MainWindow w;
  w.show();
  QSignalSpy progress(w.jobs(), &ui::JobRunner::progress);
  QSignalSpy cancelled(w.jobs(), &ui::JobRunner::cancelled);
  QTest::mouseClick(w.start_page()->demo_button(), Qt::LeftButton);
  qunsetenv("BASIN_KIT");
  qunsetenv("BASIN_KIT_SIZE");
  ASSERT_TRUE(w.jobs()->busy());
  EXPECT_FALSE(w.start_page()->demo_button()->isEnabled());
  ASSERT_TRUE(progress.wait(30000));
  w.jobs()->cancel();
  ASSERT_TRUE(wait_idle(w));
  EXPECT_EQ(cancelled.count(), 1);
  EXPECT_FALSE(fs::exists(kit / "kit.json"));
  EXPECT_TRUE(w.start_page_shown());
  EXPECT_TRUE(w.start_page()->demo_button()->isEnabled());
}
