// The Gates view, offscreen (label ui): Arrow routing and a MoLE gate trained as a job fill the
// usage heatmap with core's statistics for the same gate, the loss curve gets one point per
// step, the gate saves as a folder that loads, and a saved study reopens with the statistics.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QSignalSpy>

#include <qcustomplot.h>

#include "gate/gate_folder.h"
#include "gates_view.h"
#include "heatmap_plot.h"
#include "landscape/gate_stats.h"
#include "landscape/workbench.h"
#include "lora/peft_io.h"
#include "tiny_kit.h"
#include "train/gate_training.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;
using namespace basin::test::uikit;

TEST(UiGates, ArrowAndMoleFillTheViewWithCoresStatisticsAndReopen) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  fail_on_dialog();
  const QString study = QString::fromStdString((dir / "g.basin.json").string());
  GateStats mole_stats;
  {
    MainWindow w;
    QSignalSpy sim(&w, &MainWindow::similarity_updated);
    w.open_adapters(kit.adapters);
    ASSERT_TRUE(sim.wait(30000));
    ASSERT_TRUE(wait_idle(w));
    auto* view = w.gates_view();
    EXPECT_FALSE(w.has_gate());

    // Arrow: the heatmap holds what core computes for the same gate on the same inputs.
    ui::GateViewOptions o;
    o.kind = "arrow";
    o.top_k = 2;
    view->set_options(o);
    QSignalSpy done(&w, &MainWindow::gate_finished);
    w.run_gate();
    ASSERT_TRUE(done.wait(60000));
    ASSERT_TRUE(w.has_gate());
    const LandscapeSetup setup = w.landscape_setup();
    std::vector<std::shared_ptr<const Adapter>> bank;
    for (const auto& a : kit.adapters)
      bank.push_back(load_peft_adapter(a.toStdString()));
    jobs::NullProgress np;
    const auto bench = Workbench::open(setup, bank, np);
    const Gate arrow = build_arrow_gate(bench->adapters, ArrowOptions{2, 1.0});
    const GateStats want = gate_statistics(bench->model, bench->tokenizer, arrow, bench->tasks,
                                           "test", setup.limit, np);
    ASSERT_TRUE(view->result().has_value());
    EXPECT_EQ(view->result()->experts, (std::vector<std::string>{"copy", "swap", "other"}));
    EXPECT_EQ(view->usage_box()->count(), static_cast<int>(want.usage.size()));
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        EXPECT_NEAR(view->heatmap()->cell_value(i, j), want.usage[0](i, j), 1e-12) << i << j;
    // Layer 1's matrix on request.
    view->usage_box()->setCurrentIndex(2);
    EXPECT_NEAR(view->heatmap()->cell_value(0, 0), want.usage[2](0, 0), 1e-12);

    // MoLE: a few steps, one loss point each, then its statistics.
    o.kind = "mole";
    o.steps = 4;
    o.train_limit = 8;
    view->set_options(o);
    w.run_gate();
    ASSERT_TRUE(done.wait(120000));
    EXPECT_EQ(view->loss_plot()->graph(0)->dataCount(), 4);
    ASSERT_TRUE(view->result().has_value());
    EXPECT_EQ(view->result()->kind, "mole");
    EXPECT_EQ(view->result()->losses.size(), 4u);
    for (int i = 0; i < 2; ++i) {
      double sum = 0;
      for (int j = 0; j < 3; ++j)
        sum += view->heatmap()->cell_value(i, j);
      EXPECT_NEAR(sum, 1.0, 1e-5);  // a mean of softmaxes
    }
    mole_stats = *view->result();

    // Save the gate: a folder that loads with the same experts.
    QSignalSpy saved(&w, &MainWindow::gate_saved);
    w.save_gate(QString::fromStdString((dir / "gate").string()));
    ASSERT_TRUE(saved.wait(30000));
    const Gate back = load_gate(dir / "gate");
    EXPECT_EQ(back.kind, GateKind::Mole);
    EXPECT_EQ(back.expert_names(), (std::vector<std::string>{"copy", "swap", "other"}));
    ASSERT_TRUE(w.save_study(study));
  }
  MainWindow w2;
  ASSERT_TRUE(w2.open_study(study));
  ASSERT_TRUE(wait_idle(w2));
  ASSERT_TRUE(w2.gates_view()->result().has_value());
  EXPECT_EQ(w2.gates_view()->result()->kind, "mole");
  EXPECT_EQ(w2.gates_view()->result()->losses, mole_stats.losses);
  EXPECT_DOUBLE_EQ(w2.gates_view()->heatmap()->cell_value(1, 2), mole_stats.usage[0](1, 2));
  EXPECT_FALSE(w2.has_gate());  // statistics reopen; the gate itself lives in its folder
}
