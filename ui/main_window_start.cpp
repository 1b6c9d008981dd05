// MainWindow: the start page shown while no adapter is open, and the demo kit (opened with its
// demo study, main_window_demo.cpp; or built first on a worker thread with progress and Cancel).
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>

#include "adapter_panel.h"
#include "demo/demo_kit.h"
#include "demo_plan.h"
#include "job_runner.h"
#include "main_window.h"
#include "start_page.h"

namespace basin::ui {
namespace {

bool kit_built(const QString& dir) {
  return QFileInfo(dir + "/kit.json").isFile();
}

}  // namespace

QString MainWindow::demo_kit_dir() {
  const QString env = qEnvironmentVariable("BASIN_KIT");
  if (!env.isEmpty()) return QFileInfo(env).absoluteFilePath();
  const QString set = QSettings().value("demo_kit_dir").toString();
  if (!set.isEmpty()) return set;
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/demo-kit";
}

void MainWindow::build_start_page() {
  start_ = new StartPage(this);
  stack_ = new QStackedWidget(this);
  stack_->setObjectName("central_stack");
  stack_->addWidget(start_);
  stack_->addWidget(splitter_);
  setCentralWidget(stack_);
  const QString kit = demo_kit_dir();
  start_->set_demo_kit(kit, kit_built(kit));
  connect(start_, &StartPage::open_requested, panel_, &AdapterPanel::open_requested);
  connect(start_, &StartPage::demo_requested, this, &MainWindow::open_demo_kit);
  connect(start_, &StartPage::study_requested, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open study"),
                                                      QSettings().value("last_folder").toString(),
                                                      tr("Basin study (*.basin.json *.json)"));
    if (!path.isEmpty()) open_study(path);
  });
  connect(start_, &StartPage::recent_chosen, this, [this](const QString& p) {
    if (QFileInfo(p).isFile())
      open_study(p);
    else
      open_adapters({p});
  });
  update_start_page();
}

bool MainWindow::start_page_shown() const {
  return stack_->currentWidget() == start_;
}

void MainWindow::update_start_page() {
  stack_->setCurrentWidget(panel_->count() > 0 ? static_cast<QWidget*>(splitter_) : start_);
}

void MainWindow::open_demo_kit() {
  const QString dir = demo_kit_dir();
  if (kit_built(dir)) {
    open_demo_study(dir);
    return;
  }
  const QString size = qEnvironmentVariable("BASIN_KIT_SIZE", "small");
  if (size != "tiny" && size != "small") {
    show_error(tr("Cannot build the demo kit"),
               tr("BASIN_KIT_SIZE is '%1'; use tiny or small.").arg(size));
    return;
  }
  if (!QDir().mkpath(dir)) {
    show_error(tr("Cannot build the demo kit"), tr("Cannot create the folder '%1'.").arg(dir));
    return;
  }
  DemoKitOptions o;
  o.out_dir = dir.toStdString();
  o.size = size.toStdString();
  JobRunner::Job job;
  job.kind = "demo-kit";
  job.inputs = o.out_dir.string() + "|" + o.size;
  job.title = tr("Building the demo kit");
  job.work = [o](jobs::Progress& p) { return std::any(build_demo_kit(o, p)); };
  job.done = [this, dir](const std::any&) {
    start_->set_demo_kit(dir, true);
    statusBar()->showMessage(tr("Demo kit built in %1").arg(dir), 8000);
    open_demo_study(dir);
  };
  // Built, cancelled or failed (which leaves no kit.json: the next click starts over).
  job.ended = [this] {
    start_->set_status(QString());
    start_->set_building(false);
  };
  if (jobs_->enqueue(std::move(job)) == JobRunner::Enqueued::kIgnored) return;
  start_->set_status(tr("Building the demo kit in %1…").arg(dir));
  start_->set_building(true);
}

}  // namespace basin::ui
