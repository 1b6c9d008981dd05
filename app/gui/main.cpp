// basin: the desktop application.
//   basin [ADAPTER...]            open adapter folders
//   basin --study FILE            open a saved study
//   basin --demo KIT              open a demo kit and run its study (views fill by themselves)
//   basin --screenshots DIR ...   open, render each view, save PNG screenshots to DIR, exit
#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QMessageBox>
#include <QTimer>

#include <cmath>
#include <cstdio>
#include <functional>

#include "gates_view.h"
#include "interpolate_view.h"
#include "job_runner.h"
#include "main_window.h"
#include "merge_view.h"
#include "multitask_view.h"
#include "plot_style.h"
#include "soup_view.h"
#include "util/runtime.h"

namespace {

using basin::ui::MainWindow;

// The Gates view: a MoLE gate over the adapters, its training curve and which adapter each
// task uses; then quits.
void gate_screenshot(MainWindow& w, const std::function<void(const QString&)>& shot) {
  QObject::connect(&w, &MainWindow::gate_finished, &w, [shot] {
    shot("gates");
    QApplication::quit();
  });
  basin::ui::GateViewOptions o;
  o.kind = "mole";
  o.steps = 60;
  o.train_limit = 64;
  w.gates_view()->set_options(o);
  w.show_view(6);
  w.run_gate();
}

// The Interpolate view: the first adapter against the TIES merge of the set, the slider at
// α = 0.7 and the answers there; then quits. Prints how long the answers took to follow.
void interpolate_screenshot(MainWindow& w, const std::function<void(const QString&)>& shot) {
  auto* view = w.interpolate_view();
  auto* timer = new QElapsedTimer;
  QObject::connect(&w, &MainWindow::interpolate_finished, &w, [view, timer] {
    timer->start();
    view->set_alpha(0.7);
  });
  QObject::connect(view, &basin::ui::InterpolateView::answers_shown, &w,
                   [shot, timer](double alpha) {
                     if (std::abs(alpha - 0.7) > 1e-9) return;
                     std::fprintf(stderr, "answers at α = 0.7 after %lld ms (incl. debounce)\n",
                                  static_cast<long long>(timer->elapsed()));
                     QTimer::singleShot(0, [shot] {  // after the view's own updates
                       shot("interpolate");
                       QApplication::quit();
                     });
                   });
  basin::LandscapeSetup setup = w.landscape_setup();
  setup.limit = 8;
  w.set_landscape_setup(setup);
  w.show_view(7);
  const QString a = view->endpoint_box(0)->itemData(1).toString();
  if (!view->set_endpoints(a, "merge:ties")) view->set_endpoints(a, "base");
  if (!w.jobs()->busy()) w.run_interpolate();  // choosing the pair may have started it
}

// The landscape views: runs each analysis in turn (they need a base model the adapters name,
// e.g. the demo kit's) and saves a screenshot after each.
void landscape_screenshots(MainWindow& w, const std::function<void(const QString&)>& shot) {
  if (w.landscape_setup().model.empty() || w.landscape_setup().tasks.empty()) {
    std::fprintf(stderr, "no base model / tasks for the landscape views: skipped\n");
    QApplication::quit();
    return;
  }
  QObject::connect(&w, &MainWindow::connectivity_finished, &w, [&w, shot] {
    shot("connectivity");
    w.show_view(3);
    w.run_cka();
  });
  QObject::connect(&w, &MainWindow::cka_finished, &w, [&w, shot] {
    shot("cka");
    w.show_view(4);
    w.run_multitask();
  });
  QObject::connect(&w, &MainWindow::multitask_finished, &w, [&w, shot] {
    shot("multitask");
    w.show_view(5);
    w.run_soup();
  });
  QObject::connect(&w, &MainWindow::soup_finished, &w, [&w] { w.run_surface(); });
  QObject::connect(&w, &MainWindow::surface_finished, &w, [&w, shot] {
    shot("soup-surface");
    gate_screenshot(w, shot);
  });
  // A few examples per task keep the whole run to minutes on a laptop CPU.
  basin::LandscapeSetup setup = w.landscape_setup();
  setup.limit = 8;
  w.set_landscape_setup(setup);
  w.multitask_view()->set_limit(8);
  w.soup_view()->set_grid(15);
  w.show_view(2);
  w.run_connectivity();
}

// The demo study (--demo KIT): a screenshot of each view as its job finishes, and of the
// Connectivity view again once the queue is done; then quits.
void demo_screenshots(MainWindow& w, const std::function<void(const QString&)>& shot) {
  QObject::connect(
      &w, &MainWindow::similarity_updated, &w, [shot] { shot("demo-similarity"); },
      Qt::SingleShotConnection);
  QObject::connect(&w, &MainWindow::connectivity_finished, &w, [&w, shot] {
    w.show_view(2);
    shot("demo-connectivity");
  });
  QObject::connect(&w, &MainWindow::cka_finished, &w, [&w, shot] {
    w.show_view(3);
    shot("demo-cka");
  });
  QObject::connect(&w, &MainWindow::multitask_finished, &w, [&w, shot] {
    w.show_view(4);
    shot("demo-multitask");
  });
  // The queue runs dry after the multitask study, the last of the demo's jobs.
  QObject::connect(w.jobs(), &basin::ui::JobRunner::busyChanged, &w, [&w, shot](bool busy) {
    if (busy || !w.multitask_view()->result()) return;
    w.show_view(2);
    QTimer::singleShot(200, &w, [shot] {
      shot("demo-study");
      QApplication::quit();
    });
  });
  QObject::connect(w.jobs(), &basin::ui::JobRunner::cancelled, &w, [] { QApplication::exit(1); });
  QObject::connect(w.jobs(), &basin::ui::JobRunner::failed, &w, [] { QApplication::exit(1); });
}

// Drives the window through its views and saves a screenshot of each (docs/screenshots).
void take_screenshots(MainWindow& w, const QString& dir, const QString& only) {
  QDir().mkpath(dir);
  auto shot = [&w, dir](const QString& name) { w.grab().save(dir + "/" + name + ".png"); };
  // An error dialog would wait for a click forever: print it and stop.
  auto* watchdog = new QTimer(&w);
  QObject::connect(watchdog, &QTimer::timeout, [] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      std::fprintf(stderr, "%s: %s\n", qPrintable(box->windowTitle()), qPrintable(box->text()));
      box->accept();
      QApplication::exit(1);
    }
  });
  watchdog->start(200);
  if (only == "demo") {
    demo_screenshots(w, shot);
    return;
  }
  if (only == "start") {  // the window as it opens with nothing: the start page
    QTimer::singleShot(300, &w, [shot] {
      shot("start");
      QApplication::quit();
    });
    return;
  }
  QObject::connect(&w, &basin::ui::MainWindow::similarity_updated, &w, [&w, shot, only] {
    static bool done = false;
    if (done) return;
    done = true;
    if (only == "empty") {  // every landscape view before its analysis ran: the hints
      for (int view = 2; view <= 6; ++view) {
        w.show_view(view);
        shot(QString("empty-%1").arg(view));
      }
      QApplication::quit();
      return;
    }
    if (only == "interpolate") {
      interpolate_screenshot(w, shot);
      return;
    }
    if (only == "gates") {
      basin::LandscapeSetup setup = w.landscape_setup();
      setup.limit = 8;
      w.set_landscape_setup(setup);
      gate_screenshot(w, shot);
      return;
    }
    shot("similarity");
    w.show_view(1);
    w.merge_view()->method_box()->setCurrentText("ties");
    w.run_merge();
  });
  QObject::connect(&w, &basin::ui::MainWindow::merge_finished, &w, [&w, shot] {
    shot("merge");
    w.show_view(0);
    w.set_theme(basin::ui::Theme::Dark);
    QTimer::singleShot(200, &w, [&w, shot] {
      shot("similarity-dark");
      w.set_theme(basin::ui::Theme::Light);
      landscape_screenshots(w, shot);
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
  // GNU OpenMP's idle workers spin by default; with the jobs' threads at a lower priority than
  // the spinning ones, a MoLE gate trained 4.6x slower here than with a passive wait policy.
  basin::relaunch_with_passive_openmp("/proc/self/exe", argv);
  QApplication app(argc, argv);
  QApplication::setApplicationName("Basin");
  QApplication::setOrganizationName("Basin");
  QApplication::setApplicationVersion(BASIN_VERSION);
  QCommandLineParser parser;
  parser.setApplicationDescription("Basin — LoRA adapter merges and loss landscapes");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("adapters", "PEFT adapter folders to open", "[ADAPTER...]");
  QCommandLineOption study({"s", "study"}, "Open a saved study file.", "file");
  QCommandLineOption shots("screenshots", "Save a screenshot of each view to DIR and exit.", "dir");
  QCommandLineOption only(
      "screenshot-only",
      "With --screenshots: only this view (start, empty, interpolate, gates, demo: "
      "the --demo study's views).",
      "view");
  QCommandLineOption demo("demo",
                          "Open the demo kit in DIR (basin-cli demo-kit) and run its study: "
                          "similarity, connectivity, CKA and multitask, one job after another.",
                          "dir");
  parser.addOption(study);
  parser.addOption(demo);
  parser.addOption(shots);
  parser.addOption(only);
  parser.process(app);
  basin::init_runtime();

  basin::ui::MainWindow w;
  if (parser.isSet(shots)) {
    w.resize(1400, 860);
    take_screenshots(w, parser.value(shots), parser.value(only));
  }
  w.show();
  if (parser.isSet(study)) w.open_study(parser.value(study));
  if (!parser.positionalArguments().isEmpty()) w.open_adapters(parser.positionalArguments());
  if (parser.isSet(demo)) w.open_demo_study(parser.value(demo));
  return app.exec();
}
