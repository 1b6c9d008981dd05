// The demo study, offscreen (label ui): opened on a kit, the window fills the similarity view
// at once, then the queued connectivity (over the kit's seed/rank family, or its task adapters),
// CKA and multitask jobs fill their views by themselves; a cancel (Esc) stops the running job and
// drops the queued ones. And the multitask bars never put a raw metric beside scores relative to
// the oracle.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QLabel>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTest>

#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "cka_view.h"
#include "demo_plan.h"
#include "figures.h"
#include "job_runner.h"
#include "landscape_view.h"
#include "multitask_view.h"
#include "similarity_view.h"
#include "test_support.h"
#include "tiny_kit.h"
#include "util/errors.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;
using namespace basin::test::uikit;

namespace {

// The tiny kit with a manifest and a family of "copy": a seed and a rank variant (copies of the
// copy adapter: the queue and the result sizes are under test here, not the values).
void add_family(const fs::path& dir) {
  basin::test::write_bytes(dir / "kit.json", nlohmann::json{{"tasks", {"copy", "swap"}}}.dump());
  for (const char* name : {"copy-seed1", "copy-r4"})
    fs::copy(dir / "adapters" / "copy", dir / "adapters" / name, fs::copy_options::recursive);
}

// Spins the event loop until the job queue has run dry, or `ms` pass.
bool wait_queue(MainWindow& w, int ms = 120000) {
  QElapsedTimer t;
  t.start();
  while (w.jobs()->busy() && t.elapsed() < ms)
    QTest::qWait(50);
  return !w.jobs()->busy();
}

}  // namespace

TEST(UiDemoStudy, PlanFindsTheFamilyAndFillsTheSetupFromTheKit) {
  test::TempDir dir;
  make_kit(dir.path());
  add_family(dir.path());
  const auto plan = ui::demo_plan(QString::fromStdString(dir.path().string()));
  EXPECT_EQ(plan.task_adapters.size(), 2);  // "other" is not a task's adapter
  EXPECT_EQ(plan.family_task, "copy");
  EXPECT_EQ(plan.family, (QStringList{"copy", "copy-seed1", "copy-r4"}));
  EXPECT_EQ(plan.open.size(), 4);  // copy, swap, copy-seed1, copy-r4
  EXPECT_EQ(fs::weakly_canonical(plan.setup.model), fs::weakly_canonical(dir.path() / "model"));
  EXPECT_EQ(plan.setup.tasks.size(), 2u);
  EXPECT_EQ(plan.setup.limit, 16u);
  ASSERT_EQ(plan.family_setup.tasks.size(), 1u);
  EXPECT_EQ(plan.family_setup.tasks[0].filename(), "copy.json");
  // Not a kit: an InputError naming the folder (the window shows it in a dialog).
  EXPECT_THROW(ui::demo_plan(QString::fromStdString((dir.path() / "tasks").string())), InputError);
}

TEST(UiDemoStudy, ViewsFillByThemselvesAsTheQueuedJobsFinish) {
  test::TempDir dir;
  make_kit(dir.path());
  add_family(dir.path());
  fail_on_dialog();
  MainWindow w;
  w.show();
  QSignalSpy similarity(&w, &MainWindow::similarity_updated);
  QSignalSpy started(w.jobs(), &ui::JobRunner::started);
  QSignalSpy cancelled(w.jobs(), &ui::JobRunner::cancelled);
  w.open_demo_study(QString::fromStdString(dir.path().string()));
  // Similarity comes first, before any queued job.
  ASSERT_TRUE(similarity.wait(60000));
  ASSERT_TRUE(w.similarity_view()->result().has_value());
  EXPECT_EQ(w.similarity_view()->result()->overall().labels.size(), 4u);
  EXPECT_EQ(w.landscape_setup().limit, 16u);
  EXPECT_EQ(w.landscape_setup().tasks.size(), 2u);
  ASSERT_TRUE(wait_queue(w));
  QStringList titles;
  for (const auto& args : started)
    titles << args.at(0).toString();
  // Opening, similarity, then the queue's three jobs in order, one at a time.
  ASSERT_EQ(titles.size(), 5) << titles.join(", ").toStdString();
  EXPECT_EQ(titles.mid(1),
            (QStringList{"Cosine similarity", "Connectivity sweeps", "CKA", "Multitask study"}));
  EXPECT_EQ(cancelled.count(), 0);

  // Connectivity: the family (3 adapters, no base), every pair swept at 7 points.
  const auto& conn = w.landscape_view()->result();
  ASSERT_TRUE(conn.has_value());
  EXPECT_EQ(conn->labels, (std::vector<std::string>{"copy", "copy-seed1", "copy-r4"}));
  EXPECT_EQ(conn->curves.size(), 3u);
  for (const auto& c : conn->curves)
    EXPECT_EQ(c.alpha.size(), 7u);
  EXPECT_FALSE(w.landscape_view()->note().isEmpty());  // it says the sweeps used one task
  // CKA: the base model and every included adapter.
  const auto& cka = w.cka_view()->result();
  ASSERT_TRUE(cka.has_value());
  EXPECT_EQ(cka->labels.size(), 5u);
  EXPECT_EQ(cka->values.rows(), 5);
  // Multitask: the two tasks their adapters are named after, the cheap methods only.
  const auto& mt = w.multitask_view()->result();
  ASSERT_TRUE(mt.has_value());
  EXPECT_EQ(mt->tasks, (std::vector<std::string>{"copy", "swap"}));
  EXPECT_EQ(mt->methods(),
            (std::vector<std::string>{"oracle", "base", "linear", "ties", "task_arithmetic"}));
  // The limits are shown in the status bar.
  auto* label = w.statusBar()->findChild<QLabel*>("queue_status");
  ASSERT_NE(label, nullptr);
  EXPECT_TRUE(label->text().contains("16 examples/task")) << label->text().toStdString();
  EXPECT_TRUE(label->text().contains("7 points")) << label->text().toStdString();
}

TEST(UiDemoStudy, CancelStopsTheQueue) {
  test::TempDir dir;
  make_kit(dir.path());
  add_family(dir.path());
  fail_on_dialog();
  MainWindow w;
  w.show();
  QSignalSpy cancelled(w.jobs(), &ui::JobRunner::cancelled);
  QStringList titles;
  QObject::connect(w.jobs(), &ui::JobRunner::started, [&](const QString& t) {
    titles << t;
    if (t == "Connectivity sweeps") {
      EXPECT_EQ(w.jobs()->queued_titles(), (QStringList{"CKA", "Multitask study"}));
      w.jobs()->cancel();  // Esc as the first sweep starts
    }
  });
  w.open_demo_study(QString::fromStdString(dir.path().string()));
  ASSERT_TRUE(cancelled.wait(60000));
  ASSERT_TRUE(wait_idle(w));
  QTest::qWait(500);  // a queued job would have started by now
  EXPECT_FALSE(w.jobs()->busy());
  EXPECT_TRUE(w.jobs()->queued_titles().isEmpty());
  EXPECT_EQ(titles.last(), "Connectivity sweeps") << titles.join(", ").toStdString();
  EXPECT_FALSE(w.cka_view()->result().has_value());
  EXPECT_FALSE(w.multitask_view()->result().has_value());
}

TEST(UiDemoStudy, NotAKitShowsADialog) {
  test::TempDir dir;
  MainWindow w;
  w.show();
  QString text;
  QTimer poll;  // sooner than any other test's dialog watcher in the same process
  QObject::connect(&poll, &QTimer::timeout, [&] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      text = box->text();
      box->accept();
    }
  });
  poll.start(5);
  w.open_demo_study(QString::fromStdString(dir.path().string()));
  EXPECT_TRUE(text.contains("adapters/")) << text.toStdString();
  EXPECT_FALSE(w.jobs()->busy());
}

TEST(UiDemoStudy, MultitaskBarsLeaveOutTasksWhoseOracleScoresZero) {
  MultitaskResult r;
  r.tasks = {"a", "b"};
  r.metrics = {"exact_match", "exact_match"};
  MultitaskTable t;
  t.task_count = 2;
  t.rows = {{"oracle", {0.5, 0.0}, 1.0}, {"linear", {0.25, 0.75}, 0.5}};
  r.tables = {t};
  QCustomPlot plot;
  ui::draw_multitask_bars(&plot, r);
  EXPECT_TRUE(plot.yAxis->label().contains("oracle > 0")) << plot.yAxis->label().toStdString();
  // Linear: task a relative (0.25 / 0.5), task b left out (its raw 0.75 is not on this axis),
  // then the multitask group.
  QCPBars* linear = nullptr;
  for (int i = 0; i < plot.plottableCount(); ++i)
    if (plot.plottable(i)->name() == "linear") linear = qobject_cast<QCPBars*>(plot.plottable(i));
  ASSERT_NE(linear, nullptr);
  ASSERT_EQ(linear->data()->size(), 2);
  EXPECT_DOUBLE_EQ(linear->data()->at(0)->key, 0.0);
  EXPECT_DOUBLE_EQ(linear->data()->at(0)->value, 0.5);
  EXPECT_DOUBLE_EQ(linear->data()->at(1)->key, 2.0);  // the "multitask" group
  EXPECT_DOUBLE_EQ(linear->data()->at(1)->value, 0.5);
  // Every tick is labelled, the multitask group saying over how many tasks it is taken.
  plot.resize(640, 420);
  plot.replot();
  const QVector<QString> labels = plot.xAxis->tickVectorLabels();
  const QVector<double> ticks = plot.xAxis->tickVector();
  for (int i = 0; i < ticks.size(); ++i)
    std::fprintf(stderr, "tick %g: %s\n", ticks[i], qPrintable(labels[i]));
  EXPECT_TRUE(labels.contains("multitask (1 of 2)"));
}
