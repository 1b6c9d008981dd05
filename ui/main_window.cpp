#include "main_window.h"

#include <qcustomplot.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>

#include "adapter_panel.h"
#include "cka_view.h"
#include "gates_view.h"
#include "heatmap_plot.h"
#include "interpolate_view.h"
#include "job_runner.h"
#include "landscape_view.h"
#include "merge_view.h"
#include "multitask_view.h"
#include "plot_style.h"
#include "similarity_view.h"
#include "soup_view.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "view_support.h"

namespace basin::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), theme_(Theme::Light) {
  setWindowTitle(tr("Basin"));
  setWindowIcon(QIcon(":/basin/icons/basin.svg"));
  setAcceptDrops(true);
  jobs_ = new JobRunner(this);
  panel_ = new AdapterPanel(this);
  similarity_ = new SimilarityView(this);
  merge_ = new MergeView(this);
  tabs_ = new QTabWidget(this);
  tabs_->setObjectName("views");
  tabs_->addTab(similarity_, tr("Similarity"));
  tabs_->addTab(merge_, tr("Merge"));
  build_landscape_views();
  splitter_ = new QSplitter(Qt::Horizontal, this);
  splitter_->setObjectName("main_splitter");
  splitter_->addWidget(panel_);
  splitter_->addWidget(tabs_);
  splitter_->setStretchFactor(0, 2);
  splitter_->setStretchFactor(1, 5);
  build_start_page();
  build_status_bar();
  build_menus();

  connect(panel_, &AdapterPanel::open_requested, this, [this] {
    QSettings s;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open adapter folder"),
                                                          s.value("last_folder").toString());
    if (!dir.isEmpty()) open_adapters({dir});
  });
  connect(panel_, &AdapterPanel::set_changed, this, [this] {
    update_start_page();
    similarity_stale_ = true;
    update_weights_text();
    refresh_landscape_inputs();
    schedule_similarity();
  });
  connect(panel_, &AdapterPanel::weights_changed, this, &MainWindow::update_weights_text);
  connect(merge_, &MergeView::run_requested, this, [this] { run_merge(); });
  connect(merge_, &MergeView::save_requested, this, [this] {
    QSettings s;
    const QString dir =
        QFileDialog::getSaveFileName(this, tr("Save merged adapter as a PEFT folder"),
                                     s.value("last_folder").toString() + "/merged");
    if (!dir.isEmpty()) save_merge(dir);
  });
  connect(merge_, &MergeView::add_to_set_requested, this, &MainWindow::add_merge_to_set);
  connect(similarity_, &SimilarityView::export_requested, this,
          [this](QCustomPlot* plot, bool data) { export_dialog(data, plot); });
  // One paint buffer per plot instead of two: QCustomPlot buffers its "overlay" layer apart,
  // for selection rectangles Basin does not draw. A plot's first show and every resize then
  // allocate and clear half the memory (the first show of all eight views: 195 -> 115 ms of
  // GUI-thread CPU on the shared 2-core machine).
  for (auto* plot : findChildren<QCustomPlot*>())
    plot->layer("overlay")->setMode(QCPLayer::lmLogical);
  restore_settings();
  update_weights_text();
}

MainWindow::~MainWindow() {
  jobs_->cancel();
  jobs_->wait();
}

void MainWindow::build_status_bar() {
  // Long texts in the status bar are cut, not allowed to widen the window: a wider minimum
  // resized the window as jobs queued, and every plot redrew in new paint buffers.
  stage_ = new QLabel(tr("Ready"), this);
  stage_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  stage_->setMinimumWidth(200);
  jobs_label_ = new QLabel(this);
  jobs_label_->setObjectName("job_list");
  jobs_label_->setVisible(false);
  queue_label_ = new QLabel(this);
  queue_label_->setObjectName("queue_status");
  queue_label_->setVisible(false);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("job_progress");
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(260);
  progress_->setVisible(false);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName("job_cancel");
  cancel_->setToolTip(tr("Stop the running job and drop the queued ones (Esc)"));
  cancel_->setVisible(false);
  device_label_ = new QLabel(this);
  device_label_->setObjectName("device_status");
  device_label_->setToolTip(tr("Where jobs compute (Settings ▸ Compute device)"));
  statusBar()->addWidget(stage_, 1);
  statusBar()->addPermanentWidget(jobs_label_);
  statusBar()->addPermanentWidget(queue_label_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);
  statusBar()->addPermanentWidget(device_label_);
  connect(cancel_, &QPushButton::clicked, jobs_, &JobRunner::cancel);
  connect(jobs_, &JobRunner::started, this, [this](const QString& title) {
    stage_->setText(title);
    progress_->setValue(0);
  });
  connect(jobs_, &JobRunner::progress, this, [this](double f, const QString& stage) {
    progress_->setValue(static_cast<int>(f * 1000));
    stage_->setText(stage);
  });
  connect(jobs_, &JobRunner::queueChanged, this, [this] {
    const QString text = jobs_->summary();
    set_elided_text(jobs_label_, text, 380);
    jobs_label_->setToolTip(text);
    jobs_label_->setVisible(!text.isEmpty());
  });
  connect(jobs_, &JobRunner::busyChanged, this, [this](bool busy) {
    progress_->setVisible(busy);
    cancel_->setVisible(busy);
  });
  connect(jobs_, &JobRunner::succeeded, this,
          [this](const QString& t) { stage_->setText(t + tr(": done")); });
  connect(jobs_, &JobRunner::cancelled, this,
          [this](const QString& t) { stage_->setText(t + tr(": cancelled")); });
  connect(jobs_, &JobRunner::failed, this, [this](const QString& t, const QString& message) {
    stage_->setText(t + tr(": failed"));
    show_error_later(t, message);
  });
  connect(jobs_, &JobRunner::ignored, this, [this](const QString& t) {
    statusBar()->showMessage(tr("%1 already runs with these inputs").arg(t), 5000);
  });
}

void MainWindow::build_menus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* open = file->addAction(tr("&Open adapter folder(s)…"), this, [this] {
    QSettings s;
    QFileDialog dialog(this, tr("Open adapter folders"), s.value("last_folder").toString());
    dialog.setFileMode(QFileDialog::Directory);
    dialog.setOption(QFileDialog::DontUseNativeDialog, true);  // allows several folders
    if (auto* view = dialog.findChild<QAbstractItemView*>("listView"))
      view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    if (dialog.exec()) open_adapters(dialog.selectedFiles());
  });
  open->setShortcut(QKeySequence::Open);
  recent_menu_ = file->addMenu(tr("Open &recent"));
  file->addAction(tr("Open the de&mo kit"), this, &MainWindow::open_demo_kit);
  file->addSeparator();
  auto* open_study_action = file->addAction(tr("Open s&tudy…"), this, [this] {
    QSettings s;
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open study"), s.value("last_folder").toString(),
                                     tr("Basin study (*.basin.json *.json)"));
    if (!path.isEmpty()) open_study(path);
  });
  open_study_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  auto* save = file->addAction(tr("&Save study…"), this, [this] {
    QSettings s;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Save study"), s.value("last_folder").toString() + "/study.basin.json",
        tr("Basin study (*.basin.json)"));
    if (!path.isEmpty()) save_study(path);
  });
  save->setShortcut(QKeySequence::Save);
  file->addSeparator();
  auto* export_fig = file->addAction(tr("&Export figure…"), this, [this] { export_dialog(false); });
  export_fig->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  auto* export_data_action =
      file->addAction(tr("Export &data…"), this, [this] { export_dialog(true); });
  export_data_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  auto* view = menuBar()->addMenu(tr("&View"));
  auto* light = view->addAction(tr("&Light theme"), this, [this] { set_theme(Theme::Light); });
  auto* dark = view->addAction(tr("&Dark theme"), this, [this] { set_theme(Theme::Dark); });
  light->setCheckable(true);
  dark->setCheckable(true);
  auto* group = new QActionGroup(this);
  group->addAction(light);
  group->addAction(dark);
  light->setChecked(true);

  auto* job = menuBar()->addMenu(tr("&Job"));
  auto* cancel =
      job->addAction(tr("&Cancel the running and queued jobs"), jobs_, &JobRunner::cancel);
  cancel->setShortcut(QKeySequence(Qt::Key_Escape));

  auto* settings = menuBar()->addMenu(tr("&Settings"));
  auto* devices = settings->addMenu(tr("Compute &device"));
  devices->setObjectName("device_menu");
  devices->setToolTipsVisible(true);
  device_group_ = new QActionGroup(this);
  auto add_device = [&](const QString& text, const QString& name) {
    auto* a = devices->addAction(text);
    a->setData(name);
    a->setCheckable(true);
    device_group_->addAction(a);
    connect(a, &QAction::triggered, this, [this, name] { choose_device(name); });
  };
  add_device(tr("&Automatic (a CUDA GPU when this build sees one, else the CPU)"), "auto");
  for (const std::string& d : visible_devices())
    add_device(d == "cpu" ? tr("&CPU") : QString::fromStdString(d).toUpper(),
               QString::fromStdString(d));
  if (!cuda_available()) {
    auto* none = devices->addAction(tr("CUDA: none in this build"));
    none->setEnabled(false);
    none->setToolTip(
        tr("This LibTorch has no CUDA support (Debian's is CPU-only); build Basin "
           "against a CUDA LibTorch to compute on a GPU"));
  }

  auto* precision = settings->addMenu(tr("Evaluation &precision"));
  precision->setObjectName("precision_menu");
  precision->setToolTipsVisible(true);
  auto* precision_group = new QActionGroup(this);
  for (const auto& [text, name] : {std::pair{tr("&float32"), QString("fp32")},
                                   std::pair{tr("&bfloat16 mixed precision"), QString("bf16")}}) {
    auto* a = precision->addAction(text);
    a->setData(name);
    a->setCheckable(true);
    a->setToolTip(name == "fp32" ? tr("Every product in float32 (the default)")
                                 : tr("Matrix products in bfloat16 with float32 accumulation "
                                      "(autocast); losses move by about 1e-2 (docs/MODELS.md)"));
    precision_group->addAction(a);
    connect(a, &QAction::triggered, this, [this, name] {
      set_eval_precision(name.toStdString());
      setup_.precision = eval_precision_name();
      QSettings().setValue("precision", name);
      update_device_label();
    });
  }

  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Basin"), this, &MainWindow::show_about);
}

void MainWindow::set_theme(Theme t) {
  theme_ = t;
  apply_app_theme(*qApp, t);
  similarity_->apply_theme(t);
  landscape_->apply_theme(t);
  cka_->apply_theme(t);
  multitask_->apply_theme(t);
  soup_->apply_theme(t);
  gates_->apply_theme(t);
  interpolate_->apply_theme(t);
  QSettings().setValue("theme", t == Theme::Dark ? "dark" : "light");
}

void MainWindow::show_view(int index) {
  tabs_->setCurrentIndex(index);
}

QCustomPlot* MainWindow::current_plot() const {
  QWidget* view = tabs_->currentWidget();
  if (view == landscape_) return landscape_->heatmap();
  if (view == cka_) return cka_->heatmap();
  if (view == multitask_) return multitask_->bars_plot();
  if (view == soup_) return soup_->surface() ? soup_->surface_plot() : soup_->soup_plot();
  if (view == gates_) return gates_->heatmap();
  if (view == interpolate_) return interpolate_->curve_plot();
  return similarity_->heatmap();
}

void MainWindow::restore_settings() {
  QSettings s;
  if (s.contains("geometry"))
    restoreGeometry(s.value("geometry").toByteArray());
  else
    resize(1280, 800);
  if (s.contains("window_state")) restoreState(s.value("window_state").toByteArray());
  if (s.contains("splitter"))
    splitter_->restoreState(s.value("splitter").toByteArray());
  else
    splitter_->setSizes({420, 860});
  set_theme(s.value("theme").toString() == "dark" ? Theme::Dark : Theme::Light);
  rebuild_recent_menu();
  const QString device = s.value("device", "auto").toString();
  if (!choose_device(device)) choose_device("auto");
  const QString precision = s.value("precision", "fp32").toString() == "bf16" ? "bf16" : "fp32";
  set_eval_precision(precision.toStdString());
  for (QAction* a : findChild<QMenu*>("precision_menu")->actions())
    a->setChecked(a->data().toString() == precision);
  update_device_label();
}

bool MainWindow::choose_device(const QString& device) {
  QString chosen = device;
  try {
    set_compute_device(device.toStdString());
  } catch (const Error& e) {
    // A saved device may be gone (another build, a machine without that GPU): say so once.
    show_error_later(tr("Compute device"), QString::fromStdString(e.what()));
    chosen = QSettings().value("device", "auto").toString();
    if (chosen == device) chosen = "auto";
  }
  for (QAction* a : device_group_->actions())
    a->setChecked(a->data().toString() == chosen);
  if (chosen == device) QSettings().setValue("device", device);
  update_device_label();
  return chosen == device;
}

void MainWindow::update_device_label() {
  const QString name = QString::fromStdString(compute_device_name()).toUpper();
  device_label_->setText(
      tr("%1 · %2 threads%3")
          .arg(name)
          .arg(compute_threads())
          .arg(eval_precision() == EvalPrecision::kBf16 ? tr(" · bf16") : QString()));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings s;
  s.setValue("geometry", saveGeometry());
  s.setValue("window_state", saveState());
  s.setValue("splitter", splitter_->saveState());
  jobs_->cancel();
  jobs_->wait();
  event->accept();
}

void MainWindow::show_error(const QString& title, const QString& text) {
  QMessageBox box(QMessageBox::Critical, title, text, QMessageBox::Ok, this);
  box.setObjectName("basin_error");
  box.exec();
}

void MainWindow::show_error_later(const QString& title, const QString& text) {
  auto* box = new QMessageBox(QMessageBox::Critical, title, text, QMessageBox::Ok, this);
  box->setObjectName("basin_error");
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

void MainWindow::show_about() {
  QMessageBox::about(this, tr("About Basin"),
                     tr("<h3>Basin %1</h3><p>LoRA adapter merges and loss landscapes.</p>"
                        "<p>Qt %2 · LibTorch %3<br>Compute device: %4 · %5 threads</p>")
                         .arg(BASIN_VERSION, qVersion(), QString::fromStdString(torch_version()),
                              QString::fromStdString(compute_device_name()))
                         .arg(torch_threads()));
}

}  // namespace basin::ui
