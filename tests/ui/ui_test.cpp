// Qt tests that drive the real widgets offscreen (label ui): open a generated set, check the
// heatmap holds core's matrix, merge through the Merge view and load the saved folder in core,
// cancel a running job, refuse an incompatible adapter with a dialog, export figures, and
// reopen a study without recomputing.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <QTimer>

#include "adapter_panel.h"
#include "heatmap_plot.h"
#include "job_runner.h"
#include "lora/peft_io.h"
#include "main_window.h"
#include "merge_view.h"
#include "sample/sample_adapters.h"
#include "similarity_view.h"
#include "test_support.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;

namespace {

QStringList sample_set(const fs::path& dir, const std::string& shape, int n, int layers,
                       std::vector<int64_t> ranks = {2, 4}) {
  SampleSetOptions o;
  o.shape = shape;
  o.adapters = n;
  o.layers = layers;
  o.ranks = std::move(ranks);
  jobs::NullProgress p;
  QStringList out;
  for (const auto& path : write_sample_set(dir, o, p))
    out << QString::fromStdString(path.string());
  return out;
}

// Closes the next modal dialog once it appears and returns its text through `text`.
void close_next_dialog(QString* text) {
  auto* timer = new QTimer;
  QObject::connect(timer, &QTimer::timeout, [timer, text] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      *text = box->text();
      box->accept();
      timer->stop();
      timer->deleteLater();
    }
  });
  timer->start(20);
}

at::Tensor delta(const LoraModule& m) {
  return m.B.to(at::kDouble).mm(m.A.to(at::kDouble)) * m.scale;
}

bool wait_idle(MainWindow& w, int ms = 60000) {
  if (!w.jobs()->busy()) return true;
  QSignalSpy spy(w.jobs(), &ui::JobRunner::busyChanged);
  return spy.wait(ms);
}

}  // namespace

TEST(Ui, HeatmapShowsCoreMatrixAndMergeThroughTheViewSaves) {
  test::TempDir dir;
  const QStringList paths = sample_set(dir.path(), "tiny", 3, 0);
  MainWindow w;
  w.show();
  QSignalSpy sim(&w, &MainWindow::similarity_updated);
  w.open_adapters(paths);
  ASSERT_TRUE(sim.wait(30000));
  ASSERT_EQ(w.adapter_panel()->count(), 3);

  // The heatmap's cells hold what core computes for the same adapters.
  AdapterSet set;
  for (const auto& p : paths)
    set.add(load_peft_adapter(p.toStdString()));
  jobs::NullProgress np;
  const auto want = cosine_similarity(set, np).overall();
  auto* heat = w.similarity_view()->heatmap();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(heat->cell_value(i, j), want.values(i, j), 1e-12);

  // Merge through the view: pick cat, press Run, then save (the Save button's action).
  w.show_view(1);
  w.merge_view()->method_box()->setCurrentText("cat");
  QSignalSpy merged(&w, &MainWindow::merge_finished);
  QTest::mouseClick(w.merge_view()->run_button(), Qt::LeftButton);
  ASSERT_TRUE(merged.wait(30000));
  ASSERT_NE(w.merge_view()->result(), nullptr);
  const fs::path out = dir / "merged";
  w.save_merge(QString::fromStdString(out.string()));
  ASSERT_TRUE(merged.wait(30000));
  const auto back = load_peft_adapter(out);
  ASSERT_EQ(back->modules.size(), set.modules().size());
  for (const auto& m : back->modules) {
    at::Tensor ref;
    for (size_t i = 0; i < set.size(); ++i) {
      const auto d = delta(*set[i].find(m.name));
      ref = ref.defined() ? ref + d : d;
    }
    EXPECT_LT(test::rel_err(delta(m), ref), 1e-5) << m.name;
  }
}

TEST(Ui, CancelStopsTheJobAndWritesNothing) {
  test::TempDir dir;
  // Real Qwen2-0.5B shapes, 6 layers: a ties merge takes seconds, long enough to cancel.
  const QStringList paths = sample_set(dir.path() / "in", "qwen2-0.5b", 3, 6, {8});
  MainWindow w;
  QSignalSpy opened(&w, &MainWindow::adapters_opened);
  w.open_adapters(paths);
  ASSERT_TRUE(opened.wait(60000));
  ASSERT_TRUE(wait_idle(w));
  w.merge_view()->method_box()->setCurrentText("ties");
  const fs::path out = dir / "never";
  QSignalSpy progress(w.jobs(), &ui::JobRunner::progress);
  QSignalSpy cancelled(w.jobs(), &ui::JobRunner::cancelled);
  w.run_merge(QString::fromStdString(out.string()));
  ASSERT_TRUE(w.jobs()->busy());
  ASSERT_TRUE(progress.wait(30000));  // the merge is under way
  QTest::mouseClick(w.findChild<QPushButton*>("job_cancel"), Qt::LeftButton);
  ASSERT_TRUE(cancelled.count() > 0 || cancelled.wait(30000));
  EXPECT_FALSE(w.jobs()->busy());
  EXPECT_FALSE(fs::exists(out));
  for (const auto& f : test::list_files(dir.path()))
    EXPECT_EQ(f.find("never"), std::string::npos) << f;
  EXPECT_EQ(w.merge_view()->result(), nullptr);
}

TEST(Ui, IncompatibleAdapterIsRefusedWithADialog) {
  test::TempDir dir;
  const QStringList tiny = sample_set(dir.path() / "tiny", "tiny", 1, 1, {2});
  const QStringList big = sample_set(dir.path() / "big", "qwen2-0.5b", 1, 1, {2});
  MainWindow w;
  QSignalSpy opened(&w, &MainWindow::adapters_opened);
  w.open_adapters(tiny);
  ASSERT_TRUE(opened.wait(30000));
  QString text;
  close_next_dialog(&text);
  w.open_adapters(big);
  ASSERT_TRUE(opened.wait(30000));
  EXPECT_EQ(w.adapter_panel()->count(), 1);
  EXPECT_TRUE(text.contains("incompatible")) << text.toStdString();
  EXPECT_TRUE(text.contains("model.layers.0.")) << text.toStdString();
  // A folder that is not an adapter is named in the dialog too.
  close_next_dialog(&text);
  w.open_adapters({QString::fromStdString((dir / "nothing-here").string())});
  ASSERT_TRUE(opened.wait(30000));
  EXPECT_TRUE(text.contains("nothing-here")) << text.toStdString();
}

TEST(Ui, ExportWritesRealPngSvgPdfAndCsv) {
  test::TempDir dir;
  MainWindow w;
  QSignalSpy sim(&w, &MainWindow::similarity_updated);
  w.open_adapters(sample_set(dir.path() / "in", "tiny", 2, 0));
  ASSERT_TRUE(sim.wait(30000));
  const std::map<std::string, std::string> magic{
      {"png", "\x89PNG\r\n\x1a\n"}, {"svg", "<?xml"}, {"pdf", "%PDF-"}};
  for (const auto& [ext, head] : magic) {
    const fs::path p = dir / ("fig." + ext);
    ASSERT_TRUE(w.export_figure(QString::fromStdString(p.string()), 200)) << ext;
    const std::string bytes = test::read_bytes(p);
    EXPECT_GT(bytes.size(), 2000u) << ext;
    EXPECT_EQ(bytes.substr(0, head.size()), head) << ext;
  }
  EXPECT_NE(test::read_bytes(dir / "fig.svg").find("<svg"), std::string::npos);
  ASSERT_TRUE(w.export_data(QString::fromStdString((dir / "m.csv").string())));
  EXPECT_EQ(test::read_bytes(dir / "m.csv").substr(0, 33), "cosine similarity,sample-a,sample");
  // The layer profile exports its own data (one row per layer and pair) and figure.
  auto* profile = w.similarity_view()->profile();
  ASSERT_TRUE(w.export_data(QString::fromStdString((dir / "p.csv").string()), profile));
  EXPECT_EQ(test::read_bytes(dir / "p.csv"),
            "layer,adapter_i,adapter_j,cosine\n0,sample-a,sample-b," +
                format_double(w.similarity_view()->result()->layer(0).values(0, 1)) +
                "\n1,sample-a,sample-b," +
                format_double(w.similarity_view()->result()->layer(1).values(0, 1)) + "\n");
  ASSERT_TRUE(w.export_figure(QString::fromStdString((dir / "p.png").string()), 96, profile));
  EXPECT_EQ(test::read_bytes(dir / "p.png").substr(0, 4), "\x89PNG");
}

TEST(Ui, StudyReopensWithoutRecomputing) {
  test::TempDir dir;
  const QStringList paths = sample_set(dir.path() / "in", "tiny", 3, 0);
  const QString study = QString::fromStdString((dir / "s.basin.json").string());
  std::vector<double> shown;
  {
    MainWindow w;
    QSignalSpy sim(&w, &MainWindow::similarity_updated);
    w.open_adapters(paths);
    ASSERT_TRUE(sim.wait(30000));
    ASSERT_TRUE(wait_idle(w));
    w.adapter_panel()->set_weight(1, 0.25);
    w.merge_view()->method_box()->setCurrentText("ties");
    for (int i = 0; i < 3; ++i)
      shown.push_back(w.similarity_view()->heatmap()->cell_value(0, i));
    ASSERT_TRUE(w.save_study(study));
  }
  MainWindow w2;
  QSignalSpy started(w2.jobs(), &ui::JobRunner::started);
  ASSERT_TRUE(w2.open_study(study));
  QTest::qWait(100);
  EXPECT_EQ(started.count(), 0) << "reopening a study must not recompute";
  EXPECT_EQ(w2.adapter_panel()->count(), 3);
  EXPECT_EQ(w2.adapter_panel()->weight(1), 0.25);
  EXPECT_EQ(w2.merge_view()->method_box()->currentText(), "ties");
  for (int i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(w2.similarity_view()->heatmap()->cell_value(0, i),
                     shown[static_cast<size_t>(i)]);
}

// Issue 9 point 2: pathological JSON (300,000-deep nesting, a 10 MB string) in an adapter or a
// study gives a dialog with a short message; the open adapter set stays as it was.
TEST(Ui, BadJsonShowsADialogAndKeepsTheOpenSet) {
  test::TempDir dir;
  const QStringList paths = sample_set(dir.path() / "in", "tiny", 2, 0);
  MainWindow w;
  QSignalSpy opened(&w, &MainWindow::adapters_opened);
  w.open_adapters(paths);
  ASSERT_TRUE(opened.wait(30000));
  ASSERT_TRUE(wait_idle(w));
  ASSERT_EQ(w.adapter_panel()->count(), 2);
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  // An adapter whose "r" is nested 300,000 deep (it crashed the CLI: printing it recursed).
  fs::copy(paths[0].toStdString(), dir / "bad", fs::copy_options::recursive);
  test::write_bytes(dir / "bad" / "adapter_config.json", "{\"r\": " + deep + "}");
  QString text;
  close_next_dialog(&text);
  w.open_adapters({QString::fromStdString((dir / "bad").string())});
  ASSERT_TRUE(opened.wait(30000));
  EXPECT_TRUE(text.contains("adapter_config.json")) << text.toStdString();
  EXPECT_TRUE(text.contains("nesting deeper")) << text.toStdString();
  EXPECT_LT(text.size(), 1000) << text.toStdString();
  EXPECT_EQ(w.adapter_panel()->count(), 2);
  // Studies: deep nesting, a 10 MB string where the format number goes, a duplicate key.
  const std::vector<std::pair<std::string, std::string>> studies = {
      {"{\"basin_study\": 1, \"adapters\": " + deep + "}", "nesting deeper"},
      {"{\"basin_study\": \"" + std::string(10 << 20, 'z') + "\"}", "basin_study"},
      {R"({"basin_study": 1, "adapters": [], "adapters": []})", "duplicate key 'adapters'"}};
  for (const auto& [content, expect] : studies) {
    test::write_bytes(dir / "bad.basin.json", content);
    text.clear();
    close_next_dialog(&text);
    EXPECT_FALSE(w.open_study(QString::fromStdString((dir / "bad.basin.json").string())));
    EXPECT_TRUE(text.contains("bad.basin.json")) << text.toStdString();
    EXPECT_TRUE(text.contains(QString::fromStdString(expect))) << text.toStdString();
    EXPECT_LT(text.size(), 1000) << text.left(2000).toStdString();
    EXPECT_EQ(w.adapter_panel()->count(), 2);
  }
}

// Settings ▸ Compute device: the status bar names the device and the thread count; a saved
// device this build cannot use is refused in a dialog naming it, and the choice falls back to
// automatic; picking the CPU is remembered.
TEST(Ui, ComputeDeviceIsChosenInSettingsAndShownInTheStatusBar) {
  QSettings().setValue("device", "cuda:7");
  MainWindow w;
  auto* label = w.findChild<QLabel*>("device_status");
  ASSERT_NE(label, nullptr);
  EXPECT_EQ(label->text(), QString("CPU · %1 threads").arg(compute_threads()));
  auto* menu = w.findChild<QMenu*>("device_menu");
  ASSERT_NE(menu, nullptr);
  QAction* checked = nullptr;
  QAction* cpu = nullptr;
  QAction* unavailable = nullptr;
  for (QAction* a : menu->actions()) {
    if (a->isChecked()) checked = a;
    if (a->data().toString() == "cpu") cpu = a;
    if (!a->isEnabled()) unavailable = a;
  }
  if (!cuda_available()) {
    const auto boxes = w.findChildren<QMessageBox*>("basin_error");
    ASSERT_EQ(boxes.size(), 1);
    EXPECT_TRUE(boxes[0]->text().contains("'cuda:7'")) << boxes[0]->text().toStdString();
    boxes[0]->accept();
    ASSERT_NE(unavailable, nullptr);  // says there is no CUDA in this build
    EXPECT_TRUE(unavailable->text().contains("CUDA"));
  }
  ASSERT_NE(checked, nullptr);
  EXPECT_EQ(checked->data().toString(), "auto");
  EXPECT_EQ(QSettings().value("device").toString(), "auto");
  ASSERT_NE(cpu, nullptr);
  cpu->trigger();
  EXPECT_TRUE(cpu->isChecked());
  EXPECT_EQ(QSettings().value("device").toString(), "cpu");
  EXPECT_EQ(compute_device_name(), "cpu");
  QSettings().remove("device");
  // Settings ▸ Evaluation precision: bf16 is applied, remembered and shown beside the device.
  auto* precision = w.findChild<QMenu*>("precision_menu");
  ASSERT_NE(precision, nullptr);
  for (QAction* a : precision->actions())
    if (a->data().toString() == "bf16") a->trigger();
  EXPECT_EQ(eval_precision(), EvalPrecision::kBf16);
  EXPECT_TRUE(label->text().endsWith("· bf16")) << label->text().toStdString();
  EXPECT_EQ(QSettings().value("precision").toString(), "bf16");
  for (QAction* a : precision->actions())
    if (a->data().toString() == "fp32") a->trigger();
  EXPECT_EQ(eval_precision(), EvalPrecision::kFp32);
  QSettings().remove("precision");
}

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM",
          qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
  QApplication app(argc, argv);
  QApplication::setOrganizationName("BasinTest");
  QApplication::setApplicationName("BasinTest");
  QStandardPaths::setTestModeEnabled(true);  // QSettings go to a test location
  basin::init_runtime();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
