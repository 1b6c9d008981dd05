// The landscape views, offscreen (label ui): a connectivity sweep streams pairs into the
// heatmap and ends holding core's matrix, a cell click shows its curve; CKA, greedy soup, the
// loss surface and the multitask study fill their views; a saved study reopens with every view
// filled and no job started. Everything runs on a tiny random model written by the test.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QMessageBox>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>
#include <QTimer>

#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "cka_view.h"
#include "data/task.h"
#include "heatmap_plot.h"
#include "job_runner.h"
#include "landscape/sweep.h"
#include "landscape/workbench.h"
#include "landscape_view.h"
#include "lora/peft_io.h"
#include "main_window.h"
#include "model/causal_lm.h"
#include "multitask_view.h"
#include "soup_view.h"
#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "tiny_kit.h"
#include "view_support.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;
using namespace basin::test::uikit;

TEST(UiLandscape, SweepStreamsIntoTheHeatmapAndEndsWithCoresMatrix) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  fail_on_dialog();
  MainWindow w;
  w.show();
  QSignalSpy sim(&w, &MainWindow::similarity_updated);
  w.open_adapters(kit.adapters);
  ASSERT_TRUE(sim.wait(30000));
  ASSERT_TRUE(wait_idle(w));
  // The setup defaults to the model the adapters name and the tasks beside it.
  const LandscapeSetup setup = w.landscape_setup();
  EXPECT_EQ(fs::weakly_canonical(setup.model), fs::weakly_canonical(kit.model));
  ASSERT_EQ(setup.tasks.size(), 2u);

  auto* view = w.landscape_view();
  SweepRange range;
  range.alpha_min = -0.5;
  range.alpha_max = 1.5;
  range.intervals = 8;
  view->set_range(range);
  QSignalSpy partial(view, &ui::LandscapeView::partial_shown);
  QSignalSpy done(&w, &MainWindow::connectivity_finished);
  w.show_view(2);
  QTest::mouseClick(view->run_button(), Qt::LeftButton);
  ASSERT_TRUE(done.wait(60000));
  // Three pairs arrive one by one: the heatmap was drawn while pairs were still missing.
  ASSERT_GE(partial.count(), 2);
  EXPECT_LT(partial.front().at(0).toInt(), 3);
  EXPECT_EQ(partial.back().at(0).toInt(), 3);

  // The cells hold what core computes for the same setup, independently of the view.
  AdapterSet set;
  for (const auto& p : kit.adapters)
    set.add(load_peft_adapter(p.toStdString()));
  std::vector<std::shared_ptr<const Adapter>> bank;
  for (size_t i = 0; i < set.size(); ++i)
    bank.push_back(set.ptr(i));
  jobs::NullProgress np;
  const auto bench = Workbench::open(setup, bank, np);
  const PointEvaluator eval = bench->evaluator();
  const auto want = connectivity(eval, bank_endpoints(bench->labels), sweep_alphas(range), np);
  for (const std::string which : {"convexity_gap", "barrier", "error_barrier"}) {
    view->set_metric(which);
    const PairwiseMatrix m = want.matrix(which);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        EXPECT_NEAR(view->heatmap()->cell_value(i, j), m.values(i, j), 1e-9) << which;
    // None of the three can be negative: a sequential colour scale (issue 11, point 6).
    EXPECT_TRUE(view->heatmap()->sequential()) << which;
  }
  // A cell click shows that pair's curve: loss, chord, hull and token error over 9 points.
  const QPoint cell(view->heatmap()->xAxis->coordToPixel(2),
                    view->heatmap()->yAxis->coordToPixel(1));
  QTest::mouseClick(view->heatmap(), Qt::LeftButton, {}, cell);
  ASSERT_NE(view->selected_curve(), nullptr);
  EXPECT_EQ(view->selected_curve()->a, "swap");
  EXPECT_EQ(view->selected_curve()->b, "other");
  ASSERT_GE(view->curve_plot()->graphCount(), 4);
  EXPECT_EQ(view->curve_plot()->graph(0)->dataCount(), 9);
  EXPECT_NEAR(view->curve_plot()->graph(0)->data()->at(0)->value, want.curve(1, 2)->loss[0], 1e-9);
  // Export data of both plots.
  const fs::path csv = dir / "conn.csv", curve_json = dir / "curve.json";
  ASSERT_TRUE(w.export_data(QString::fromStdString(csv.string()), view->heatmap()));
  const std::string bytes = test::read_bytes(csv);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "error_barrier,copy,swap,other");
  EXPECT_EQ(std::count(bytes.begin(), bytes.end(), '\n'), 4);
  ASSERT_TRUE(w.export_data(QString::fromStdString(curve_json.string()), view->curve_plot()));
  EXPECT_EQ(nlohmann::json::parse(test::read_bytes(curve_json)).at("a"), "swap");
}

TEST(UiLandscape, AnalysesFillTheirViewsAndAStudyReopensWithoutAJob) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  fail_on_dialog();
  const QString study = QString::fromStdString((dir / "s.basin.json").string());
  std::vector<double> conn, cka;
  double soup_loss = 0, surface_loss = 0;
  std::string multitask_json;
  {
    MainWindow w;
    QSignalSpy sim(&w, &MainWindow::similarity_updated);
    w.open_adapters(kit.adapters);
    ASSERT_TRUE(sim.wait(30000));  // the similarity job, saved in the study too
    ASSERT_TRUE(wait_idle(w));
    QSignalSpy c_done(&w, &MainWindow::connectivity_finished);
    w.run_connectivity();
    ASSERT_TRUE(c_done.wait(60000));

    ui::CkaOptions co;
    co.inputs = 16;
    w.cka_view()->set_options(co);
    QSignalSpy k_done(&w, &MainWindow::cka_finished);
    w.run_cka();
    ASSERT_TRUE(k_done.wait(60000));
    const auto& m = *w.cka_view()->result();
    ASSERT_EQ(m.labels, (std::vector<std::string>{"base", "copy", "swap", "other"}));
    EXPECT_NEAR(m.values(1, 1), 1.0, 1e-9);
    EXPECT_EQ(w.cka_view()->table()->rowCount(), 4);
    EXPECT_EQ(w.cka_view()->table()->item(0, 1)->text(), ui::format_value(m.values(0, 1)));

    QSignalSpy s_done(&w, &MainWindow::soup_finished);
    w.run_soup();
    ASSERT_TRUE(s_done.wait(60000));
    const auto& soup = *w.soup_view()->soup();
    EXPECT_LE(soup.loss, soup.single_loss[static_cast<size_t>(soup.best_single())] + 1e-12);
    EXPECT_EQ(w.soup_view()->path_table()->rowCount(), static_cast<int>(soup.steps.size()) + 2);
    // Save the soup: a `cat` merge whose ΔW is the soup's combination of the inputs.
    const fs::path out = dir / "soup";
    QSignalSpy saved(&w, &MainWindow::soup_saved);
    w.save_soup(QString::fromStdString(out.string()));
    ASSERT_TRUE(saved.wait(30000));
    const auto back = load_peft_adapter(out);
    EXPECT_EQ(back->modules.size(), 4u);

    w.soup_view()->set_grid(5);
    // The surface spans the first three adapters by default (index 0 is the base model).
    EXPECT_EQ(w.soup_view()->anchors(), (std::array<int, 3>{1, 2, 3}));
    QSignalSpy f_done(&w, &MainWindow::surface_finished);
    w.run_surface();
    ASSERT_TRUE(f_done.wait(60000));
    ASSERT_EQ(w.soup_view()->surface()->x.size(), 5u);

    // Adapters "copy" and "swap" map to their tasks by name; "other" is not used.
    EXPECT_EQ(w.multitask_view()->mapping(), (QStringList{"copy", "swap", ""}));
    QSignalSpy m_done(&w, &MainWindow::multitask_finished);
    w.run_multitask();
    ASSERT_TRUE(m_done.wait(60000));
    const auto& mt = *w.multitask_view()->result();
    ASSERT_EQ(mt.tasks, (std::vector<std::string>{"copy", "swap"}));
    EXPECT_GT(w.multitask_view()->bars_plot()->plottableCount(), 2);

    for (int i = 0; i < 3; ++i)
      conn.push_back(w.landscape_view()->heatmap()->cell_value(0, i));
    for (int i = 0; i < 4; ++i)
      cka.push_back(w.cka_view()->heatmap()->cell_value(1, i));
    soup_loss = soup.loss;
    surface_loss = w.soup_view()->surface()->loss(2, 2);
    multitask_json = mt.to_json().dump();
    ASSERT_TRUE(w.save_study(study));
  }
  MainWindow w2;
  QSignalSpy started(w2.jobs(), &ui::JobRunner::started);
  ASSERT_TRUE(w2.open_study(study));
  QTest::qWait(100);
  EXPECT_EQ(started.count(), 0) << "reopening a study must not recompute: "
                                << (started.isEmpty()
                                        ? std::string()
                                        : started.front().at(0).toString().toStdString());
  for (int i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(w2.landscape_view()->heatmap()->cell_value(0, i),
                     conn[static_cast<size_t>(i)]);
  for (int i = 0; i < 4; ++i)
    EXPECT_DOUBLE_EQ(w2.cka_view()->heatmap()->cell_value(1, i), cka[static_cast<size_t>(i)]);
  ASSERT_TRUE(w2.soup_view()->soup());
  EXPECT_DOUBLE_EQ(w2.soup_view()->soup()->loss, soup_loss);
  EXPECT_GT(w2.soup_view()->path_table()->rowCount(), 1);
  ASSERT_TRUE(w2.soup_view()->surface());
  EXPECT_DOUBLE_EQ(w2.soup_view()->surface()->loss(2, 2), surface_loss);
  ASSERT_TRUE(w2.multitask_view()->result());
  EXPECT_EQ(w2.multitask_view()->result()->to_json().dump(), multitask_json);
  EXPECT_GT(w2.multitask_view()->bars_plot()->plottableCount(), 2);
  EXPECT_NE(w2.landscape_view()->selected_curve(), nullptr);
  EXPECT_EQ(fs::weakly_canonical(w2.landscape_setup().model), fs::weakly_canonical(kit.model));
  EXPECT_EQ(started.count(), 0);
}
