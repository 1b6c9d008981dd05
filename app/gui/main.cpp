// basin: the desktop application.
//   basin [ADAPTER...]            open adapter folders
//   basin --study FILE            open a saved study
//   basin --screenshots DIR ...   open, render each view, save PNG screenshots to DIR, exit
#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>

#include "main_window.h"
#include "merge_view.h"
#include "plot_style.h"
#include "util/runtime.h"

namespace {

// Drives the window through its views and saves a screenshot of each (docs/screenshots).
void take_screenshots(basin::ui::MainWindow& w, const QString& dir) {
  QDir().mkpath(dir);
  auto shot = [&w, dir](const QString& name) { w.grab().save(dir + "/" + name + ".png"); };
  QObject::connect(&w, &basin::ui::MainWindow::similarity_updated, &w, [&w, shot] {
    static bool done = false;
    if (done) return;
    done = true;
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
      QApplication::quit();
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
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
  parser.addOption(study);
  parser.addOption(shots);
  parser.process(app);
  basin::init_runtime();

  basin::ui::MainWindow w;
  if (parser.isSet(shots)) {
    w.resize(1400, 860);
    take_screenshots(w, parser.value(shots));
  }
  w.show();
  if (parser.isSet(study)) w.open_study(parser.value(study));
  if (!parser.positionalArguments().isEmpty()) w.open_adapters(parser.positionalArguments());
  return app.exec();
}
